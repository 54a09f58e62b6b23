"""The backend-katas harness: catalog, stubs, services, checks and the `katas` CLI."""
