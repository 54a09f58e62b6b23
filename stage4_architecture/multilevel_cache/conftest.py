"""Fixtures: a products database of the test's own, caches in this process, worker processes.

Every cache of a test shares one key prefix (its own ``unique_name``), so two caches here behave
as two processes would: separate clients, separate L1s, one L2 and one invalidation channel.
``Gated`` wraps the store so a test can hold a database read open while others pile up; the
``product_reads`` table counts reads from every process. Nothing sleeps to synchronise: a test
waits for a condition under ``GUARD_S``, which only bounds how long a wrong solution takes to fail.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from katas.kit import daemon, free_port

from .cache import MultiLevelCache, connect_redis
from .store import Product, ProductStore

GUARD_S = 15.0  # a deadlock guard for waiting on a condition, never a timing assertion
ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = [("kettle", 2_999), ("teapot", 1_850), ("mug", 650)]
MISSING = 999  # an id no row has


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after GUARD_S."""
    deadline = asyncio.get_running_loop().time() + GUARD_S
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"gave up after {GUARD_S:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


class Gated:
    """The store as a cache's source: counts fetches, and a closed gate holds them mid-call."""

    def __init__(self, inner: ProductStore) -> None:
        self.inner = inner
        self.fetches = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next: Exception | None = None
        self.before_fetch: Callable[[], Awaitable[None]] | None = None

    async def fetch(self, product_id: int) -> Product | None:
        self.fetches += 1
        if self.before_fetch is not None:
            await self.before_fetch()
        await self.gate.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return await self.inner.fetch(product_id)

    async def set_price(self, product_id: int, price_cents: int) -> bool:
        return await self.inner.set_price(product_id, price_cents)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[ProductStore]:
    """The caches' store, with the products table filled (ids 1, 2, 3)."""
    products = await ProductStore.connect(postgres_url)
    await products.create_schema()
    for name, price in PRODUCTS:
        await products.add(name, price)
    yield products
    await products.close()


@pytest.fixture
async def audit(store: ProductStore, postgres_url: str) -> AsyncIterator[ProductStore]:
    """A second connection, the test's own: counts reads, reads the truth, holds locks."""
    products = await ProductStore.connect(postgres_url)
    yield products
    await products.close()


@pytest.fixture
def source(store: ProductStore) -> Gated:
    return Gated(store)


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client of the test's Redis database: to look at keys, publish, kill clients."""
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def price_in_database(audit: ProductStore, product_id: int) -> int | None:
    cur = await audit.conn.execute("SELECT price_cents FROM products WHERE id = %s", (product_id,))
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def waiting_on_locks(audit: ProductStore) -> int:
    """Backends of this database blocked on a lock (a held read or write), seen from outside."""
    await audit.conn.execute("SELECT pg_stat_clear_snapshot()")  # or a transaction sees one
    cur = await audit.conn.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def kill_subscriptions(admin: Redis, client_name: str) -> int:
    """CLIENT KILL the pub/sub connections of one client name: a dropped subscription."""
    killed = 0
    for client in await admin.client_list():
        if client.get("name") == client_name and "P" in client.get("flags", ""):
            killed += await admin.client_kill_filter(_id=client["id"])
    return killed


@dataclass
class Caches:
    """Makes caches (each one a 'process') and stops their listeners and clients afterwards."""

    redis_url: str
    prefix: str
    source: Gated
    stack: AsyncExitStack
    made: int = 0
    names: list[str] = field(default_factory=list)

    async def make(
        self, *, listen: bool = True, redis: Redis | None = None, **options: Any
    ) -> MultiLevelCache:
        self.made += 1
        name = f"{self.prefix}cache{self.made}"
        self.names.append(name)
        client = redis or connect_redis(self.redis_url, name)
        self.stack.push_async_callback(client.aclose)
        cache = MultiLevelCache(
            client, options.pop("source", self.source), prefix=self.prefix, **options
        )
        if listen:
            await start_listening(cache, self.stack)
        return cache


async def start_listening(cache: MultiLevelCache, stack: AsyncExitStack) -> asyncio.Task[None]:
    """Run ``cache.listen()`` as a task (cancelled at the end) and wait until it is subscribed."""
    task = asyncio.create_task(cache.listen())

    async def stop() -> None:
        task.cancel()  # bounded: a cancellation redis-py loses must not hang the run
        await asyncio.wait({task}, timeout=GUARD_S)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a stub's error is reported by the test, not at exit

    stack.push_async_callback(stop)
    ready = asyncio.create_task(cache.listening.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=GUARD_S, return_when="FIRST_COMPLETED")
    if ready not in done:
        ready.cancel()
        reason = repr(task.exception()) if task in done else "no subscribe confirmation"
        pytest.fail(f"listen() did not start listening: {reason}")
    return task


@pytest.fixture
async def caches(redis_url: str, source: Gated, unique_name: str) -> AsyncIterator[Caches]:
    async with AsyncExitStack() as stack:
        yield Caches(redis_url, f"{unique_name}:", source, stack)


# ---- worker processes ------------------------------------------------------------------------


@dataclass
class Worker:
    """A worker process on its own port, with an HTTP client to it."""

    client: httpx.AsyncClient
    client_name: str
    prefix: str

    async def stats(self) -> dict[str, Any]:
        response = await self.client.get("/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    async def price(self, product_id: int) -> int:
        response = await self.client.get(f"/products/{product_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["price_cents"])


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def workers(
    postgres_url: str, redis_url: str, store: ProductStore, unique_name: str
) -> AsyncIterator[Callable[..., Awaitable[list[Worker]]]]:
    """Start worker processes (uvicorn running worker.py) side by side; each is stopped whole."""
    with ExitStack() as processes:
        async with AsyncExitStack() as clients:

            async def start_one(settings: dict[str, str]) -> Worker:
                port = free_port()
                client_name = f"{unique_name}:worker{port}"
                env = {
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                    "MLCACHE_DATABASE_URL": postgres_url,
                    "MLCACHE_REDIS_URL": redis_url,
                    "MLCACHE_PREFIX": f"{unique_name}:",
                    "MLCACHE_CLIENT_NAME": client_name,
                    **{f"MLCACHE_{k.upper()}": v for k, v in settings.items()},
                }
                argv = [sys.executable, "-m", "uvicorn", f"{__package__}.worker:app"]
                argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
                started = daemon(argv, name="mlcache-worker", ready=lambda: _answers(port), env=env)
                try:
                    await asyncio.to_thread(started.__enter__)
                finally:  # registered even when it failed to start: its exit stops it whole
                    processes.push(started.__exit__)
                client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=GUARD_S)
                await clients.enter_async_context(client)
                worker = Worker(client, client_name, f"{unique_name}:")

                async def listening() -> bool:
                    stats = await worker.stats()
                    if stats["listener_failed"]:
                        pytest.fail(f"the worker's listen() ended: {stats['listener_failed']}")
                    return bool(stats["listening"])

                await until(listening, "the worker to subscribe")
                return worker

            async def start(count: int, **settings: str) -> list[Worker]:
                # every start finishes (and is registered for the stop) before any failure counts
                started = await asyncio.gather(
                    *(start_one(settings) for _ in range(count)), return_exceptions=True
                )
                for outcome in started:
                    if isinstance(outcome, BaseException):
                        raise outcome
                return [w for w in started if isinstance(w, Worker)]

            yield start
