"""Cache-aside on Redis over PostgreSQL: each test has its own database, Redis db and key prefix.

The source of truth is wrapped in ``Instrumented``: it counts loads, and its gates let a test
hold a load (or a write) open while other callers pile up, so races happen on cue, every run.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest
from redis.asyncio import Redis

from .cache import Cached, PostgresProducts, Product, ProductCache, decode, encode

GUARD_S = 5.0  # a deadlock guard for waiting on a condition, never a timing assertion


class Instrumented:
    """The PostgreSQL source, counting fetches; closed gates hold fetches or writes mid-call."""

    def __init__(self, inner: PostgresProducts) -> None:
        self.inner = inner
        self.fetches = 0
        self.fetch_gate = asyncio.Event()
        self.fetch_gate.set()
        self.writes_started = 0
        self.write_gate = asyncio.Event()
        self.write_gate.set()
        self.fail_next: Exception | None = None

    async def fetch(self, product_id: int) -> Product | None:
        self.fetches += 1
        await self.fetch_gate.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return await self.inner.fetch(product_id)

    async def set_price(self, product_id: int, price_cents: int) -> None:
        self.writes_started += 1
        await self.write_gate.wait()
        await self.inner.set_price(product_id, price_cents)


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[PostgresProducts]:
    products = await PostgresProducts.connect(postgres_url)
    await products.create_schema()
    await products.add("kettle", 2_999)
    await products.add("teapot", 1_850)
    yield products
    await products.close()


@pytest.fixture
def source(db: PostgresProducts) -> Instrumented:
    return Instrumented(db)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def other_process_client(redis_url: str) -> AsyncIterator[Redis]:
    """A second connection pool: what another process running the same code would have."""
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def cache(redis_client: Redis, source: Instrumented, unique_name: str) -> ProductCache:
    return ProductCache(redis_client, source, prefix=f"{unique_name}:", ttl=300, negative_ttl=20)


KETTLE = Product(1, "kettle", 2_999)


async def until(
    condition: Callable[[], bool], tasks: Iterable[asyncio.Task[Any]], why: str
) -> None:
    """Wait for ``condition``; surface a task's own error at once if one has already failed."""
    tasks = list(tasks)
    try:
        async with asyncio.timeout(GUARD_S):
            while not condition():
                for task in tasks:
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        await task  # raises the task's error: the real reason, not a timeout
                await asyncio.sleep(0.001)
    except TimeoutError:
        pytest.fail(why)


async def settle(tasks: Iterable[asyncio.Task[Any]]) -> list[Any]:
    """Every task's result or exception, never leaving one pending."""
    async with asyncio.timeout(GUARD_S):
        return await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.task(2)
async def test_a_miss_loads_once_then_hits(cache: ProductCache, source: Instrumented) -> None:
    first = await cache.get(1)
    second = await cache.get(1)
    assert first == second == KETTLE, "the cache returns the same Product the database holds"
    assert isinstance(second, Product), "a hit is decoded back into a Product, not left a dict"
    assert source.fetches == 1, "the second read is served by Redis: one database load in all"
    assert (cache.stats.hits, cache.stats.misses) == (1, 1), "one miss, then one hit"


@pytest.mark.task(3)
async def test_entries_expire_and_keys_stay_under_the_prefix(
    cache: ProductCache, redis_client: Redis, unique_name: str
) -> None:
    await cache.get(1)
    ttl = await redis_client.ttl(cache.key(1))
    assert 1 <= ttl <= 300, f"SET ... EX ttl: an entry without expiry is stale forever (TTL {ttl})"
    keys = [key async for key in redis_client.scan_iter("*")]
    assert keys == [cache.key(1)], "one entry, under this cache's prefix; no lock left behind"
    assert keys[0].startswith(unique_name), "the prefix keeps tenants and tests apart"


@pytest.mark.task(3)
async def test_ttls_are_jittered(
    cache: ProductCache, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "random", lambda: 1.0)  # the largest jitter draw
    await cache.get(1)
    ttl = await redis_client.ttl(cache.key(1))
    assert 260 <= ttl <= 270, (
        f"EX self._expiry(ttl): 300 s less up to 10% jitter, so 270 here, not {ttl}; without "
        "jitter, entries written together all expire in the same second"
    )


@pytest.mark.task(3)
async def test_missing_rows_are_cached_briefly(
    cache: ProductCache, source: Instrumented, redis_client: Redis
) -> None:
    assert await cache.get(404) is None, "no such row: None"
    assert await cache.get(404) is None
    assert source.fetches == 1, (
        "cache the absence too: otherwise every request for a missing id goes to the database"
    )
    ttl = await redis_client.ttl(cache.key(404))
    assert 1 <= ttl <= 20, (
        f"a missing row is cached for negative_ttl only, not the full ttl ({ttl})"
    )
    assert (cache.stats.hits, cache.stats.misses) == (1, 1), (
        "a tombstone is a readable entry: the second read is a hit that answers None"
    )


@pytest.mark.task(3)
async def test_missing_rows_get_jittered_ttls_too(
    cache: ProductCache, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "random", lambda: 1.0)  # the largest jitter draw
    assert await cache.get(404) is None
    ttl = await redis_client.ttl(cache.key(404))
    assert 17 <= ttl <= 18, f"EX self._expiry(negative_ttl): 20 s less 10% is 18, not {ttl}"


@pytest.mark.task(1)
async def test_an_unreadable_entry_is_a_miss_not_an_error(
    cache: ProductCache, source: Instrumented, redis_client: Redis
) -> None:
    await redis_client.set(cache.key(1), "{not json")
    assert await cache.get(1) == KETTLE, "bad JSON in the cache must not fail the request"
    await redis_client.set(cache.key(2), '{"product": {"id": 2}}')
    assert await cache.get(2) == Product(2, "teapot", 1_850), "nor a JSON of the wrong shape"
    assert source.fetches == 2, "each unreadable entry was treated as a miss and reloaded"
    assert await cache.get(1) == KETTLE
    assert source.fetches == 2, "and replaced by a good entry: the next read is a hit"


@pytest.mark.task(1)
def test_decode_reads_entries_and_never_raises() -> None:
    assert decode(encode(KETTLE)) == Cached(KETTLE)
    assert decode(encode(KETTLE).encode()) == Cached(KETTLE), "Redis may hand back bytes"
    assert decode(encode(None)) == Cached(None), "the tombstone: a row known not to exist"
    unreadable: list[str | bytes] = [
        "",
        "{not json",
        b"\xff\xfe",
        "null",
        "[]",
        '"product"',
        "{}",
        '{"item": null}',
        '{"product": 7}',
        '{"product": [1, "kettle", 2999]}',
        '{"product": {"id": 2}}',
        '{"product": {"id": 1, "name": "kettle", "price_cents": 2999, "colour": "red"}}',
    ]
    for raw in unreadable:
        assert decode(raw) is None, f"{raw!r} is unreadable: a miss (None), not an exception"


@pytest.mark.task(6)
async def test_a_price_change_deletes_the_entry(
    cache: ProductCache, source: Instrumented, redis_client: Redis, db: PostgresProducts
) -> None:
    await cache.get(1)
    await cache.set_price(1, 3_499)
    assert await db.fetch(1) == Product(1, "kettle", 3_499), "the database is updated"
    assert await redis_client.exists(cache.key(1)) == 0, (
        "invalidate by DELETE, not SET: two writers setting values can leave the older one last"
    )
    assert await cache.get(1) == Product(1, "kettle", 3_499), "the next read sees the new price"
    assert source.fetches == 2, "loaded again after the invalidation"


@pytest.mark.task(6)
async def test_the_database_is_written_before_the_entry_is_deleted(
    cache: ProductCache, source: Instrumented
) -> None:
    await cache.get(1)
    source.write_gate.clear()  # the UPDATE is slow: hold it
    write = asyncio.create_task(cache.set_price(1, 3_499))
    await until(lambda: source.writes_started == 1, [write], "set_price never wrote to the source")
    during = await cache.get(1)  # a reader while the write is in progress
    source.write_gate.set()
    await settle([write])
    write.result()
    after = await cache.get(1)
    assert during == KETTLE, "until the write commits, the old price is the truth"
    assert after == Product(1, "kettle", 3_499), (
        "delete AFTER the database write: deleting first lets a reader in between reload the "
        "old row and cache it again, stale until the TTL"
    )


@pytest.mark.task(4)
async def test_fifty_concurrent_misses_load_once(cache: ProductCache, source: Instrumented) -> None:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0.001)

    cache.sleep = sleep
    source.fetch_gate.clear()  # the first load hangs until every caller has missed
    tasks = [asyncio.create_task(cache.get(1)) for _ in range(50)]
    try:
        await until(
            lambda: cache.stats.misses == 50 and source.fetches >= 1,
            tasks,
            "expected 50 misses and a load in progress (count stats.misses once per get call)",
        )
    finally:
        source.fetch_gate.set()
        results = await settle(tasks)
    assert results == [KETTLE] * 50, "every caller gets the product"
    assert source.fetches == 1, (
        f"a stampede: 50 callers missed together and the database was loaded {source.fetches} "
        "times; concurrent misses must share one load"
    )
    assert pauses == [], (
        "inside one process the callers await the first caller's Task (self._flights): only "
        "other processes should have to poll Redis for the lock"
    )
    assert cache._flights == {}, "a finished flight is removed, or later misses reuse its result"


@pytest.mark.task(4)
async def test_concurrent_misses_for_different_keys_load_each(
    cache: ProductCache, source: Instrumented
) -> None:
    source.fetch_gate.clear()
    tasks = [asyncio.create_task(cache.get(product_id)) for product_id in (1, 2, 1, 2)]
    try:
        await until(lambda: source.fetches == 2, tasks, "expected one load per product id")
    finally:
        source.fetch_gate.set()
        results = await settle(tasks)
    teapot = Product(2, "teapot", 1_850)
    assert results == [KETTLE, teapot, KETTLE, teapot], "one flight per key, not one for all"
    assert source.fetches == 2


@pytest.mark.task(5)
async def test_two_processes_missing_together_load_once(
    redis_client: Redis, other_process_client: Redis, source: Instrumented, unique_name: str
) -> None:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0.001)

    prefix = f"{unique_name}:"
    one = ProductCache(redis_client, source, prefix=prefix, sleep=sleep)
    two = ProductCache(other_process_client, source, prefix=prefix, sleep=sleep)
    source.fetch_gate.clear()
    tasks = [asyncio.create_task((one if i % 2 else two).get(1)) for i in range(40)]
    try:
        await until(
            lambda: (
                one.stats.misses + two.stats.misses == 40
                and (source.fetches > 1 or (source.fetches == 1 and bool(pauses)))
            ),
            tasks,
            "expected one load in progress and the other process waiting (self.sleep) for it",
        )
        lock_pttl = await redis_client.pttl(one.lock_key(1))
    finally:
        source.fetch_gate.set()
        results = await settle(tasks)
    assert results == [KETTLE] * 40, "every caller in both processes gets the product"
    assert source.fetches == 1, (
        "a single-flight inside each process is not enough: the processes must agree through "
        f"a Redis lock (SET lock NX PX), yet the database was loaded {source.fetches} times"
    )
    assert 0 < lock_pttl <= 5_000, (
        f"the lock must expire on its own (PX lock_ttl), or a crashed holder blocks all (PTTL {lock_pttl})"
    )
    assert await redis_client.exists(one.lock_key(1)) == 0, "the lock is released after the load"


@pytest.mark.task(5)
async def test_a_dead_holders_lock_expires_and_the_next_caller_loads(
    cache: ProductCache, source: Instrumented, redis_client: Redis
) -> None:
    # A process took the lock and died: nobody will release it, only its expiry will.
    await redis_client.set(cache.lock_key(1), "a-crashed-process", px=50)
    assert await cache.get(1) == KETTLE, "wait with backoff until the lock expires, then load"
    assert source.fetches == 1


@pytest.mark.task(4)
async def test_a_cancelled_caller_does_not_cancel_the_shared_load(
    cache: ProductCache, source: Instrumented
) -> None:
    source.fetch_gate.clear()
    tasks = [asyncio.create_task(cache.get(1))]
    try:
        await until(lambda: source.fetches == 1, tasks, "expected the first caller to load")
        tasks += [asyncio.create_task(cache.get(1)) for _ in range(2)]
        await until(lambda: cache.stats.misses == 3, tasks, "expected three misses")
        tasks[0].cancel()  # the caller that started the load gives up (a client disconnected)
        await asyncio.sleep(0)
    finally:
        source.fetch_gate.set()
        results = await settle(tasks)
    assert isinstance(results[0], asyncio.CancelledError), "the cancelled caller is cancelled"
    assert results[1:] == [KETTLE, KETTLE], (
        "the others still get the product: run the load in its own task and await it shielded"
    )
    assert source.fetches == 1, "the load was not cancelled and redone"


@pytest.mark.task(5)
async def test_a_failed_load_caches_nothing_and_frees_the_lock(
    cache: ProductCache, source: Instrumented, redis_client: Redis
) -> None:
    source.fail_next = ConnectionError("database unavailable")
    with pytest.raises(ConnectionError):
        await cache.get(1)
    assert await redis_client.exists(cache.lock_key(1)) == 0, (
        "release the lock in finally: a failed load must not block everyone for lock_ttl"
    )
    assert await redis_client.exists(cache.key(1)) == 0, "an error is not a value: cache nothing"
    assert await cache.get(1) == KETTLE, "the next call tries again, and succeeds"
    assert source.fetches == 2


@pytest.mark.task(5)
async def test_waiters_back_off_and_take_the_entry_another_process_wrote(
    cache: ProductCache, source: Instrumented, redis_client: Redis
) -> None:
    await redis_client.set(cache.lock_key(1), "another-process")  # it is loading product 1
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 7:  # the other process has stored its entry (its lock not yet freed)
            await redis_client.set(cache.key(1), encode(KETTLE))

    cache.sleep = sleep
    cache.lock_wait = GUARD_S / 2
    assert await cache.get(1) == KETTLE, "after each pause, look in the cache for the entry"
    assert pauses == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08, 0.1, 0.1]), (
        "the pause starts at backoff[0] and doubles up to backoff[1]"
    )
    assert source.fetches == 0, "the other process loaded it: this one must not load again"
    assert await redis_client.get(cache.lock_key(1)) == "another-process", "not our lock to free"


@pytest.mark.task(5)
async def test_a_waiter_gives_up_after_lock_wait(
    cache: ProductCache, source: Instrumented, redis_client: Redis
) -> None:
    await redis_client.set(cache.lock_key(1), "a-stuck-process")  # held, and never released

    async def sleep(seconds: float) -> None:
        # Longer than lock_wait: the timeout fires here, never in the middle of a Redis command
        # (a command cancelled halfway can leave redis-py's connection broken).
        await asyncio.sleep(GUARD_S * 2)

    cache.sleep = sleep
    cache.lock_wait = 0.5
    waiter = asyncio.create_task(cache.get(1))
    done, _ = await asyncio.wait({waiter}, timeout=GUARD_S)
    if not done:
        waiter.cancel()
        await settle([waiter])
        pytest.fail("wait for another's load at most lock_wait seconds (asyncio.timeout)")
    with pytest.raises(TimeoutError):
        waiter.result()
    assert source.fetches == 0, "giving up is an error, not a licence to load under their lock"


@pytest.mark.task(5)
async def test_lock_wait_bounds_the_wait_not_the_load(
    cache: ProductCache, source: Instrumented
) -> None:
    cache.lock_wait = 1.0
    source.fetch_gate.clear()  # our own load, under our own lock, is slow
    task = asyncio.create_task(cache.get(1))
    try:
        await until(lambda: source.fetches == 1, [task], "expected the load to start")
        await asyncio.sleep(cache.lock_wait * 1.5)  # the load outlasts lock_wait
    finally:
        source.fetch_gate.set()
        [result] = await settle([task])
    assert result == KETTLE, (
        "asyncio.timeout(lock_wait) covers only the wait for another's lock: the holder's own "
        f"load is not cut short ({result!r})"
    )


@pytest.mark.task(5)
async def test_the_cache_is_read_again_once_the_lock_is_taken(
    cache: ProductCache, source: Instrumented, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_lock = cache.redis.lock

    def lock(name: str, **kwargs: Any) -> Any:
        taken = real_lock(name, **kwargs)
        real_acquire = taken.acquire

        async def acquire(*args: Any, **kw: Any) -> bool:
            # Between our miss and our lock, another process loaded, stored and unlocked.
            await redis_client.set(cache.key(1), encode(KETTLE))
            return bool(await real_acquire(*args, **kw))

        monkeypatch.setattr(taken, "acquire", acquire)
        return taken

    monkeypatch.setattr(cache.redis, "lock", lock)
    assert await cache.get(1) == KETTLE
    assert source.fetches == 0, (
        "once the lock is yours, look in the cache again: the entry may have appeared since "
        "your miss, and loading it again is the very stampede the lock is for"
    )


@pytest.mark.task(5)
async def test_a_lock_that_expired_under_a_slow_load_is_left_to_its_new_holder(
    cache: ProductCache, source: Instrumented, redis_client: Redis
) -> None:
    source.fetch_gate.clear()
    task = asyncio.create_task(cache.get(1))
    try:
        await until(lambda: source.fetches == 1, [task], "expected the load to start")
        # The load outlived lock_ttl: the lock expired and another process took it.
        await redis_client.set(cache.lock_key(1), "the-new-holder")
    finally:
        source.fetch_gate.set()
        [result] = await settle([task])
    assert result == KETTLE, (
        "releasing a lock that is no longer yours raises LockError: ignore it, the load succeeded"
    )
    assert await redis_client.get(cache.lock_key(1)) == "the-new-holder", (
        "release only your own lock (its token), never the new holder's"
    )
