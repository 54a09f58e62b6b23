"""Read latency through MultiLevelCache, per level: an L1 hit, an L2 hit, a miss at both.

Each read is one ``get`` timed on its own (``perf_counter_ns``) after a warm-up, over ``READS``
reads spread across ``ROWS`` ids; the rows report the median (p50) and the tail (p99). To force
the level, what sits above it is emptied before each timed read (untimed): the L1 for an L2 hit,
the L1 and the L2 key for a database read (which also takes and releases the Redis lock and
stores the entry: the whole cost of a miss). Everything runs on 127.0.0.1, one reader at a time.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

from katas.kit import Ratio, postgres_database, service

from .cache import MultiLevelCache, connect_redis
from .store import ProductStore

ROWS = 200
READS = 1_000
WARMUP = 100

Prepare = Callable[[MultiLevelCache, int], Awaitable[None]]


async def _nothing(cache: MultiLevelCache, product_id: int) -> None:
    return None


async def _forget_l1(cache: MultiLevelCache, product_id: int) -> None:
    cache.l1.clear()


async def _forget_both(cache: MultiLevelCache, product_id: int) -> None:
    cache.l1.clear()
    await cache.redis.delete(cache.key(product_id))


async def _latencies(cache: MultiLevelCache, prepare: Prepare) -> tuple[float, float]:
    """(p50, p99) in seconds of one ``get`` after ``prepare``, over READS reads."""
    samples = []
    for i in range(WARMUP + READS):
        product_id = 1 + (i * 7919) % ROWS  # hop around the ids, not one hot row
        await prepare(cache, product_id)
        start = time.perf_counter_ns()
        await cache.get(product_id)
        if i >= WARMUP:
            samples.append((time.perf_counter_ns() - start) / 1e9)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


async def _measure(database: str, redis_url: str) -> list[Ratio]:
    prefix = f"bench:multilevel_cache:{uuid.uuid4().hex[:8]}:"
    store = await ProductStore.connect(database)
    redis = connect_redis(redis_url, "bench-multilevel-cache")
    cache = MultiLevelCache(redis, store, prefix=prefix, l1_size=ROWS * 2, l1_ttl=600)
    listener = asyncio.create_task(cache.listen())
    try:
        await store.create_schema()
        for i in range(ROWS):
            await store.add(f"product {i}", 100 + i)
        await asyncio.wait_for(cache.listening.wait(), 30)
        db = await _latencies(cache, _forget_both)
        l2 = await _latencies(cache, _forget_l1)
        l1 = await _latencies(cache, _nothing)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()
        await store.close()
    what = f"get(id) through the cache, {READS} reads of {ROWS} rows"
    baseline = "miss at L1 and L2: lock, PostgreSQL, store"
    return [
        Ratio(f"{what}, p50", baseline, "L2 hit (Redis GET + decode)", db[0], l2[0], "s"),
        Ratio(f"{what}, p50", baseline, "L1 hit (process memory)", db[0], l1[0], "s"),
        Ratio(f"{what}, p99", baseline, "L2 hit (Redis GET + decode)", db[1], l2[1], "s"),
        Ratio(f"{what}, p99", baseline, "L1 hit (process memory)", db[1], l1[1], "s"),
    ]


def bench() -> list[Ratio]:
    with postgres_database() as database, service("redis") as redis:
        return asyncio.run(_measure(database, redis.url))
