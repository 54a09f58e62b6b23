"""What a pool buys, in seconds per request, on a fresh PostgreSQL database.

Each round runs REQUESTS requests one after another (one parametrised query each), so the
numbers are latency, not throughput: a connection per request (connect, query, close) against a
pool (acquire, query, release), straight to PostgreSQL and through pgbouncer in transaction mode.
pgbouncer rows need the Debian program; without it they are left out, and the reason printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from katas.kit import Ratio, best_time, postgres_database, program_path

from .pg_pool import open_bouncer_pool, open_pool
from .pgbouncer_daemon import run_pgbouncer

REQUESTS = 50
QUERY = "SELECT $1::int + 1"


def per_request(loop: asyncio.AbstractEventLoop, batch: Callable[[], Awaitable[None]]) -> float:
    """Seconds per request: the best of a few rounds of REQUESTS sequential requests."""
    loop.run_until_complete(batch())  # warm up: connections, caches
    return best_time(lambda: loop.run_until_complete(batch()), repeat=5) / REQUESTS


def connecting(dsn: str, *, statement_cache_size: int = 100) -> Callable[[], Awaitable[None]]:
    async def batch() -> None:
        for n in range(REQUESTS):
            conn = await asyncpg.connect(dsn, statement_cache_size=statement_cache_size)
            try:
                await conn.fetchval(QUERY, n)
            finally:
                await conn.close()

    return batch


def pooled(pool: asyncpg.Pool[asyncpg.Record]) -> Callable[[], Awaitable[None]]:
    async def batch() -> None:
        for n in range(REQUESTS):
            async with pool.acquire() as conn:
                await conn.fetchval(QUERY, n)

    return batch


def bench() -> list[Ratio]:
    what = f"{REQUESTS} sequential requests, seconds per request"
    loop = asyncio.new_event_loop()
    try:
        with postgres_database() as url:
            pool = loop.run_until_complete(open_pool(url, app_name="bench", max_size=2))
            try:
                direct_connect = per_request(loop, connecting(url))
                direct_pool = per_request(loop, pooled(pool))
            finally:
                loop.run_until_complete(pool.close())
            ratios = [
                Ratio(what, "connect per request", "asyncpg pool", direct_connect, direct_pool, "s")
            ]
            executable = program_path("pgbouncer")
            if executable is None:
                print("connection_pools bench: pgbouncer not found; no pgbouncer rows")
                return ratios
            with run_pgbouncer(executable, url, pool_size=2) as bouncer:
                via = loop.run_until_complete(
                    open_bouncer_pool(bouncer.dsn, app_name="bench", max_size=2)
                )
                try:
                    bouncer_pool = per_request(loop, pooled(via))
                finally:
                    loop.run_until_complete(via.close())
                bouncer_connect = per_request(loop, connecting(bouncer.dsn, statement_cache_size=0))
            ratios += [
                Ratio(
                    what, "pool, direct", "pool through pgbouncer", direct_pool, bouncer_pool, "s"
                ),
                Ratio(
                    what,
                    "connect per request, direct",
                    "connect per request to pgbouncer",
                    direct_connect,
                    bouncer_connect,
                    "s",
                ),
            ]
            return ratios
    finally:
        loop.close()
