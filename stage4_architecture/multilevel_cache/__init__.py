"""multilevel_cache: an in-process cache (L1) in front of Redis (L2) in front of PostgreSQL."""
