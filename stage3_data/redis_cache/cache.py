"""Cache-aside in front of PostgreSQL with redis.asyncio.

Read: GET the key; on a miss load the row from PostgreSQL and SET it with a TTL. Write: update
PostgreSQL, then DELETE the key. Stampede: concurrent misses for one key share one load, by a
single-flight task inside the process and a Redis lock (SET NX PX) across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import psycopg
from psycopg.rows import class_row
from redis.asyncio import Redis
from redis.exceptions import LockError

SCHEMA_VERSION = 1  # part of every key: bump it when Product's JSON changes

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    price_cents: int


@dataclass(frozen=True)
class Cached:
    """A readable cache entry; ``product`` is None for a row known not to exist (a tombstone)."""

    product: Product | None


class ProductSource(Protocol):
    """The source of truth the cache sits in front of."""

    async def fetch(self, product_id: int) -> Product | None: ...

    async def set_price(self, product_id: int, price_cents: int) -> None: ...


class PostgresProducts:
    """The ``products`` table through psycopg's async API (given: the database is not the lesson)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> PostgresProducts:
        return cls(await psycopg.AsyncConnection.connect(url, autocommit=True))

    async def create_schema(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS products ("
            " id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " name text NOT NULL,"
            " price_cents integer NOT NULL CHECK (price_cents >= 0))"
        )

    async def add(self, name: str, price_cents: int) -> Product:
        async with self.conn.cursor(row_factory=class_row(Product)) as cur:
            await cur.execute(
                "INSERT INTO products (name, price_cents) VALUES (%s, %s)"
                " RETURNING id, name, price_cents",
                (name, price_cents),
            )
            product = await cur.fetchone()
        if product is None:
            raise RuntimeError("INSERT ... RETURNING returned no row")
        return product

    async def fetch(self, product_id: int) -> Product | None:
        async with self.conn.cursor(row_factory=class_row(Product)) as cur:
            await cur.execute(
                "SELECT id, name, price_cents FROM products WHERE id = %s", (product_id,)
            )
            return await cur.fetchone()

    async def set_price(self, product_id: int, price_cents: int) -> None:
        await self.conn.execute(
            "UPDATE products SET price_cents = %s WHERE id = %s", (price_cents, product_id)
        )

    async def close(self) -> None:
        await self.conn.close()


def encode(product: Product | None) -> str:
    """The cache's JSON: ``{"product": {...}}``, or ``{"product": null}`` for a missing row."""
    return json.dumps({"product": None if product is None else asdict(product)})


def decode(raw: str | bytes) -> Cached | None:
    """The entry ``encode`` wrote, or None when ``raw`` can't be read: then it is just a miss."""
    # kata: begin parse the JSON into Cached(Product(...)) or Cached(None); anything unreadable (bad JSON, wrong shape) returns None, never raises
    try:
        data = json.loads(raw)
        product = data["product"]
        return Cached(None if product is None else Product(**product))
    except (ValueError, KeyError, TypeError):
        return None
    # kata: end


@dataclass
class CacheStats:
    hits: int = 0  # get() calls answered from Redis
    misses: int = 0  # get() calls that found no readable entry at first look


class ProductCache:
    """Cache-aside for products: ``get`` reads through Redis, ``set_price`` invalidates."""

    def __init__(
        self,
        redis: Redis,
        source: ProductSource,
        *,
        prefix: str,
        ttl: int = 300,
        negative_ttl: int = 30,
        jitter: float = 0.1,
        lock_ttl: float = 5.0,
        lock_wait: float = 10.0,
        backoff: tuple[float, float] = (0.005, 0.1),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.redis = redis
        self.source = source
        self.prefix = prefix
        self.ttl = ttl  # seconds an entry lives, less up to ``jitter`` of it
        self.negative_ttl = negative_ttl  # seconds a "no such row" entry lives
        self.jitter = jitter
        self.lock_ttl = lock_ttl  # seconds before a lock expires on its own (its holder died)
        self.lock_wait = lock_wait  # seconds a caller waits for another's load before giving up
        self.backoff = backoff  # first and longest pause between looks while another loads
        self.sleep = sleep
        self.stats = CacheStats()
        self._flights: dict[str, asyncio.Task[Product | None]] = {}

    def key(self, product_id: int) -> str:
        return f"{self.prefix}product:v{SCHEMA_VERSION}:{product_id}"

    def lock_key(self, product_id: int) -> str:
        return f"{self.prefix}lock:product:{product_id}"

    async def _read(self, product_id: int) -> Cached | None:
        raw = await self.redis.get(self.key(product_id))
        return None if raw is None else decode(raw)

    def _expiry(self, ttl: int) -> int:
        """``ttl`` less a random share of up to ``jitter``: entries written together expire apart."""
        return max(1, ttl - int(ttl * self.jitter * random.random()))

    async def get(self, product_id: int) -> Product | None:
        """The product (None if no such row), from Redis when it can, else loaded once."""
        # kata: begin cache-aside read: a readable entry (self._read) is a hit; else count a miss and return await self._single_flight(product_id)
        cached = await self._read(product_id)
        if cached is not None:
            self.stats.hits += 1
            return cached.product
        self.stats.misses += 1
        return await self._single_flight(product_id)
        # kata: end

    async def _load_and_store(self, product_id: int) -> Product | None:
        """Load from the source of truth and cache what it says, absence included."""
        # kata: begin fetch from self.source, then SET key encode(product) EX self._expiry(ttl), or negative_ttl when the row is missing
        product = await self.source.fetch(product_id)
        ttl = self.ttl if product is not None else self.negative_ttl
        await self.redis.set(self.key(product_id), encode(product), ex=self._expiry(ttl))
        return product
        # kata: end

    async def _single_flight(self, product_id: int) -> Product | None:
        """In this process: one load per key at a time, however many callers miss together."""
        # kata: begin the first caller starts a Task running self._fill, kept in self._flights until done; every caller awaits it through asyncio.shield
        key = self.key(product_id)
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.create_task(self._fill(product_id))
            self._flights[key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(key, None))
        # shield: a caller that is cancelled stops waiting; the load goes on for the others
        return await asyncio.shield(flight)
        # kata: end

    async def _fill(self, product_id: int) -> Product | None:
        """Across processes: one holder of the Redis lock loads; the others wait for its entry."""
        # kata: begin take self.redis.lock(lock_key, timeout=lock_ttl) without blocking, or sleep with growing backoff and look again; re-check the cache once the lock is yours; release it in finally
        lock = self.redis.lock(self.lock_key(product_id), timeout=self.lock_ttl, blocking=False)
        pause, longest = self.backoff
        async with asyncio.timeout(self.lock_wait):
            while not await lock.acquire():
                await self.sleep(pause)
                pause = min(pause * 2, longest)
                cached = await self._read(product_id)
                if cached is not None:
                    return cached.product
        try:
            cached = await self._read(product_id)  # filled between our miss and our lock
            if cached is not None:
                return cached.product
            return await self._load_and_store(product_id)
        finally:
            with contextlib.suppress(LockError):  # expired and taken by another: not ours to free
                await lock.release()
        # kata: end

    async def set_price(self, product_id: int, price_cents: int) -> None:
        """Change the price in PostgreSQL, then make the cache forget the old one."""
        # kata: begin update the source of truth first, then DELETE the key (never SET the new value)
        await self.source.set_price(product_id, price_cents)
        await self.redis.delete(self.key(product_id))
        # kata: end
