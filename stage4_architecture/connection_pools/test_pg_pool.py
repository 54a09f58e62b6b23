"""asyncpg pools against the test's own PostgreSQL database, counted from the server's side."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from .conftest import GUARD_S, Admin, rows, server_pids
from .pg_pool import (
    LOST,
    Conn,
    Pool,
    PoolExhausted,
    PoolStats,
    TrackedPool,
    open_pool,
    pool_stats,
    run_transaction,
)

COUNT_MINE = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"


async def opened(pools: list[Pool], url: str, app_name: str, **sizes: int) -> Pool:
    pool = await open_pool(url, app_name=app_name, **sizes)
    pools.append(pool)
    return pool


# ---- task 1: a sized, named pool ---------------------------------------------------------------


@pytest.mark.task(1)
async def test_the_pool_opens_min_size_named_connections(
    postgres_url: str, app_name: str, admin: Admin, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=2, max_size=5)
    assert await admin.fetchval(COUNT_MINE, app_name) == 2
    assert pool_stats(pool) == PoolStats(size=2, idle=2, in_use=0, min_size=2, max_size=5)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_setting('application_name')") == app_name
        assert pool_stats(pool) == PoolStats(size=2, idle=1, in_use=1, min_size=2, max_size=5)
    assert pool_stats(pool) == PoolStats(size=2, idle=2, in_use=0, min_size=2, max_size=5)
    lent = [await pool.acquire() for _ in range(3)]  # a third connection is opened on demand
    await pool.release(lent.pop())
    assert pool_stats(pool) == PoolStats(size=3, idle=1, in_use=2, min_size=2, max_size=5)
    for conn in lent:
        await pool.release(conn)


@pytest.mark.task(1)
async def test_n_concurrent_requests_open_at_most_max_size_connections(
    postgres_url: str, app_name: str, admin: Admin, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=1, max_size=3)
    assert pool_stats(pool).size == 1

    async def request(n: int) -> tuple[int, int]:
        async with pool.acquire() as conn:
            # the server's own count of this pool's connections, while this one is busy
            row = await conn.fetchrow(
                f"SELECT $2::int AS n, ({COUNT_MINE}) AS open FROM pg_sleep(0.02)", app_name, n
            )
            assert row is not None
            return row["n"], row["open"]

    async with asyncio.timeout(GUARD_S):
        answers = await asyncio.gather(*(request(n) for n in range(12)))
    assert [n for n, _ in answers] == list(range(12))
    assert max(open_ for _, open_ in answers) <= 3
    # twelve at once needed all three, and no more: the other nine waited for one to come back
    assert pool_stats(pool) == PoolStats(size=3, idle=3, in_use=0, min_size=1, max_size=3)
    assert await admin.fetchval(COUNT_MINE, app_name) == 3


@pytest.mark.task(1)
async def test_the_pool_keeps_asyncpgs_statement_cache(
    postgres_url: str, app_name: str, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=1, max_size=1)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
        # a cached statement is a named prepared statement on the server
        assert await conn.fetchval("SELECT count(*) FROM pg_prepared_statements") >= 1


# ---- task 2: exhaustion and leaks --------------------------------------------------------------


@pytest.mark.task(2)
async def test_an_exhausted_pool_names_who_holds_the_connections(
    postgres_url: str, app_name: str, pools: list[Pool]
) -> None:
    tracked = TrackedPool(
        await opened(pools, postgres_url, app_name, min_size=0, max_size=3), acquire_timeout=0.2
    )
    leaked = [await tracked.acquire("report"), await tracked.acquire("report")]
    await tracked.acquire("orders")
    assert tracked.holders() == {"report": 2, "orders": 1}

    async with asyncio.timeout(GUARD_S):
        with pytest.raises(PoolExhausted) as caught:
            await tracked.acquire("checkout")
    error = caught.value
    assert (error.max_size, error.timeout) == (3, 0.2)
    assert list(error.holders.items()) == [("report", 2), ("orders", 1)]
    assert "all 3 are held by: report (2), orders (1)" in str(error)
    assert "0.2 s" in str(error)
    assert tracked.holders() == {"report": 2, "orders": 1}  # the failed caller holds nothing

    await tracked.release(leaked[0])
    await tracked.acquire("checkout")
    assert list(tracked.holders().items()) == [("checkout", 1), ("orders", 1), ("report", 1)]


@pytest.mark.task(2)
async def test_holders_are_sorted_by_count_then_name(
    postgres_url: str, app_name: str, pools: list[Pool]
) -> None:
    tracked = TrackedPool(
        await opened(pools, postgres_url, app_name, min_size=0, max_size=6), acquire_timeout=5
    )
    for owner in ("b", "c", "a", "c", "a", "c"):
        await tracked.acquire(owner)
    assert list(tracked.holders().items()) == [("c", 3), ("a", 2), ("b", 1)]


@pytest.mark.task(2)
async def test_a_connection_is_given_back_once_and_only_to_its_pool(
    postgres_url: str, app_name: str, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=0, max_size=2)
    tracked = TrackedPool(pool, acquire_timeout=5)
    conn = await tracked.acquire("handler")
    await tracked.release(conn)
    assert tracked.holders() == {}
    assert pool_stats(pool).in_use == 0
    with pytest.raises(ValueError):
        await tracked.release(conn)

    stranger: Conn = await pool.acquire()  # lent by the pool itself, not by the tracker
    with pytest.raises(ValueError):
        await tracked.release(stranger)
    assert pool_stats(pool).in_use == 1  # the refusal did not give it back
    assert await stranger.fetchval("SELECT 1") == 1
    await pool.release(stranger)


@pytest.mark.task(2)
async def test_the_context_manager_gives_back_even_on_error(
    postgres_url: str, app_name: str, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=0, max_size=1)
    tracked = TrackedPool(pool, acquire_timeout=5)
    with pytest.raises(ZeroDivisionError):
        async with tracked.connection("handler") as conn:
            assert tracked.holders() == {"handler": 1}
            assert await conn.fetchval("SELECT 1") == 1
            raise ZeroDivisionError
    assert tracked.holders() == {}
    assert pool_stats(pool).in_use == 0
    async with tracked.connection("next") as conn:  # the only connection is free again
        assert await conn.fetchval("SELECT 2") == 2
    assert tracked.holders() == {}


# ---- task 4: a pooled connection dies ----------------------------------------------------------


@pytest.fixture
async def orders(admin: Admin) -> str:
    await admin.execute("CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL)")
    return "orders"


class Work:
    """The transaction of a request: insert an order; kill its own connection the first
    ``kills`` times, half-way through, as a failover or a DBA would."""

    def __init__(self, order_id: int, *, kills: int = 0) -> None:
        self.order_id = order_id
        self.kills = kills
        self.calls = 0
        self.pids: list[int] = []

    async def __call__(self, conn: Conn) -> int:
        self.calls += 1
        self.pids.append(conn.get_server_pid())
        await conn.execute("INSERT INTO orders VALUES ($1, 'book')", self.order_id)
        if self.calls <= self.kills:
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return self.order_id


@pytest.mark.task(4)
async def test_a_connection_killed_mid_transaction_is_retried_and_nothing_doubles(
    postgres_url: str, app_name: str, admin: Admin, orders: str, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=1, max_size=2)
    work = Work(7, kills=1)
    async with asyncio.timeout(GUARD_S):
        assert await run_transaction(pool, work) == 7
    assert work.calls == 2
    assert work.pids[0] != work.pids[1]  # the second run had a fresh connection
    # the first run's insert died with its transaction: one order, not two and not none
    assert await rows(admin, "SELECT id, item FROM orders") == [(7, "book")]
    assert pool_stats(pool).size <= 2


@pytest.mark.task(4)
async def test_killed_idle_connections_fail_no_request(
    postgres_url: str, app_name: str, admin: Admin, orders: str, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=2, max_size=2)
    before = await server_pids(admin, app_name)
    assert len(before) == 2
    killed = await admin.fetchval(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = $1",
        app_name,
    )
    assert killed == 2
    works = [Work(n) for n in range(10)]
    async with asyncio.timeout(GUARD_S):
        done = await asyncio.gather(*(run_transaction(pool, w, attempts=3) for w in works))
    assert done == list(range(10))
    assert await rows(admin, "SELECT id FROM orders ORDER BY id") == [(n,) for n in range(10)]
    after = await server_pids(admin, app_name)
    assert after and not after & before  # the pool replaced both dead connections


@pytest.mark.task(4)
async def test_other_errors_are_not_retried(
    postgres_url: str, app_name: str, admin: Admin, orders: str, pools: list[Pool]
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=1, max_size=2)
    await admin.execute("INSERT INTO orders VALUES (3, 'pen')")
    work = Work(3)
    with pytest.raises(asyncpg.UniqueViolationError):
        await run_transaction(pool, work, attempts=3)
    assert work.calls == 1  # a bug or a conflict does not go away by trying again
    assert await rows(admin, "SELECT id, item FROM orders") == [(3, "pen")]


@pytest.mark.task(4)
@pytest.mark.parametrize("attempts", [1, 2, None])
async def test_it_gives_up_after_the_last_attempt(
    postgres_url: str,
    app_name: str,
    admin: Admin,
    orders: str,
    pools: list[Pool],
    attempts: int | None,
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=1, max_size=2)
    work = Work(5, kills=99)
    async with asyncio.timeout(GUARD_S):
        with pytest.raises(LOST):
            if attempts is None:
                await run_transaction(pool, work)
            else:
                await run_transaction(pool, work, attempts=attempts)
    assert work.calls == (3 if attempts is None else attempts)
    assert await rows(admin, "SELECT id FROM orders") == []
    async with pool.acquire() as conn:  # and the pool still works
        assert await conn.fetchval("SELECT 1") == 1


@pytest.mark.task(4)
@pytest.mark.parametrize("attempts", [0, -1])
async def test_fewer_than_one_attempt_is_refused(
    postgres_url: str, app_name: str, pools: list[Pool], attempts: int
) -> None:
    pool = await opened(pools, postgres_url, app_name, min_size=0, max_size=1)
    work = Work(1)
    with pytest.raises(ValueError):
        await run_transaction(pool, work, attempts=attempts)
    assert work.calls == 0
