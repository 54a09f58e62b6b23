"""Pytest plugin: service fixtures and the report of what served them."""
