"""redis.asyncio pools: a bounded number of connections, and what happens when they run out.

aioredis lives on inside redis-py as ``redis.asyncio`` (the aioredis package is no longer
maintained). A ``Redis`` client borrows a connection from its pool for each command and gives
it back after the reply, so many coroutines share a few connections.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, ConnectionPool


def redis_pool(
    url: str,
    *,
    name: str,
    max_connections: int,
    timeout: float | None = 5.0,
    blocking: bool = True,
) -> ConnectionPool:
    """A pool of at most ``max_connections`` connections to ``url``, each named ``name``
    (``CLIENT LIST`` shows it).

    Blocking (the default): a command that finds every connection in use waits up to
    ``timeout`` seconds for one (None: forever), then fails with ``redis.ConnectionError``.
    Not blocking: it fails at once (``MaxConnectionsError``, a ``redis.ConnectionError``).
    """
    # kata: begin BlockingConnectionPool or ConnectionPool from the URL, with the limit and the client name
    if blocking:
        return BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout, client_name=name
        )
    return ConnectionPool.from_url(url, max_connections=max_connections, client_name=name)
    # kata: end
