"""asyncpg pools: sized and named, watched for leaks, retried when a pooled connection dies.

A pool keeps between ``min_size`` and ``max_size`` connections open and lends them out: a request
``acquire``s one, uses it, and gives it back (``release``). Three things go wrong in production,
and each has a function here: the pool runs dry because some code never gave a connection back
(``TrackedPool`` names the holder), a connection dies under a request when the server restarts
or kills it (``run_transaction`` runs the transaction again), and a pooler such as pgbouncer in
front of the server breaks asyncpg's prepared statements (``open_bouncer_pool``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

T = TypeVar("T")
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Conn: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"

# What a request sees when its pooled connection died under it (a restart, a failover,
# pg_terminate_backend): the connection closed mid-query, the server still starting up, a
# refused socket, or asyncpg finding the connection gone when the transaction block ends (or
# still reading the server's goodbye when the next query starts).
LOST: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


@dataclass(frozen=True)
class PoolStats:
    size: int  # connections open now
    idle: int  # open and waiting in the pool
    in_use: int  # open and lent out
    min_size: int
    max_size: int


async def open_pool(dsn: str, *, app_name: str, min_size: int = 1, max_size: int = 10) -> Pool:
    """A pool of ``min_size`` to ``max_size`` connections, each named ``app_name`` on the server.

    The name is PostgreSQL's ``application_name``: ``pg_stat_activity`` shows it, so a DBA (and a
    test) can count and kill this pool's connections. asyncpg's statement cache stays on.
    """
    # kata: begin create_pool with the sizes, and application_name in the server settings
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"application_name": app_name},
    )
    # kata: end


def pool_stats(pool: Pool) -> PoolStats:
    """How many connections the pool has open, idle and lent out right now, and its bounds."""
    # kata: begin read the pool's get_* counters; in use is what is open but not idle
    size, idle = pool.get_size(), pool.get_idle_size()
    return PoolStats(
        size=size,
        idle=idle,
        in_use=size - idle,
        min_size=pool.get_min_size(),
        max_size=pool.get_max_size(),
    )
    # kata: end


class PoolExhausted(Exception):
    """No connection came free within the acquire timeout; says who holds them all."""

    def __init__(self, max_size: int, timeout: float, holders: dict[str, int]) -> None:
        self.max_size = max_size
        self.timeout = timeout
        self.holders = holders
        held = ", ".join(f"{owner} ({count})" for owner, count in holders.items()) or "nobody"
        super().__init__(
            f"pool exhausted: no connection free within {timeout} s; "
            f"all {max_size} are held by: {held}"
        )


class TrackedPool:
    """A pool that knows who holds each connection it lent, so a leak has a name.

    ``acquire(owner)`` waits at most ``acquire_timeout`` seconds, then raises
    :class:`PoolExhausted` naming every holder; ``holders()`` is who holds connections now.
    """

    def __init__(self, pool: Pool, *, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self._owners: dict[Conn, str] = {}

    def holders(self) -> dict[str, int]:
        """Owner -> connections it holds now; the biggest holder first, then by name."""
        # kata: begin count the owners of the lent connections; sort by count (descending), then name
        counts = Counter(self._owners.values())
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        # kata: end

    async def acquire(self, owner: str) -> Conn:
        """A connection for ``owner``; PoolExhausted when none comes free in time."""
        # kata: begin acquire with the timeout; a TimeoutError becomes PoolExhausted; record the owner
        try:
            conn = await self.pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError:
            max_size, timeout = self.pool.get_max_size(), self.acquire_timeout
            raise PoolExhausted(max_size, timeout, self.holders()) from None
        self._owners[conn] = owner
        return conn
        # kata: end

    async def release(self, conn: Conn) -> None:
        """Give ``conn`` back; a connection this pool did not lend (or already took back) is a
        ValueError, and the pool is left as it was."""
        # kata: begin forget the owner (ValueError if unknown), then release to the pool
        if conn not in self._owners:
            raise ValueError("this connection is not lent out by this pool")
        del self._owners[conn]
        await self.pool.release(conn)
        # kata: end

    @asynccontextmanager
    async def connection(self, owner: str) -> AsyncIterator[Conn]:
        """``async with tracked.connection("owner") as conn:``, released however the block ends."""
        # kata: begin acquire, yield, and release in finally
        conn = await self.acquire(owner)
        try:
            yield conn
        finally:
            await self.release(conn)
        # kata: end


async def run_transaction(
    pool: Pool, work: Callable[[Conn], Awaitable[T]], *, attempts: int = 3
) -> T:
    """``await work(conn)`` in a transaction on a pooled connection; its result.

    When the connection dies under it (an error in ``LOST``), the server has rolled the
    transaction back, so the whole transaction runs again, on a fresh connection: at most
    ``attempts`` runs in all, then the last error propagates. Any other error propagates at
    once. ``attempts`` below 1 is a ValueError.
    """
    # kata: begin a loop of attempts: acquire, transaction, work; retry only on LOST, and not after the last
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")

    async def once() -> T:
        async with pool.acquire() as conn, conn.transaction():
            return await work(conn)

    for _ in range(attempts - 1):
        try:
            return await once()
        except LOST:
            continue  # the pool replaces the dead connection when it is released
    return await once()
    # kata: end


async def open_bouncer_pool(dsn: str, *, app_name: str, max_size: int = 10) -> Pool:
    """A pool for a server behind a transaction-mode pooler (pgbouncer), sized and named as
    ``open_pool``'s but with no connection opened in advance.

    Two defaults of asyncpg's pool assume it owns its server sessions, which a transaction-mode
    pooler lends out per transaction: the statement cache (named prepared statements) and the
    session reset on every release (``RESET ALL`` and more, run on whichever server connection
    the pooler picks).
    """

    # kata: begin no minimum, the name, no statement cache, and a reset that leaves the session alone
    async def leave_the_session_alone(conn: asyncpg.Connection[asyncpg.Record]) -> None:
        return None  # asyncpg still rolls back an open transaction before this runs

    return await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        statement_cache_size=0,
        reset=leave_the_session_alone,
        server_settings={"application_name": app_name},
    )
    # kata: end
