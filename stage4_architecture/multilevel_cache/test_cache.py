"""The cache in this process: L1 on a fake clock, real Redis, real PostgreSQL.

Two caches made by one test share a prefix: they are two processes in all but the process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from katas.kit import free_port

from .cache import Cached, MultiLevelCache, connect_redis, encode, local_cache
from .conftest import (
    GUARD_S,
    MISSING,
    Caches,
    Gated,
    kill_subscriptions,
    price_in_database,
    until,
    waiting_on_locks,
)
from .store import Product, ProductStore

KETTLE = Product(1, "kettle", 2_999)
TEAPOT = Product(2, "teapot", 1_850)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class CountingRedis(Redis):
    """A client that counts the commands it sends, by name (GET, SET, EVALSHA...)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: Counter[str] = Counter()
        self.after_get: list[Any] = []  # coroutines functions run once after the next GET

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        name = str(args[0]).upper()
        self.sent[name] += 1
        result = await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        if name == "GET" and self.after_get:
            await self.after_get.pop(0)()
        return result


@pytest.fixture
def counting(caches: Caches) -> CountingRedis:
    """A counting client on a pool that is closed after the caches' listeners have stopped."""
    base = connect_redis(caches.redis_url, f"{caches.prefix}counting")
    caches.stack.push_async_callback(base.aclose)
    return CountingRedis(connection_pool=base.connection_pool)


def closed_redis(name: str) -> Redis:
    """A client of a port nothing listens on: Redis is down."""
    return connect_redis(f"redis://127.0.0.1:{free_port()}/0", name)


async def gather(*calls: Any) -> list[Any]:
    async with asyncio.timeout(GUARD_S):
        return list(await asyncio.gather(*calls))


# ---- task 1: the L1 ----------------------------------------------------------------------------


@pytest.mark.task(1)
def test_an_l1_entry_lives_ttl_seconds() -> None:
    clock = FakeClock()
    l1 = local_cache(10, ttl=10, negative_ttl=2, clock=clock)
    l1["k"] = Cached(KETTLE)
    clock.now += 9.99
    assert l1.get("k") == Cached(KETTLE)
    clock.now += 0.02
    assert l1.get("k") is None


@pytest.mark.task(1)
def test_a_missing_row_lives_negative_ttl_seconds_in_l1() -> None:
    clock = FakeClock()
    l1 = local_cache(10, ttl=10, negative_ttl=2, clock=clock)
    l1["found"] = Cached(KETTLE)
    l1["missing"] = Cached(None)
    clock.now += 1.99
    assert l1.get("missing") == Cached(None)
    clock.now += 0.02
    assert l1.get("missing") is None
    assert l1.get("found") == Cached(KETTLE)


@pytest.mark.task(1)
def test_l1_evicts_the_least_recently_used_entry_beyond_maxsize() -> None:
    l1 = local_cache(2, ttl=10, negative_ttl=2, clock=FakeClock())
    l1["a"], l1["b"] = Cached(KETTLE), Cached(TEAPOT)
    assert l1.get("a") is not None  # a is now more recently used than b
    assert sorted(l1) == ["a", "b"]
    l1["c"] = Cached(None)
    assert sorted(l1) == ["a", "c"]


# ---- task 2: read-through ----------------------------------------------------------------------


@pytest.mark.task(2)
async def test_a_cold_read_goes_down_to_the_database_and_fills_both_levels(
    caches: Caches, audit: ProductStore, admin: Redis
) -> None:
    cache = await caches.make()
    assert await cache.get(1) == KETTLE
    assert (cache.stats.l2_misses, cache.stats.loads, cache.stats.l1_hits) == (1, 1, 0)
    assert await admin.get(cache.key(1)) == encode(KETTLE)
    assert cache.l1.get(cache.key(1)) == Cached(KETTLE)
    assert await cache.get(1) == KETTLE
    assert (cache.stats.l1_hits, cache.stats.l2_hits, cache.stats.loads) == (1, 0, 1)
    assert await audit.reads(1) == 1


@pytest.mark.task(2)
async def test_another_process_finds_the_entry_in_l2(caches: Caches, audit: ProductStore) -> None:
    first, second = await caches.make(), await caches.make()
    assert await first.get(2) == TEAPOT
    assert await second.get(2) == TEAPOT
    assert (second.stats.l2_hits, second.stats.l2_misses, second.stats.loads) == (1, 0, 0)
    assert await second.get(2) == TEAPOT
    assert second.stats.l1_hits == 1
    assert await audit.reads(2) == 1


@pytest.mark.task(2)
async def test_an_expired_l1_entry_is_read_again_from_l2(caches: Caches) -> None:
    clock = FakeClock()
    cache = await caches.make(l1_ttl=30, clock=clock)
    await cache.get(1)
    clock.now += 31
    assert await cache.get(1) == KETTLE
    assert (cache.stats.l1_hits, cache.stats.l2_hits, cache.stats.loads) == (0, 1, 1)
    assert await cache.get(1) == KETTLE
    assert cache.stats.l1_hits == 1


@pytest.mark.task(2)
async def test_without_a_subscription_l1_is_neither_read_nor_filled(
    caches: Caches, audit: ProductStore
) -> None:
    cache = await caches.make(listen=False)
    cache.l1[cache.key(1)] = Cached(Product(1, "stale", 1))
    for _ in range(3):
        assert await cache.get(1) == KETTLE
    cache.l1.clear()
    assert await cache.get(2) == TEAPOT
    assert len(cache.l1) == 0
    assert (cache.stats.l1_hits, cache.stats.l2_hits, cache.stats.loads) == (0, 2, 2)
    assert await audit.reads(1) == 1


@pytest.mark.task(2)
async def test_an_unreadable_l2_entry_is_a_miss(caches: Caches, admin: Redis) -> None:
    cache = await caches.make()
    await admin.set(cache.key(1), "{not json")
    assert await cache.get(1) == KETTLE
    assert (cache.stats.l2_misses, cache.stats.loads) == (1, 1)
    assert await admin.get(cache.key(1)) == encode(KETTLE)


# ---- task 3: loading and negative caching ------------------------------------------------------


@pytest.mark.task(3)
async def test_a_flood_of_reads_of_a_missing_row_reads_the_database_once(
    caches: Caches, audit: ProductStore, admin: Redis
) -> None:
    cache = await caches.make(negative_ttl=5)
    for _ in range(20):
        assert await cache.get(MISSING) is None
    assert await audit.reads(MISSING) == 1
    assert (cache.stats.loads, cache.stats.l1_hits) == (1, 19)
    assert await admin.get(cache.key(MISSING)) == encode(None)
    assert 0 < await admin.pttl(cache.key(MISSING)) <= 5_000


@pytest.mark.task(3)
async def test_without_l1_the_negative_entry_in_l2_still_holds_the_flood(
    caches: Caches, audit: ProductStore
) -> None:
    cache = await caches.make(listen=False)
    results = [await cache.get(MISSING) for _ in range(10)]
    assert results == [None] * 10
    assert await audit.reads(MISSING) == 1
    assert (cache.stats.l2_hits, cache.stats.loads) == (9, 1)


@pytest.mark.task(3)
async def test_a_found_row_lives_l2_ttl_and_a_missing_one_negative_ttl(
    caches: Caches, admin: Redis
) -> None:
    cache = await caches.make(l2_ttl=300, negative_ttl=5)
    await cache.get(1)
    await cache.get(MISSING)
    assert 5_000 < await admin.pttl(cache.key(1)) <= 300_000
    assert 0 < await admin.pttl(cache.key(MISSING)) <= 5_000


# ---- task 4: single flight ---------------------------------------------------------------------


@pytest.mark.task(4)
async def test_concurrent_cold_readers_share_one_fill(
    caches: Caches, counting: CountingRedis, audit: ProductStore
) -> None:
    cache = await caches.make(redis=counting)
    await cache.get(2)  # what one cold read sends to Redis
    alone = counting.sent.copy()
    counting.sent.clear()
    results = await gather(*(cache.get(1) for _ in range(20)))
    assert results == [KETTLE] * 20
    assert counting.sent == alone
    assert (cache.stats.l2_misses, cache.stats.loads) == (2, 2)
    assert await audit.reads(1) == 1


@pytest.mark.task(4)
async def test_a_cancelled_reader_does_not_cancel_the_others(
    caches: Caches, source: Gated, audit: ProductStore
) -> None:
    cache = await caches.make()
    source.gate.clear()
    readers = [asyncio.create_task(cache.get(1)) for _ in range(3)]
    await until(lambda: _true(source.fetches == 1), "the fill to reach the database")
    readers[0].cancel()
    source.gate.set()
    assert await gather(*readers[1:]) == [KETTLE, KETTLE]
    assert readers[0].cancelled()
    assert await audit.reads(1) == 1


@pytest.mark.task(4)
async def test_a_failed_fill_reaches_every_waiter_and_the_next_read_tries_again(
    caches: Caches, source: Gated
) -> None:
    cache = await caches.make()
    source.gate.clear()
    source.fail_next = RuntimeError("database went away")
    readers = [asyncio.create_task(cache.get(1)) for _ in range(3)]
    await until(lambda: _true(source.fetches == 1), "the fill to reach the database")
    source.gate.set()
    async with asyncio.timeout(GUARD_S):
        outcomes = await asyncio.gather(*readers, return_exceptions=True)
    assert [str(o) for o in outcomes] == ["database went away"] * 3
    assert await cache.get(1) == KETTLE
    assert source.fetches == 2


@pytest.mark.task(4)
async def test_a_finished_fill_is_not_reused(caches: Caches, audit: ProductStore) -> None:
    cache = await caches.make()
    assert await cache.get(1) == KETTLE
    await audit.set_price(1, 3_100)  # behind the cache's back
    await cache.redis.delete(cache.key(1))
    cache.l1.clear()
    assert await cache.get(1) == Product(1, "kettle", 3_100)


# ---- task 5: the Redis lock across processes ---------------------------------------------------


@pytest.mark.task(5)
async def test_a_second_process_waits_for_the_first_ones_load(
    caches: Caches, source: Gated, audit: ProductStore
) -> None:
    first, second = await caches.make(), await caches.make(lock_wait=GUARD_S)
    source.gate.clear()
    loading = asyncio.create_task(first.get(1))
    await until(lambda: _true(source.fetches == 1), "the first process to load")
    waiting = asyncio.create_task(second.get(1))
    await until(lambda: _true(second.stats.l2_misses == 1), "the second process to miss L2")
    source.gate.set()
    assert await gather(loading, waiting) == [KETTLE, KETTLE]
    assert (first.stats.loads, second.stats.loads) == (1, 0)
    assert await audit.reads(1) == 1


@pytest.mark.task(5)
async def test_with_the_lock_l2_is_looked_at_again(
    caches: Caches, counting: CountingRedis, admin: Redis
) -> None:
    cache = await caches.make(redis=counting)

    async def another_process_stores_it() -> None:
        await admin.set(cache.key(1), encode(KETTLE))

    counting.after_get.append(another_process_stores_it)  # between the first look and the lock
    assert await cache.get(1) == KETTLE
    assert (cache.stats.l2_misses, cache.stats.loads) == (1, 0)
    assert await admin.exists(cache.lock_key(1)) == 0


@pytest.mark.task(5)
async def test_the_lock_expires_on_its_own_and_is_released_after_the_load(
    caches: Caches, source: Gated, admin: Redis
) -> None:
    cache = await caches.make(lock_ttl=7)
    source.gate.clear()
    loading = asyncio.create_task(cache.get(1))
    await until(lambda: _true(source.fetches == 1), "the load")
    assert 0 < await admin.pttl(cache.lock_key(1)) <= 7_000
    source.gate.set()
    await gather(loading)
    assert await admin.exists(cache.lock_key(1)) == 0


@pytest.mark.task(5)
async def test_a_failed_load_releases_the_lock(caches: Caches, source: Gated, admin: Redis) -> None:
    cache = await caches.make()
    source.fail_next = RuntimeError("database went away")
    with pytest.raises(RuntimeError):
        await cache.get(1)
    assert await admin.exists(cache.lock_key(1)) == 0
    assert await cache.get(1) == KETTLE


@pytest.mark.task(5)
async def test_a_lock_left_by_a_dead_holder_is_waited_out(
    caches: Caches, source: Gated, admin: Redis
) -> None:
    cache = await caches.make(lock_wait=GUARD_S, poll=0.02)
    await admin.set(cache.lock_key(1), "a-process-that-died", px=500)
    seen: list[object] = []

    async def look_at_the_lock() -> None:
        seen.append(await admin.get(cache.lock_key(1)))

    source.before_fetch = look_at_the_lock
    assert await gather(cache.get(1)) == [KETTLE]
    assert cache.stats.loads == 1
    assert "a-process-that-died" not in seen


@pytest.mark.task(5)
async def test_a_stuck_holder_is_waited_for_lock_wait_then_loaded_around(
    caches: Caches, admin: Redis
) -> None:
    cache = await caches.make(lock_wait=0.3, poll=0.02)
    await admin.set(cache.lock_key(1), "a-stuck-process", px=60_000)
    assert await gather(cache.get(1)) == [KETTLE]
    assert cache.stats.loads == 1
    assert await admin.get(cache.lock_key(1)) == "a-stuck-process"  # never free another's lock


# ---- task 6: the write path --------------------------------------------------------------------


@pytest.mark.task(6)
async def test_a_write_reaches_the_database_and_every_level_forgets(
    caches: Caches, audit: ProductStore, admin: Redis
) -> None:
    writer, reader = await caches.make(), await caches.make()
    assert (await writer.get(1), await reader.get(1)) == (KETTLE, KETTLE)
    assert await writer.set_price(1, 1_234) is True
    assert await price_in_database(audit, 1) == 1_234
    assert await admin.exists(writer.key(1)) == 0
    assert await writer.get(1) == Product(1, "kettle", 1_234)  # its own L1 at once
    await until(lambda: _is_price(reader, 1, 1_234), "the other process to see the new price")


@pytest.mark.task(6)
async def test_a_write_to_a_missing_row_changes_nothing(caches: Caches, admin: Redis) -> None:
    cache = await caches.make()
    assert await cache.get(MISSING) is None
    assert await cache.set_price(MISSING, 100) is False
    assert await admin.get(cache.key(MISSING)) == encode(None)
    assert cache.l1.get(cache.key(MISSING)) == Cached(None)


@pytest.mark.task(6)
async def test_the_database_is_written_before_any_level_forgets(
    caches: Caches, audit: ProductStore, admin: Redis
) -> None:
    cache = await caches.make()
    await cache.get(1)
    probe = admin.pubsub()
    await probe.subscribe(cache.channel)
    await probe.get_message(timeout=GUARD_S)  # the subscribe confirmation
    async with audit.conn.transaction():
        await audit.conn.execute("SELECT 1 FROM products WHERE id = 1 FOR UPDATE")
        writing = asyncio.create_task(cache.set_price(1, 1_500))
        await until(lambda: _blocked(audit), "the UPDATE to wait for the row lock")
        assert await admin.get(cache.key(1)) == encode(KETTLE)
        assert cache.l1.get(cache.key(1)) == Cached(KETTLE)
        assert await probe.get_message(timeout=0.2) is None
    assert await gather(writing) == [True]
    assert await admin.exists(cache.key(1)) == 0
    assert cache.key(1) not in cache.l1
    message = await probe.get_message(timeout=GUARD_S)
    assert message is not None and message["data"] == cache.key(1)
    await probe.aclose()


# ---- task 7: listening for invalidations -------------------------------------------------------


@pytest.mark.task(7)
async def test_an_invalidation_drops_only_its_key(caches: Caches) -> None:
    writer, reader = await caches.make(), await caches.make()
    await reader.get(1)
    await reader.get(2)
    await writer.set_price(1, 1_111)
    await until(lambda: _true(reader.stats.invalidations == 1), "the invalidation to arrive")
    assert reader.key(1) not in reader.l1
    assert await reader.get(2) == TEAPOT
    assert reader.stats.l1_hits == 1
    assert await reader.get(1) == Product(1, "kettle", 1_111)


@pytest.mark.task(7)
async def test_a_dropped_subscription_clears_l1_and_comes_back(
    caches: Caches, admin: Redis
) -> None:
    writer, reader = await caches.make(), await caches.make(resubscribe_pause=0.05)
    await reader.get(1)
    await reader.get(2)
    assert reader.stats.subscriptions == 1
    assert await kill_subscriptions(admin, caches.names[1]) == 1
    await until(lambda: _true(reader.stats.subscriptions == 2), "the cache to resubscribe")
    assert reader.listening.is_set()
    assert len(reader.l1) == 0  # a message sent while it was away would be lost
    await reader.get(2)
    await writer.set_price(2, 2_222)
    await until(lambda: _true(reader.stats.invalidations == 1), "an invalidation after it")
    assert await reader.get(2) == Product(2, "teapot", 2_222)


@pytest.fixture
async def acl_user(admin: Redis, unique_name: str) -> AsyncIterator[tuple[str, str]]:
    """A Redis user of the test's own, to switch off and on: Redis going away and coming back."""
    user, password = unique_name.replace(".", "-"), uuid.uuid4().hex
    await admin.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    yield user, password
    await admin.acl_deluser(user)


@pytest.mark.task(7)
async def test_while_redis_is_away_l1_is_not_trusted_and_then_it_resubscribes(
    caches: Caches, admin: Redis, acl_user: tuple[str, str], audit: ProductStore
) -> None:
    user, password = acl_user
    client = connect_redis(caches.redis_url, user, username=user, password=password)
    reader = await caches.make(redis=client, resubscribe_pause=0.05)
    assert await reader.get(1) == KETTLE
    await admin.acl_setuser(user, enabled=False)
    await admin.client_kill_filter(user=user)  # every connection goes; none can come back
    await until(lambda: _true(not reader.listening.is_set()), "the cache to notice")
    assert len(reader.l1) == 0
    assert await reader.get(1) == KETTLE
    assert len(reader.l1) == 0
    assert await audit.reads(1) == 2
    await admin.acl_setuser(user, enabled=True)
    await until(lambda: _true(reader.listening.is_set()), "the cache to subscribe again")
    assert reader.stats.subscriptions == 2
    await reader.get(1)
    assert reader.key(1) in reader.l1


class CountingSubscriptions(Redis):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attempts = 0

    def pubsub(self, **kwargs: Any) -> Any:
        self.attempts += 1
        return super().pubsub(**kwargs)


@pytest.mark.task(7)
async def test_listen_keeps_trying_while_redis_is_down(caches: Caches) -> None:
    down = closed_redis("down")
    client = CountingSubscriptions(connection_pool=down.connection_pool)
    cache = MultiLevelCache(client, caches.source, prefix=caches.prefix, resubscribe_pause=0.01)
    listener = asyncio.create_task(cache.listen())
    try:
        await until(lambda: _true(client.attempts >= 3 or listener.done()), "three attempts")
        assert not listener.done(), listener.exception()
        assert not cache.listening.is_set()
    finally:
        listener.cancel()
        await asyncio.wait({listener}, timeout=GUARD_S)
        await down.aclose()


# ---- task 8: degrade, never fail ---------------------------------------------------------------


@pytest.mark.task(8)
async def test_with_redis_down_reads_and_writes_go_to_the_database(
    caches: Caches, audit: ProductStore
) -> None:
    cache = await caches.make(listen=False, redis=closed_redis("down"))
    for _ in range(3):
        assert await cache.get(1) == KETTLE
    assert await cache.get(MISSING) is None
    assert await audit.reads(1) == 3  # no L2, and no L1 without its invalidations
    assert cache.stats.l2_errors >= 4
    assert await cache.set_price(1, 999) is True
    assert await cache.get(1) == Product(1, "kettle", 999)


@pytest.mark.task(8)
async def test_with_redis_down_concurrent_readers_still_share_one_load(
    caches: Caches, audit: ProductStore
) -> None:
    cache = await caches.make(listen=False, redis=closed_redis("down"))
    assert await gather(*(cache.get(2) for _ in range(10))) == [TEAPOT] * 10
    assert await audit.reads(2) == 1


@pytest.mark.task(8)
async def test_only_redis_errors_are_swallowed(caches: Caches) -> None:
    cache = await caches.make(listen=False)

    async def fails(error: Exception) -> str:
        raise error

    assert await cache._quietly(fails(RedisConnectionError("refused"))) is None
    assert cache.stats.l2_errors == 1
    with pytest.raises(ValueError, match="a bug"):
        await cache._quietly(fails(ValueError("a bug")))
    assert cache.stats.l2_errors == 1
    assert await cache._quietly(_value("ok")) == "ok"


# ---- helpers -----------------------------------------------------------------------------------


async def _true(value: bool) -> bool:
    return value


async def _value(value: str) -> str:
    return value


async def _blocked(audit: ProductStore) -> bool:
    return await waiting_on_locks(audit) >= 1


async def _is_price(cache: MultiLevelCache, product_id: int, price: int) -> bool:
    product = await cache.get(product_id)
    return product is not None and product.price_cents == price
