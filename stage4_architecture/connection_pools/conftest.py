"""Fixtures: the test's own database and Redis db, pools closed after the test, pgbouncer.

Every pool a test opens is named with an ``application_name`` (a Redis client name) that no
other test uses, so the server's own view (``pg_stat_activity``, ``CLIENT LIST``) counts exactly
this test's connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeAlias

import asyncpg
import pytest
import redis.asyncio as aioredis

from .pg_pool import Pool
from .pgbouncer_daemon import Bouncer, run_pgbouncer

Admin: TypeAlias = "asyncpg.Connection[asyncpg.Record]"
GUARD_S = 20.0  # a wrong solution fails within this, instead of hanging the run
POLL_S = 0.02


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after GUARD_S seconds."""
    try:
        async with asyncio.timeout(GUARD_S):
            while not await check():
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        pytest.fail(f"waited {GUARD_S:.0f} s for {what}")


@pytest.fixture
def app_name(unique_name: str) -> str:
    """This test's application_name (PostgreSQL keeps 63 bytes of it; this is shorter)."""
    return unique_name


@pytest.fixture
async def admin(postgres_url: str) -> AsyncIterator[Admin]:
    """A plain connection of the test's own, to count and kill the pool's connections."""
    conn = await asyncpg.connect(postgres_url)
    yield conn
    await conn.close()


async def server_pids(admin: Admin, app_name: str) -> set[int]:
    """The server processes behind the connections named ``app_name``."""
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app_name
    )
    return {row["pid"] for row in rows}


async def rows(admin: Admin, query: str) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as plain tuples, to compare with literals."""
    return [tuple(record) for record in await admin.fetch(query)]


@pytest.fixture
async def pools() -> AsyncIterator[list[Pool]]:
    """Pools a test opened (append them): terminated afterwards, even with connections lent."""
    opened: list[Pool] = []
    yield opened
    for pool in opened:
        pool.terminate()


@pytest.fixture
async def redis_admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client outside the pools under test: pushes work, reads CLIENT LIST."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def bouncer(program: Callable[[str], str], postgres_url: str) -> Iterator[Bouncer]:
    """pgbouncer (transaction mode, 2 server connections) in front of the test's database."""
    with run_pgbouncer(program("pgbouncer"), postgres_url, pool_size=2) as running:
        yield running
