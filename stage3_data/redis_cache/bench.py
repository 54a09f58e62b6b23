"""Read latency of one product by id: a local dict, a Redis GET, a PostgreSQL primary-key SELECT.

Each read is timed on its own (``perf_counter_ns``), after a warm-up, over ``READS`` reads spread
across ``ROWS`` ids; the rows report the median (p50) and the tail (p99). Reads are sequential
on one connection each, on 127.0.0.1 or a Unix socket: the numbers are round trips plus the work
of the server, no network. A Redis read includes decoding the JSON back into a Product, the
dict read returns the Product itself: that is the real difference between the tiers.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable

import psycopg
import redis
from psycopg.rows import class_row

from katas.kit import Ratio, postgres_database, service

from .cache import Product, decode, encode

ROWS = 500
READS = 2_000
WARMUP = 200


def _latencies(read: Callable[[int], object]) -> tuple[float, float]:
    """(p50, p99) in seconds of ``read(id)`` over READS reads, after WARMUP untimed ones."""
    for i in range(WARMUP):
        read(1 + i % ROWS)
    samples = []
    for i in range(READS):
        product_id = 1 + (i * 7919) % ROWS  # hop around the ids, not one hot row
        start = time.perf_counter_ns()
        read(product_id)
        samples.append((time.perf_counter_ns() - start) / 1e9)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


def bench() -> list[Ratio]:
    products = [Product(i, f"product {i}", 100 + i) for i in range(1, ROWS + 1)]
    with postgres_database() as database, service("redis") as rd:
        prefix = f"bench:redis_cache:{uuid.uuid4().hex[:8]}:"
        client = redis.Redis.from_url(rd.url)
        try:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute(
                    "CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL,"
                    " price_cents integer NOT NULL)"
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO products VALUES (%s, %s, %s)",
                        [(p.id, p.name, p.price_cents) for p in products],
                    )
                client.mset({f"{prefix}{p.id}": encode(p) for p in products})
                local = {p.id: p for p in products}
                select = conn.cursor(row_factory=class_row(Product))

                def from_postgres(product_id: int) -> Product | None:
                    select.execute(
                        "SELECT id, name, price_cents FROM products WHERE id = %s", (product_id,)
                    )
                    return select.fetchone()

                def from_redis(product_id: int) -> Product | None:
                    raw = client.get(f"{prefix}{product_id}")
                    cached = decode(raw) if isinstance(raw, bytes | str) else None
                    return None if cached is None else cached.product

                pg_p50, pg_p99 = _latencies(from_postgres)
                rd_p50, rd_p99 = _latencies(from_redis)
                dict_p50, dict_p99 = _latencies(local.get)
        finally:
            keys = list(client.scan_iter(f"{prefix}*", count=1_000))
            if keys:
                client.delete(*keys)
            client.close()
    base = "PostgreSQL SELECT by primary key"
    return [
        Ratio("p50 read latency", base, "Redis GET + JSON decode", pg_p50, rd_p50, "s"),
        Ratio("p50 read latency", base, "in-process dict", pg_p50, dict_p50, "s"),
        Ratio("p99 read latency", base, "Redis GET + JSON decode", pg_p99, rd_p99, "s"),
        Ratio("p99 read latency", base, "in-process dict", pg_p99, dict_p99, "s"),
    ]
