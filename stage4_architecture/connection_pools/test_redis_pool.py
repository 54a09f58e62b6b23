"""redis.asyncio pools against a real Redis: CLIENT LIST is the server's count of connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from .conftest import GUARD_S, until
from .redis_pool import redis_pool


async def named(admin: aioredis.Redis, name: str) -> list[dict[str, str]]:
    """This test's connections, as the server lists them."""
    return [c for c in await admin.client_list() if c.get("name") == name]


async def hold(pool: ConnectionPool) -> AbstractConnection:
    """Take a connection out of the pool, as a long command would."""
    conn: AbstractConnection = await pool.get_connection()  # type: ignore[no-untyped-call]
    return conn


@pytest.fixture
async def opened() -> AsyncIterator[list[ConnectionPool]]:
    pools: list[ConnectionPool] = []
    yield pools
    for pool in pools:
        await pool.aclose()


@pytest.mark.task(5)
async def test_a_blocking_pool_queues_commands_beyond_its_size(
    redis_url: str, redis_admin: aioredis.Redis, unique_name: str, opened: list[ConnectionPool]
) -> None:
    pool = redis_pool(redis_url, name=unique_name, max_connections=3, timeout=GUARD_S)
    opened.append(pool)
    client = aioredis.Redis(connection_pool=pool)
    jobs = f"{unique_name}:jobs"

    # ten consumers each hold a connection while BLPOP waits: only three can, seven wait
    async def consume() -> str:
        popped = await client.blpop([jobs], timeout=GUARD_S)
        assert popped is not None
        value = popped[1]
        return value.decode() if isinstance(value, bytes) else value

    consumers = [asyncio.create_task(consume()) for _ in range(10)]

    async def three_blocked() -> bool:
        return sum(c["cmd"] == "blpop" for c in await named(redis_admin, unique_name)) == 3

    await until(three_blocked, "three BLPOPs on the server")
    assert len(await named(redis_admin, unique_name)) == 3
    await redis_admin.rpush(jobs, *[f"job-{n}" for n in range(10)])
    async with asyncio.timeout(GUARD_S):
        popped = await asyncio.gather(*consumers)
    assert sorted(popped) == sorted(f"job-{n}" for n in range(10))
    assert len(await named(redis_admin, unique_name)) == 3  # served by the same three
    await client.aclose()


@pytest.mark.task(5)
async def test_a_blocking_pool_waits_then_fails_with_a_clear_error(
    redis_url: str, redis_admin: aioredis.Redis, unique_name: str, opened: list[ConnectionPool]
) -> None:
    pool = redis_pool(redis_url, name=unique_name, max_connections=2, timeout=0.2)
    opened.append(pool)
    client = aioredis.Redis(connection_pool=pool)
    held = [await hold(pool), await hold(pool)]
    assert len(await named(redis_admin, unique_name)) == 2
    async with asyncio.timeout(5):  # well past 0.2 s, well before redis-py's default of 20 s
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
    await pool.release(held.pop())
    assert await client.ping() is True
    assert len(await named(redis_admin, unique_name)) == 2
    await pool.release(held.pop())
    await client.aclose()


@pytest.mark.task(5)
async def test_a_non_blocking_pool_fails_at_once(
    redis_url: str, redis_admin: aioredis.Redis, unique_name: str, opened: list[ConnectionPool]
) -> None:
    pool = redis_pool(redis_url, name=unique_name, max_connections=2, blocking=False)
    opened.append(pool)
    client = aioredis.Redis(connection_pool=pool)
    held = [await hold(pool), await hold(pool)]
    async with asyncio.timeout(GUARD_S):
        with pytest.raises(RedisConnectionError, match="Too many connections"):
            await client.ping()
    assert len(await named(redis_admin, unique_name)) == 2
    for conn in held:
        await pool.release(conn)
    assert await client.ping() is True
    await client.aclose()


@pytest.mark.task(5)
async def test_killed_connections_are_replaced_and_no_command_fails(
    redis_url: str, redis_admin: aioredis.Redis, unique_name: str, opened: list[ConnectionPool]
) -> None:
    pool = redis_pool(redis_url, name=unique_name, max_connections=2)
    opened.append(pool)
    client = aioredis.Redis(connection_pool=pool)
    key = f"{unique_name}:hits"
    assert sorted(await asyncio.gather(client.incr(key), client.incr(key))) == [1, 2]
    before = {c["id"] for c in await named(redis_admin, unique_name)}
    assert len(before) == 2
    for client_id in before:  # the server drops them, as a restart or a failover would
        assert await redis_admin.client_kill_filter(_id=client_id) == 1
    async with asyncio.timeout(GUARD_S):
        counts = await asyncio.gather(*(client.incr(key) for _ in range(8)))
    assert sorted(counts) == list(range(3, 11))  # every increment landed, exactly once
    after = {c["id"] for c in await named(redis_admin, unique_name)}
    assert after and not after & before
    await client.aclose()
