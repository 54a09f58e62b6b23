"""One read through three levels: L1 (this process's memory), L2 (Redis, shared), PostgreSQL.

Read: L1, else L2, else the database, filling the levels on the way back; concurrent misses of one
key share one load (a single-flight task in the process, a Redis lock across processes), and a
missing row is cached as missing for a short while. Write: the database first, then delete the L2
entry, drop the L1 entry and publish the key, so that every other process drops its L1 copy.
Redis is a cache, never a dependency: when it fails, reads and writes go to the database, and
the L1 is used only while its invalidations can reach it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

from cachetools import TLRUCache
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .store import Product

T = TypeVar("T")
Clock = Callable[[], float]


@dataclass(frozen=True)
class Cached:
    """A cache entry; ``product`` is None for a row known not to exist (a negative entry)."""

    product: Product | None


LocalCache = TLRUCache[str, Cached, float]


class Source(Protocol):
    """The source of truth under the cache (``ProductStore``, or a test's wrapper of it)."""

    async def fetch(self, product_id: int) -> Product | None: ...

    async def set_price(self, product_id: int, price_cents: int) -> bool: ...


def encode(product: Product | None) -> str:
    """The L2 entry: ``{"product": {...}}``, or ``{"product": null}`` for a missing row."""
    return json.dumps({"product": None if product is None else asdict(product)})


def decode(raw: str | bytes) -> Cached | None:
    """The entry ``encode`` wrote, or None when ``raw`` cannot be read: then it is a miss."""
    try:
        product = json.loads(raw)["product"]
        return Cached(None if product is None else Product(**product))
    except (ValueError, KeyError, TypeError):
        return None


def connect_redis(url: str, name: str, **options: Any) -> Redis:
    """A Redis client for a cache: it answers fast or fails fast, never waits on a dead server.

    redis-py's default retries a failed command three times with growing pauses, which is right
    for a queue and wrong for a cache: the database answers the read sooner. One retry remains,
    for a connection the server has closed; ``name`` shows up in CLIENT LIST. ``options`` go to
    ``Redis.from_url`` (``username`` and ``password``, say).
    """
    return Redis.from_url(
        url,
        decode_responses=True,
        client_name=name,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        retry=Retry(NoBackoff(), retries=1),
        health_check_interval=30,  # PING a connection idle this long before trusting it
        **options,
    )


def local_cache(maxsize: int, ttl: float, negative_ttl: float, clock: Clock) -> LocalCache:
    """The L1: at most ``maxsize`` entries, least recently used out first; a found row lives
    ``ttl`` seconds, a missing one ``negative_ttl``, by ``clock``."""

    # kata: begin a cachetools TLRUCache whose ttu gives each entry its own expiry time: now + ttl for a product, now + negative_ttl for a missing row; timer=clock
    def expires_at(_key: str, entry: Cached, now: float) -> float:
        return now + (negative_ttl if entry.product is None else ttl)

    return TLRUCache(maxsize=maxsize, ttu=expires_at, timer=clock)
    # kata: end


@dataclass
class CacheStats:
    l1_hits: int = 0  # get() calls answered from this process's memory
    l2_hits: int = 0  # loads answered by Redis at the first look
    l2_misses: int = 0  # loads that found no readable entry in Redis at the first look
    loads: int = 0  # reads of the source of truth
    l2_errors: int = 0  # Redis calls that failed (and were answered without Redis)
    invalidations: int = 0  # invalidation messages received
    subscriptions: int = 0  # subscribe confirmations: the first one and every resubscription


class MultiLevelCache:
    """Products through L1, L2 and the database; run ``listen()`` as a task beside it."""

    def __init__(
        self,
        redis: Redis,
        source: Source,
        *,
        prefix: str,
        l1_size: int = 10_000,
        l1_ttl: float = 30.0,
        l2_ttl: float = 300.0,
        negative_ttl: float = 5.0,
        lock_ttl: float = 5.0,
        lock_wait: float = 5.0,
        poll: float = 0.01,
        resubscribe_pause: float = 0.2,
        clock: Clock = time.monotonic,
    ) -> None:
        self.redis = redis
        self.source = source
        self.prefix = prefix  # namespaces keys and the channel: pub/sub ignores the db index
        self.l2_ttl = l2_ttl  # seconds an L2 entry of a found row lives
        self.negative_ttl = negative_ttl  # seconds a "no such row" entry lives, at both levels
        self.lock_ttl = lock_ttl  # seconds before a load lock expires on its own (holder died)
        self.lock_wait = lock_wait  # seconds to wait for another process's load, then load
        self.poll = poll  # seconds between looks at L2 while another process loads
        self.resubscribe_pause = resubscribe_pause
        self.l1 = local_cache(l1_size, l1_ttl, negative_ttl, clock)
        self.channel = f"{prefix}invalidations"
        self.listening = asyncio.Event()  # set while subscribed: only then is L1 trustworthy
        self.stats = CacheStats()
        self._flights: dict[str, asyncio.Task[Product | None]] = {}

    def key(self, product_id: int) -> str:
        return f"{self.prefix}product:{product_id}"

    def lock_key(self, product_id: int) -> str:
        return f"{self.prefix}lock:product:{product_id}"

    # ---- reading --------------------------------------------------------------------------

    async def get(self, product_id: int) -> Product | None:
        """The product, or None when there is no such row; from the nearest level that has it."""
        # kata: begin while self.listening is set, an L1 entry is a hit (count stats.l1_hits, return its product); anything else returns await self._single_flight(product_id)
        if self.listening.is_set():
            entry = self.l1.get(self.key(product_id))
            if entry is not None:
                self.stats.l1_hits += 1
                return entry.product
        return await self._single_flight(product_id)
        # kata: end

    async def _fill(self, product_id: int) -> Product | None:
        """After an L1 miss: L2, else ``_load``; remember the answer in L1 on the way back."""
        # kata: begin a readable L2 entry counts stats.l2_hits, anything else stats.l2_misses and goes to self._load; then self._remember the product (missing included) and return it
        key = self.key(product_id)
        entry = await self._l2_get(key)
        if entry is not None:
            self.stats.l2_hits += 1
            product = entry.product
        else:
            self.stats.l2_misses += 1
            product = await self._load(product_id)
        self._remember(key, product)
        return product
        # kata: end

    def _remember(self, key: str, product: Product | None) -> None:
        """Keep an answer in L1, unless no invalidation could reach it there."""
        # kata: begin store Cached(product) under key in self.l1 only while self.listening is set
        if self.listening.is_set():
            self.l1[key] = Cached(product)
        # kata: end

    async def _load_and_store(self, product_id: int) -> Product | None:
        """Read the source of truth once and put its answer in L2, absence included."""
        # kata: begin fetch from self.source (count stats.loads), then self._l2_set the answer for self.l2_ttl seconds, or self.negative_ttl when the row is missing
        product = await self.source.fetch(product_id)
        self.stats.loads += 1
        seconds = self.l2_ttl if product is not None else self.negative_ttl
        await self._l2_set(self.key(product_id), product, seconds)
        return product
        # kata: end

    async def _single_flight(self, product_id: int) -> Product | None:
        """In this process: one ``_fill`` per key at a time, however many callers miss together."""
        # kata: begin the first caller starts a Task running self._fill, kept in self._flights under the key until it is done; every caller awaits it through asyncio.shield
        key = self.key(product_id)
        if key not in self._flights:
            flight = asyncio.create_task(self._fill(product_id))
            self._flights[key] = flight
            flight.add_done_callback(lambda _done: self._flights.pop(key, None))
        # a cancelled caller stops waiting; the fill goes on for the others
        return await asyncio.shield(self._flights[key])
        # kata: end

    async def _load(self, product_id: int) -> Product | None:
        """Across processes: one holder of the Redis lock loads; the others wait for its entry."""
        # kata: begin a non-blocking self.redis.lock(lock_key, timeout=lock_ttl): while acquire() says False and lock_wait seconds have not passed (a deadline, not asyncio.timeout), sleep self.poll and return the L2 entry once it appears; no lock (Redis failed, or the wait ran out) loads anyway; with it, look in L2 again, else load, and release in finally
        key = self.key(product_id)
        lock = self.redis.lock(self.lock_key(product_id), timeout=self.lock_ttl, blocking=False)
        give_up_at = time.monotonic() + self.lock_wait
        while (held := await self._quietly(lock.acquire())) is False:
            if time.monotonic() >= give_up_at:
                break
            await asyncio.sleep(self.poll)
            entry = await self._l2_get(key)
            if entry is not None:
                return entry.product
        if not held:  # Redis failed, or the holder is stuck: correctness before protection
            return await self._load_and_store(product_id)
        try:
            entry = await self._l2_get(key)  # stored between our first look and our lock
            if entry is not None:
                return entry.product
            return await self._load_and_store(product_id)
        finally:
            await self._quietly(lock.release())  # an expired lock is not ours to free
        # kata: end

    # ---- writing --------------------------------------------------------------------------

    async def set_price(self, product_id: int, price_cents: int) -> bool:
        """Change the price in the database, then make every level forget the old one."""
        # kata: begin the source of truth first (False: no such row, nothing to forget); then delete the L2 key, pop the L1 entry and publish the key on self.channel, through the _l2 helpers
        if not await self.source.set_price(product_id, price_cents):
            return False
        key = self.key(product_id)
        await self._l2_delete(key)
        self.l1.pop(key, None)
        await self._publish(key)
        return True
        # kata: end

    async def listen(self) -> None:
        """Drop the L1 entries other processes invalidate, until cancelled; resubscribe after a
        lost connection, and trust nothing cached before the subscription is back."""
        # kata: begin loop forever: subscribe a self.redis.pubsub() to self.channel and hand every message of listen() to self._on_message; on RedisError clear self.listening and self.l1, sleep self.resubscribe_pause and subscribe again
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        self._on_message(message)
            except RedisError:
                pass
            self.listening.clear()
            self.l1.clear()  # messages sent while we were away are lost
            await asyncio.sleep(self.resubscribe_pause)
        # kata: end

    def _on_message(self, message: dict[str, Any]) -> None:
        """One message of the invalidation channel: a subscribe confirmation or a key."""
        # kata: begin "subscribe": count stats.subscriptions, clear self.l1, set self.listening; "message": count stats.invalidations and pop its data (a key) from self.l1
        if message["type"] == "subscribe":
            self.stats.subscriptions += 1
            self.l1.clear()  # what was cached before this subscription may have missed a message
            self.listening.set()
        elif message["type"] == "message":
            self.stats.invalidations += 1
            self.l1.pop(message["data"], None)
        # kata: end

    # ---- Redis, never fatal ---------------------------------------------------------------

    async def _quietly(self, call: Awaitable[T]) -> T | None:
        """What ``call`` returns, or None when Redis failed (counted in stats.l2_errors)."""
        # kata: begin await call; a RedisError (refused, timed out, dropped, a lock no longer ours) counts stats.l2_errors and returns None instead of raising
        try:
            return await call
        except RedisError:
            self.stats.l2_errors += 1
            return None
        # kata: end

    async def _l2_get(self, key: str) -> Cached | None:
        raw = await self._quietly(self.redis.get(key))
        return None if raw is None else decode(raw)

    async def _l2_set(self, key: str, product: Product | None, seconds: float) -> None:
        await self._quietly(self.redis.set(key, encode(product), px=round(seconds * 1000)))

    async def _l2_delete(self, key: str) -> None:
        await self._quietly(self.redis.delete(key))

    async def _publish(self, key: str) -> None:
        await self._quietly(self.redis.publish(self.channel, key))
