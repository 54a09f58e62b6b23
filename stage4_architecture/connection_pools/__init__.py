"""connection_pools: asyncpg and redis.asyncio pools, sized with Little's law, behind pgbouncer."""
