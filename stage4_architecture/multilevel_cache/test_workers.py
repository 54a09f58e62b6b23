"""Worker processes: real uvicorn servers, each with its own L1, on one Redis and one database.

A read is held open in the database by locking ``product_reads`` (every read inserts into it), so
two processes reading a cold key meet on cue; a subscription is dropped with CLIENT KILL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from .conftest import GUARD_S, MISSING, Worker, kill_subscriptions, until, waiting_on_locks
from .store import ProductStore

StartWorkers = Callable[..., Awaitable[list[Worker]]]

HOSTILE: list[tuple[str, str, Any]] = [
    ("GET", "/products/abc", None),
    ("GET", "/products/0", None),
    ("GET", "/products/-1", None),
    ("GET", "/products/2147483648", None),
    ("PUT", "/products/2147483648/price", {"price_cents": 1}),
    ("PUT", "/products/1/price", b"{not json"),
    ("PUT", "/products/1/price", []),
    ("PUT", "/products/1/price", {}),
    ("PUT", "/products/1/price", {"price_cents": "12"}),
    ("PUT", "/products/1/price", {"price_cents": 1.5}),
    ("PUT", "/products/1/price", {"price_cents": True}),
    ("PUT", "/products/1/price", {"price_cents": -1}),
    ("PUT", "/products/1/price", {"price_cents": 2147483648}),
    ("PUT", "/products/1/price", {"price_cents": 5, "currency": "EUR"}),
]


@pytest.mark.task(9)
async def test_the_worker_serves_writes_and_refuses_hostile_input(
    workers: StartWorkers, audit: ProductStore
) -> None:
    [worker] = await workers(1)
    response = await worker.client.get("/products/1")
    assert (response.status_code, response.json()) == (
        200,
        {"id": 1, "name": "kettle", "price_cents": 2999},
    )
    for method, path, body in HOSTILE:
        if isinstance(body, bytes):
            response = await worker.client.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
        else:
            response = await worker.client.request(method, path, json=body)
        assert response.status_code == 422, (method, path, body, response.text)
        assert response.json()["detail"], (method, path, body)
    assert await worker.price(1) == 2999
    response = await worker.client.get("/products/2147483647")  # the largest id is a fair miss
    assert response.status_code == 404
    response = await worker.client.get(f"/products/{MISSING}")
    assert response.status_code == 404
    assert str(MISSING) in response.json()["detail"]
    response = await worker.client.put("/products/1/price", json={"price_cents": 0})
    assert (response.status_code, response.content) == (204, b"")
    assert await worker.price(1) == 0
    response = await worker.client.put(f"/products/{MISSING}/price", json={"price_cents": 5})
    assert response.status_code == 404
    assert str(MISSING) in response.json()["detail"]
    assert await audit.reads(MISSING) == 1  # the second 404 came from the negative entry


@pytest.mark.task(7)
async def test_writes_reach_the_other_workers_l1_even_past_a_dropped_subscription(
    workers: StartWorkers, audit: ProductStore, admin: Redis
) -> None:
    writer, reader = await workers(2, l1_ttl="300")
    for worker in (writer, reader):
        assert await worker.price(1) == 2999
        assert await worker.price(1) == 2999
    assert (await reader.stats())["l1_hits"] == 1
    response = await writer.client.put("/products/1/price", json={"price_cents": 2_500})
    assert response.status_code == 204
    assert await writer.price(1) == 2_500  # its own L1 was dropped before it answered

    async def reader_sees(price: int) -> bool:
        return await reader.price(1) == price

    await until(lambda: reader_sees(2_500), "the other worker to serve the new price")
    assert (await reader.stats())["invalidations"] >= 1

    assert await kill_subscriptions(admin, reader.client_name) == 1
    # A write whose invalidation was lost while the reader was away: nothing is published.
    await audit.set_price(1, 2_600)
    await admin.delete(f"{reader.prefix}product:1")
    await until(lambda: reader_sees(2_600), "the reader to stop serving the old price")
    assert (await reader.stats())["subscriptions"] >= 2


@pytest.mark.task(5)
async def test_two_workers_reading_one_cold_key_read_the_database_once(
    workers: StartWorkers, audit: ProductStore
) -> None:
    first, second = await workers(2, lock_ttl="60", lock_wait="60")
    async with audit.conn.transaction():
        # every read inserts into product_reads: this holds each one open until the commit
        await audit.conn.execute("LOCK TABLE product_reads IN EXCLUSIVE MODE")
        loading = asyncio.create_task(first.price(3))

        async def first_is_reading() -> bool:
            return await waiting_on_locks(audit) == 1

        await until(first_is_reading, "the first worker's read to reach the database")
        waiting = asyncio.create_task(second.price(3))

        async def second_missed_l2() -> bool:
            return bool((await second.stats())["l2_misses"] == 1)

        await until(second_missed_l2, "the second worker to miss L2")
    async with asyncio.timeout(GUARD_S):
        assert tuple(await asyncio.gather(loading, waiting)) == (650, 650)
    assert await audit.reads(3) == 1
    assert ((await first.stats())["loads"], (await second.stats())["loads"]) == (1, 0)
