"""Async SQLAlchemy kata: every test gets its own database (``postgres_url``) and engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, make_url, select, text
from sqlalchemy.exc import IntegrityError, MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool

from .queries import (
    Account,
    Post,
    User,
    create_schema,
    make_engine,
    make_sessionmaker,
    post_counts,
    transfer,
    users_lazily,
    users_named,
    users_with_posts,
)


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(postgres_url)
    await create_schema(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


async def seed_users(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        session.add_all(
            [
                User(name="Alice", posts=[Post(title="Hello"), Post(title="Async IO")]),
                User(name="Bob", posts=[Post(title="Greenlets")]),
                User(name="Alice", posts=[]),
                User(name="Carol", posts=[Post(title=f"Note {i}") for i in range(3)]),
            ]
        )


class StatementCounter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self.record)

    def record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


@pytest.mark.task(1)
async def test_engine_runs_on_asyncpg(postgres_url: str, engine: AsyncEngine) -> None:
    assert engine.dialect.driver == "asyncpg", "postgresql+asyncpg: the asyncio driver"
    assert engine.url.database == make_url(postgres_url).database, "the same database"
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


@pytest.mark.task(1)
async def test_engine_keeps_every_part_of_the_url() -> None:
    url = "postgresql://kata:p%40ss%3Aw0rd%2F%3F@db.example.com:6543/shop?application_name=katas"
    engine = make_engine(url)  # creating an engine connects to nothing yet
    try:
        assert engine.url.drivername == "postgresql+asyncpg"
        assert (
            engine.url.username,
            engine.url.password,
            engine.url.host,
            engine.url.port,
            engine.url.database,
            dict(engine.url.query),
        ) == (
            "kata",
            "p@ss:w0rd/?",
            "db.example.com",
            6543,
            "shop",
            {"application_name": "katas"},
        ), (
            "only the driver changes: user, password (str(url) would mask it as ***), host, port, "
            "database and query stay as they were"
        )
    finally:
        await engine.dispose()
    engine = make_engine("postgresql+psycopg://kata@db.example.com/shop")
    try:
        assert engine.dialect.driver == "asyncpg", "a URL naming another driver gets asyncpg too"
        assert engine.url.database == "shop"
    finally:
        await engine.dispose()


@pytest.mark.task(2)
async def test_sessions_come_from_an_async_sessionmaker_bound_to_the_engine(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert isinstance(sessionmaker, async_sessionmaker)
    async with sessionmaker() as session:
        assert isinstance(session, AsyncSession)
        assert session.bind is engine, "the sessions use the engine they were made for"


@pytest.mark.task(2)
async def test_objects_survive_commit(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        alice = User(name="Alice")
        session.add(alice)
        await session.commit()
        try:
            name, user_id = alice.name, alice.id
        except MissingGreenlet:
            pytest.fail(
                "after commit the attributes were expired, and reloading them is implicit IO "
                "that asyncio forbids: make the sessionmaker with expire_on_commit=False"
            )
    assert (name, user_id) == ("Alice", 1)


@pytest.mark.task(3)
async def test_the_articles_query_returns_user_objects(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_users(sessionmaker)
    async with AsyncSession(engine) as session:  # exactly as in the article
        alices = await users_named(session, "Alice")
        nobody = await users_named(session, "Nobody")
    assert all(isinstance(user, User) for user in alices), (
        "result.scalars() yields the User objects; result.all() would yield Row tuples"
    )
    assert [(user.id, user.name) for user in alices] == [(1, "Alice"), (3, "Alice")]
    assert nobody == []


@pytest.mark.task(3)
async def test_users_named_matches_the_whole_name_ordered_by_id(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed_users(sessionmaker)
    async with sessionmaker() as session, session.begin():
        # Stored in this order, so a query without ORDER BY returns 10 before 7.
        session.add_all([User(id=10, name="Dora"), User(id=7, name="Dora")])
    async with sessionmaker() as session:
        doras = await users_named(session, "Dora")
        assert [user.id for user in doras] == [7, 10], "ordered by id, not as stored"
        assert await users_named(session, "alice") == [], "== compares exactly (no ILIKE)"
        assert await users_named(session, "Ali") == [], "== compares the whole name"


@pytest.mark.task(4)
async def test_eager_loading_avoids_the_lazy_load_that_async_forbids(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_users(sessionmaker)
    async with sessionmaker() as session:
        naive = await users_lazily(session)
        with pytest.raises(MissingGreenlet):
            _ = naive[0].posts  # a lazy load is a blocking query: not allowed under asyncio

    counter = StatementCounter(engine)
    async with sessionmaker() as session:
        users = await users_with_posts(session)
    posts = {user.name + str(user.id): [post.title for post in user.posts] for user in users}
    assert posts == {
        "Alice1": ["Hello", "Async IO"],
        "Alice3": [],
        "Bob2": ["Greenlets"],
        "Carol4": ["Note 0", "Note 1", "Note 2"],
    }, "every user's posts, loaded before the session closed"
    assert [user.name for user in users] == ["Alice", "Alice", "Bob", "Carol"], "by name"
    assert len(counter.statements) <= 2, (
        f"eager loading is one query for the users and one for all their posts, not 1 + N: "
        f"{len(counter.statements)} statements"
    )


async def lock_waiters(conn: AsyncConnection) -> int:
    """How many sessions of this database are waiting for a lock right now."""
    await conn.execute(text("SELECT pg_stat_clear_snapshot()"))  # stats are cached per transaction
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(await conn.scalar(query) or 0)


@pytest.mark.task(5)
async def test_parallel_sessions_each_check_out_their_own_connection(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_users(sessionmaker)
    async with engine.connect() as locker:
        # Hold the posts table: every count query blocks on it, so those in flight pile up.
        await locker.execute(text("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE"))
        in_use = peak = 0

        def checkout(*_: Any) -> None:
            nonlocal in_use, peak
            in_use += 1
            peak = max(peak, in_use)

        def checkin(*_: Any) -> None:
            nonlocal in_use
            in_use -= 1

        event.listen(engine.sync_engine.pool, "checkout", checkout)
        event.listen(engine.sync_engine.pool, "checkin", checkin)
        counting = asyncio.create_task(post_counts(sessionmaker, [1, 2, 3, 4, 5]))
        waiting = 0
        for _ in range(100):  # up to ~5 s: all five queries should be waiting at once
            waiting = max(waiting, await lock_waiters(locker))
            if waiting == 5 or counting.done():
                break
            await asyncio.sleep(0.05)
        await locker.rollback()  # release the lock
    counts = await counting
    assert counts == {1: 2, 2: 1, 3: 0, 4: 3, 5: 0}, "posts per user id (5 has none)"
    assert waiting == 5, (
        f"the five queries should be in flight together, {waiting} were: one session per task, "
        "all tasks started at once (TaskGroup / gather), not one after another"
    )
    assert peak == 5, f"each session checks out its own pooled connection: peak {peak}, want 5"
    pool = engine.sync_engine.pool
    assert isinstance(pool, AsyncAdaptedQueuePool)
    assert pool.checkedout() == 0, "every session closed: every connection back in the pool"


class CountFailed(Exception):
    pass


@pytest.mark.task(5)
async def test_one_failing_count_cancels_the_others(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_users(sessionmaker)

    def fail_for_user_99(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "posts" in statement and 99 in tuple(parameters or ()):
            raise CountFailed("the count for user 99 failed")

    event.listen(engine.sync_engine, "before_cursor_execute", fail_for_user_99)
    async with engine.connect() as locker:
        # Hold the posts table: the other counts cannot finish while the one for 99 fails.
        await locker.execute(text("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE"))
        before = asyncio.all_tasks()
        try:
            with pytest.raises(Exception) as raised:  # a group (TaskGroup) or the error itself
                await post_counts(sessionmaker, [1, 2, 3, 99])
            left = {task for task in asyncio.all_tasks() - before if not task.done()}
            assert not left, (
                f"a count failed and {len(left)} others kept running: when one task fails the "
                "others must be cancelled before the error propagates (asyncio.TaskGroup does "
                "it; a bare gather leaves them running)"
            )
        finally:
            await locker.rollback()  # release the lock
            leftovers = asyncio.all_tasks() - before - {asyncio.current_task()}
            await asyncio.gather(*leftovers, return_exceptions=True)
    errors = (
        list(raised.value.exceptions)
        if isinstance(raised.value, BaseExceptionGroup)
        else [raised.value]
    )
    assert any(isinstance(error, CountFailed) for error in errors), (
        f"the failed count's error should propagate: {errors!r}"
    )


async def balances(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session:
        rows = await session.execute(select(Account.owner, Account.balance))
        return {owner: balance for owner, balance in rows.all()}


async def open_accounts(sessionmaker: async_sessionmaker[AsyncSession], bob: int) -> None:
    async with sessionmaker() as session, session.begin():
        session.add_all(
            [Account(id=1, owner="alice", balance=500), Account(id=2, owner="bob", balance=bob)]
        )


@pytest.mark.task(6)
async def test_transfer_moves_money_or_raises(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await open_accounts(sessionmaker, bob=100)
    await transfer(sessionmaker, 1, 2, 200)
    assert await balances(sessionmaker) == {"alice": 300, "bob": 300}
    with pytest.raises(IntegrityError, match="balance_in_range"):
        await transfer(sessionmaker, 1, 2, 301)  # alice would go below zero
    assert await balances(sessionmaker) == {"alice": 300, "bob": 300}, (
        "the CHECK constraint refused the overdraft: nothing changed"
    )


@pytest.mark.task(6)
async def test_a_transfer_failing_halfway_changes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await open_accounts(sessionmaker, bob=999_950)
    with pytest.raises(IntegrityError, match="balance_in_range"):
        await transfer(sessionmaker, 1, 2, 100)  # the debit is fine, the credit breaks the cap
    assert await balances(sessionmaker) == {"alice": 500, "bob": 999_950}, (
        "alice's debit was rolled back with bob's failed credit: one transaction, all or nothing"
    )
    with pytest.raises(LookupError):
        await transfer(sessionmaker, 1, 99, 100)
    assert await balances(sessionmaker) == {"alice": 500, "bob": 999_950}, "no account 99"
    with pytest.raises(LookupError):
        await transfer(sessionmaker, 99, 1, 100)
    assert await balances(sessionmaker) == {"alice": 500, "bob": 999_950}, "no account 99"
    with pytest.raises(LookupError):  # not IntegrityError: the accounts are checked first
        await transfer(sessionmaker, 1, 99, 501)
    assert await balances(sessionmaker) == {"alice": 500, "bob": 999_950}, "no account 99"


@pytest.mark.task(6)
async def test_a_transfer_may_empty_an_account_or_fill_it_to_the_cap(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await open_accounts(sessionmaker, bob=999_500)
    await transfer(sessionmaker, 1, 2, 500)
    assert await balances(sessionmaker) == {"alice": 0, "bob": 1_000_000}, (
        "0 and the cap are both allowed (BETWEEN is inclusive): leave the range check to the "
        "database, whose CHECK raises IntegrityError"
    )


@pytest.mark.task(6)
async def test_concurrent_transfers_lose_no_update(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await open_accounts(sessionmaker, bob=0)
    await asyncio.gather(*(transfer(sessionmaker, 1, 2, 10) for _ in range(10)))
    assert await balances(sessionmaker) == {"alice": 400, "bob": 100}, (
        "ten transfers of 10 at once: read-modify-write without a row lock lets them overwrite "
        "each other's balance (lost updates); SELECT ... FOR UPDATE serialises them"
    )


@pytest.mark.task(6)
async def test_opposite_transfers_lock_in_id_order_and_never_deadlock(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await open_accounts(sessionmaker, bob=500)
    async with engine.connect() as locker:
        # Hold account 1, so both transfers queue up behind it, each at its first lock.
        await locker.execute(text("SELECT id FROM accounts WHERE id = 1 FOR UPDATE"))
        to_bob = asyncio.create_task(transfer(sessionmaker, 1, 2, 10))
        waiting = 0
        for _ in range(100):  # up to ~5 s, until the first transfer waits
            waiting = await lock_waiters(locker)
            if waiting == 1 or to_bob.done():
                break
            await asyncio.sleep(0.05)
        to_alice = asyncio.create_task(transfer(sessionmaker, 2, 1, 20))
        for _ in range(100):  # and the second
            waiting = await lock_waiters(locker)
            if waiting == 2 or to_alice.done():
                break
            await asyncio.sleep(0.05)
        await locker.rollback()  # release account 1
    results = list(await asyncio.gather(to_bob, to_alice, return_exceptions=True))
    assert waiting == 2, f"both transfers should have been waiting for account 1, {waiting} were"
    assert results == [None, None], (
        "2 → 1 took account 2 first, then waited for 1 while 1 → 2 held 1 and waited for 2: a "
        f"deadlock ({results}); lock both rows in id order, in one SELECT ... ORDER BY id FOR UPDATE"
    )
    assert await balances(sessionmaker) == {"alice": 510, "bob": 490}


@pytest.mark.task(6)
async def test_a_waiting_transfer_holds_no_lock_on_the_higher_id(
    postgres_url: str, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await open_accounts(sessionmaker, bob=500)
    async with engine.begin() as conn:
        # Rewrite account 1, so its row lies after account 2's, and ANALYZE, so the planner
        # reads the two-row table in storage order (a Seq Scan) rather than by the primary key.
        await conn.execute(text("UPDATE accounts SET balance = balance WHERE id = 1"))
        await conn.execute(text("ANALYZE accounts"))
    async with engine.connect() as locker:
        await locker.execute(text("SELECT id FROM accounts WHERE id = 1 FOR UPDATE"))
        moving = asyncio.create_task(transfer(sessionmaker, 1, 2, 10))
        waiting = 0
        for _ in range(100):  # up to ~5 s, until the transfer waits for account 1
            waiting = await lock_waiters(locker)
            if waiting == 1 or moving.done():
                break
            await asyncio.sleep(0.05)
        try:
            assert waiting == 1, "the transfer should wait for account 1, which is locked"
            async with await psycopg.AsyncConnection.connect(postgres_url) as probe:
                try:
                    await probe.execute("SELECT id FROM accounts WHERE id = 2 FOR UPDATE NOWAIT")
                except psycopg.errors.LockNotAvailable:
                    pytest.fail(
                        "while waiting for account 1 the transfer already held account 2: rows "
                        "come back in storage order unless the locking SELECT has ORDER BY id"
                    )
        finally:
            await locker.rollback()  # release account 1
            await asyncio.gather(moving, return_exceptions=True)
    await moving
    assert await balances(sessionmaker) == {"alice": 490, "bob": 510}
