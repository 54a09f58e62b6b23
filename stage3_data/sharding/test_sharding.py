"""Sharding kata: partitions inside one PostgreSQL, shards across databases, a consistent-hash ring.

Each test makes its own databases (``postgres_url``, ``make_postgres_database``), so tests can run
alone or in any order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, create_engine, event, func, make_url, or_, select, text
from sqlalchemy.ext.horizontal_shard import ShardedSession
from sqlalchemy.orm import sessionmaker

from .partitions import create_partitioned_tables, explain, scanned_relations
from .ring import HashRing, modulo_shard, stable_hash
from .shards import (
    Base,
    Order,
    count_orders,
    shard_of,
    sharded_sessionmaker,
    top_orders,
    user_ids_in,
)

MONTHS = [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
SHARDS = ["shard_a", "shard_b", "shard_c"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]


@pytest.fixture
def conn(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        yield connection


# --- 分表: declarative partitioning inside one database --------------------------------------


@pytest.mark.task(1)
def test_range_partitions_hold_each_month_and_a_default(conn: psycopg.Connection[Any]) -> None:
    create_partitioned_tables(conn, MONTHS)
    rows = [
        (1, utc(2024, 1, 1), "first instant of January"),
        (1, utc(2024, 1, 31, 23, 59, 59), "last second of January"),
        (2, utc(2024, 2, 1), "first instant of February"),
        (2, utc(2024, 2, 29, 12), "leap day"),
        (3, utc(2024, 3, 31, 23, 59, 59), "end of March"),
        (3, utc(2023, 12, 31, 23, 59, 59), "before the first partition"),
        (4, utc(2024, 4, 1), "after the last partition"),
    ]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO events (user_id, created_at, kind) VALUES (%s, %s, %s)", rows)
    placed = dict(conn.execute("SELECT kind, tableoid::regclass::text FROM events").fetchall())
    assert placed == {
        "first instant of January": "events_2024_01",
        "last second of January": "events_2024_01",
        "first instant of February": "events_2024_02",
        "leap day": "events_2024_02",
        "end of March": "events_2024_03",
        "before the first partition": "events_default",
        "after the last partition": "events_default",
    }, "range bounds are FROM (inclusive) TO (exclusive) the next month; the rest goes to DEFAULT"
    kinds = dict(
        conn.execute(
            "SELECT c.relname, p.partstrat FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid"
        ).fetchall()
    )
    assert kinds == {"events": "r", "orders": "h"}, "events by RANGE, orders by HASH"


@pytest.mark.task(1)
def test_columns_have_the_documented_types(conn: psycopg.Connection[Any]) -> None:
    create_partitioned_tables(conn, MONTHS)
    columns = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name IN ('events', 'orders') ORDER BY table_name, ordinal_position"
    ).fetchall()
    assert columns == [
        ("events", "id", "bigint"),
        ("events", "user_id", "bigint"),
        ("events", "created_at", "timestamp with time zone"),
        ("events", "kind", "text"),
        ("orders", "id", "bigint"),
        ("orders", "user_id", "bigint"),
        ("orders", "amount", "integer"),
    ], "the columns the docstring names: bigint user ids, a timestamptz (instants, in UTC)"
    big = 2**40  # a user id past the 32-bit range: bigint holds it, int would refuse it
    conn.execute(
        "INSERT INTO events (user_id, created_at, kind) VALUES (%s, %s, 'big')",
        (big, utc(2024, 2, 2)),
    )
    conn.execute("INSERT INTO orders (user_id, amount) VALUES (%s, 1)", (big,))
    assert conn.execute("SELECT user_id FROM orders").fetchall() == [(big,)]


def composed_parts(query: object) -> Iterator[object]:
    """``query`` and, when it is a psycopg.sql.Composed, every part inside it, at any depth."""
    yield query
    if isinstance(query, sql.Composed):
        for part in query:
            yield from composed_parts(part)


@pytest.mark.task(1)
def test_partition_bounds_are_composed_with_psycopg_sql(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []
    for cls in (psycopg.Connection, psycopg.Cursor):
        original = cls.execute

        def record(self: Any, query: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
            sent.append(query)
            return _original(self, query, *args, **kw)

        monkeypatch.setattr(cls, "execute", record)
    create_partitioned_tables(conn, MONTHS)
    monkeypatch.undo()
    bounded = [q for q in sent if "FOR VALUES" in (q if isinstance(q, str) else q.as_string(conn))]
    assert len(bounded) >= len(MONTHS) + 4, "a statement per monthly and per hash partition"
    for query in bounded:
        assert isinstance(query, sql.Composable), (
            f"compose the partition DDL with psycopg.sql, not by formatting a string: {query!r}"
        )
        assert any(isinstance(part, sql.Literal) for part in composed_parts(query)), (
            f"the bounds (and the modulus, the remainder) are sql.Literal values: {query!r}"
        )


@pytest.mark.task(1)
def test_a_one_month_query_scans_one_partition(conn: psycopg.Connection[Any]) -> None:
    create_partitioned_tables(conn, MONTHS)
    february = (utc(2024, 2, 1), utc(2024, 3, 1))
    one_month = explain(
        conn, "SELECT count(*) FROM events WHERE created_at >= %s AND created_at < %s", february
    )
    assert scanned_relations(one_month) == ["events_2024_02"], (
        "partition pruning: a condition on the partition key lets the planner skip the other "
        f"partitions entirely; plan was {json.dumps(one_month)[:400]}"
    )
    everything = explain(conn, "SELECT * FROM events ORDER BY created_at")
    assert sorted(scanned_relations(everything)) == [
        "events_2024_01",
        "events_2024_02",
        "events_2024_03",
        "events_default",
    ], "with no condition on created_at every partition is read"
    wrapped = explain(
        conn, "SELECT count(*) FROM events WHERE date_trunc('month', created_at) = %s", february[:1]
    )
    assert len(scanned_relations(wrapped)) == 4, (
        "a function around the partition key hides it from the planner: no pruning"
    )


@pytest.mark.task(1)
def test_hash_partitions_keep_each_user_together(conn: psycopg.Connection[Any]) -> None:
    create_partitioned_tables(conn, MONTHS)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO orders (user_id, amount) VALUES (%s, %s)",
            [(user_id, n) for user_id in range(1, 201) for n in range(3)],
        )
    homes = conn.execute(
        "SELECT user_id, array_agg(DISTINCT tableoid::regclass::text) FROM orders GROUP BY user_id"
    ).fetchall()
    assert all(len(partitions) == 1 for _, partitions in homes), "a user's rows share a partition"
    sizes = Counter(partitions[0] for _, partitions in homes)
    assert sorted(sizes) == ["orders_p0", "orders_p1", "orders_p2", "orders_p3"], (
        "MODULUS 4 with REMAINDER 0..3: four partitions, each holding some users"
    )
    assert all(30 <= size <= 70 for size in sizes.values()), f"hashing spreads users: {sizes}"
    misplaced = conn.execute(
        "SELECT count(*) FROM orders o JOIN pg_class c ON c.oid = o.tableoid "
        "WHERE NOT satisfies_hash_partition('orders'::regclass, 4, "
        "right(c.relname, 1)::int, o.user_id)"
    ).fetchone()
    assert misplaced == (0,), "orders_pN holds exactly the users whose hash has remainder N"
    home_of_42 = dict(homes)[42][0]
    plan = explain(conn, "SELECT * FROM orders WHERE user_id = %s", [42])
    assert scanned_relations(plan) == [home_of_42], "user_id = 42 prunes to 42's own partition"


@pytest.mark.task(2)
def test_scanned_relations_walks_every_level_of_the_plan() -> None:
    plan = [
        {
            "Plan": {
                "Node Type": "Sort",
                "Plans": [
                    {
                        "Node Type": "Append",
                        "Plans": [
                            {"Node Type": "Seq Scan", "Relation Name": "events_2024_01"},
                            {
                                "Node Type": "Bitmap Heap Scan",
                                "Relation Name": "events_2024_02",
                                "Plans": [
                                    {"Node Type": "Bitmap Index Scan", "Index Name": "ev2_pkey"}
                                ],
                            },
                            {
                                "Node Type": "Subquery Scan",
                                "Plans": [
                                    {"Node Type": "Seq Scan", "Relation Name": "events_default"}
                                ],
                            },
                            {"Node Type": "Seq Scan", "Relation Name": "events_2024_03"},
                        ],
                    }
                ],
            }
        }
    ]
    assert scanned_relations(plan) == [
        "events_2024_01",
        "events_2024_02",
        "events_default",
        "events_2024_03",
    ], "scans sit at any depth under 'Plans'; report them in plan order (depth first)"
    assert scanned_relations([{"Plan": {"Node Type": "Result"}}]) == [], "SELECT 1 reads no table"
    self_join = {
        "Node Type": "Nested Loop",
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "orders_p1", "Alias": "a"},
            {"Node Type": "Seq Scan", "Relation Name": "orders_p1", "Alias": "b"},
        ],
    }
    assert scanned_relations([{"Plan": self_join}]) == ["orders_p1", "orders_p1"], (
        "every scan node counts: a table read twice (a self-join) is listed twice"
    )


# --- 分库: shards in separate databases, routed by user id -----------------------------------


@pytest.fixture
def shard_engines(make_postgres_database: Callable[[], str]) -> Iterator[dict[str, Engine]]:
    engines = {
        name: create_engine(make_url(make_postgres_database()).set(drivername="postgresql+psycopg"))
        for name in SHARDS
    }
    for engine in engines.values():
        Base.metadata.create_all(engine)
    yield engines
    for engine in engines.values():
        engine.dispose()


class StatementLog:
    """Which shard ran which SQL, from each engine's before_cursor_execute event."""

    def __init__(self, engines: dict[str, Engine]) -> None:
        self.entries: list[tuple[str, str]] = []
        for name, engine in engines.items():
            event.listen(engine, "before_cursor_execute", self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                self.entries.append((name, statement))

        return record

    def shards(self) -> list[str]:
        return sorted({name for name, _ in self.entries})

    def clear(self) -> None:
        self.entries.clear()


def seed(session_factory: sessionmaker[ShardedSession], users: range, per_user: int) -> None:
    with session_factory() as session:
        session.add_all(
            Order(user_id=u, order_no=n, amount=(u * 37 + n * 11) % 1000)
            for u in users
            for n in range(per_user)
        )
        session.commit()


@pytest.mark.task(8)
def test_writes_land_on_each_users_shard(shard_engines: dict[str, Engine]) -> None:
    ring = HashRing(SHARDS)
    seed(sharded_sessionmaker(shard_engines, ring), range(1, 31), per_user=2)
    stored: dict[int, set[str]] = {}
    for name, engine in shard_engines.items():
        with engine.connect() as raw:
            for (user_id,) in raw.execute(text("SELECT user_id FROM orders")):
                stored.setdefault(user_id, set()).add(name)
    assert stored == {u: {shard_of(ring, u)} for u in range(1, 31)}, (
        "shard_chooser sends every row to the shard the ring picks for its user, and only there"
    )
    assert len(set().union(*stored.values())) == 3, "30 users spread over all three shards"


@pytest.mark.task(7)
def test_a_single_user_query_touches_only_its_shard(shard_engines: dict[str, Engine]) -> None:
    ring = HashRing(SHARDS)
    factory = sharded_sessionmaker(shard_engines, ring)
    seed(factory, range(1, 31), per_user=3)
    log = StatementLog(shard_engines)
    user = 7
    with factory() as session:
        mine = session.scalars(select(Order).where(Order.user_id == user)).all()
        assert sorted(o.order_no for o in mine) == [0, 1, 2], "all of user 7's orders"
        assert log.shards() == [shard_of(ring, user)], "WHERE user_id = 7 asks 7's shard only"

        log.clear()
        order = session.get(Order, (23, 1))
        assert order is not None and order.amount == (23 * 37 + 11) % 1000
        assert log.shards() == [shard_of(ring, 23)], "the primary key (user_id, ...) names a shard"

        log.clear()
        other = next(u for u in range(1, 31) if shard_of(ring, u) != shard_of(ring, 9))
        two = session.scalars(
            select(Order).where(Order.amount >= 0, Order.user_id.in_([other, 9]))
        ).all()
        assert {o.user_id for o in two} == {other, 9}
        assert log.shards() == sorted({shard_of(ring, other), shard_of(ring, 9)}), (
            f"user_id IN ({other}, 9), ANDed with anything, needs the shards of those two users"
        )

        log.clear()
        both = select(Order).where(Order.user_id.in_([other, 9]), Order.user_id == 9)
        assert {o.user_id for o in session.scalars(both)} == {9}
        assert log.shards() == [shard_of(ring, 9)], (
            "two terms that both pin user_id: a row must satisfy both, so intersect the ids"
        )

        log.clear()
        either = session.scalars(
            select(Order).where(or_(Order.user_id == user, Order.amount >= 990))
        ).all()
        want = {
            (u, n)
            for u in range(1, 31)
            for n in range(3)
            if u == 7 or (u * 37 + n * 11) % 1000 >= 990
        }
        assert {(o.user_id, o.order_no) for o in either} == want, (
            "user_id = 7 OR amount >= 990 can match rows on any shard: an OR restricts nothing"
        )
        assert log.shards() == sorted(SHARDS), "so that query must go to every shard"


@pytest.mark.task(7)
def test_user_ids_in_reads_only_the_top_level_and_terms_on_user_id() -> None:
    def pinned(*conditions: Any) -> set[int] | None:
        return user_ids_in(select(Order).where(*conditions))

    assert user_ids_in(select(Order)) is None, "no WHERE: any user"
    assert pinned(Order.user_id == 7) == {7}
    assert pinned(Order.user_id.in_([4, 9])) == {4, 9}
    assert pinned(Order.amount > 5, Order.user_id.in_([4, 9]), Order.user_id == 9) == {9}, (
        "every top-level AND term must hold: the ids they pin intersect"
    )
    assert pinned(Order.user_id != 7) is None, "user_id != 7 pins nothing: only == and IN do"
    assert pinned(Order.user_id > 7) is None, "nor does a range on user_id"
    assert pinned(Order.user_id > 3, Order.user_id == 9) == {9}, (
        "a term that pins nothing is skipped; the terms after it still count"
    )
    assert pinned(Order.order_no == 7) is None, "a condition on another column pins no user"
    assert pinned(Order.amount == 3, Order.order_no.in_([1, 2])) is None
    assert pinned(or_(Order.user_id == 7, Order.user_id == 8)) is None, "an OR pins nothing"
    stmt = select(Order).where(Order.user_id == 5)
    bind = next(iter(stmt.compile().binds))
    assert user_ids_in(stmt, {bind: 6}) == {6}, "a value passed apart, in params, wins"


@pytest.mark.task(7)
def test_queries_that_pin_no_user_fan_out(shard_engines: dict[str, Engine]) -> None:
    ring = HashRing(SHARDS)
    factory = sharded_sessionmaker(shard_engines, ring)
    seed(factory, range(1, 31), per_user=2)
    log = StatementLog(shard_engines)
    with factory() as session:
        others = session.scalars(select(Order).where(Order.user_id != 7)).all()
        assert {o.user_id for o in others} == set(range(1, 31)) - {7}
        assert log.shards() == sorted(SHARDS), "user_id != 7 may be anywhere: every shard"
        log.clear()
        seconds = session.scalars(select(Order).where(Order.order_no == 1)).all()
        assert {o.user_id for o in seconds} == set(range(1, 31)), "every user's order 1"
        assert log.shards() == sorted(SHARDS), (
            "order_no = 1 is not the shard key: it pins no user, so every shard is asked"
        )
        log.clear()
        assert session.scalars(select(Order).where(Order.user_id.in_([]))).all() == []
        assert len(log.shards()) <= 1, "user_id IN () matches no user: no need to ask them all"


@pytest.mark.task(9)
def test_top_orders_merges_the_shards_results(shard_engines: dict[str, Engine]) -> None:
    ring = HashRing(SHARDS)
    factory = sharded_sessionmaker(shard_engines, ring)
    users = range(1, 41)
    # Inserted in ascending amount, so a shard that forgot ORDER BY returns its smallest rows.
    amounts = sorted(((u * 53) % 400, u) for u in users)
    with factory() as session:
        session.add_all(Order(user_id=u, order_no=1, amount=a) for a, u in amounts)
        session.commit()
    log = StatementLog(shard_engines)
    with factory() as session:
        top = top_orders(session, 5)
    want = sorted(amounts, key=lambda p: (-p[0], p[1]))[:5]
    assert [(o.amount, o.user_id) for o in top] == want, (
        "each shard's top 5 arrive one shard after another: re-sort the union and keep 5"
    )
    per_shard = Counter(name for name, _ in log.entries)
    assert per_shard == dict.fromkeys(SHARDS, 1), "one query per shard, every shard asked"
    assert all("LIMIT" in sql for _, sql in log.entries), (
        "push ORDER BY ... LIMIT n down to each shard: none should ship all its rows"
    )


@pytest.mark.task(9)
def test_top_orders_breaks_ties_by_user_id_then_order_no(
    shard_engines: dict[str, Engine],
) -> None:
    ring = HashRing(SHARDS)
    factory = sharded_sessionmaker(shard_engines, ring)
    with factory() as session:  # every amount equal; inserted last user first
        session.add_all(
            Order(user_id=u, order_no=n, amount=500) for u in range(30, 0, -1) for n in (1, 0)
        )
        session.commit()
    with factory() as session:
        top = top_orders(session, 5)
    assert [(o.user_id, o.order_no) for o in top] == [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0)], (
        "equal amounts order by user_id, then order_no: on each shard (its LIMIT keeps the "
        "right rows) and again in the merge"
    )


@pytest.mark.task(10)
def test_count_orders_adds_up_every_shard(shard_engines: dict[str, Engine]) -> None:
    ring = HashRing(SHARDS)
    factory = sharded_sessionmaker(shard_engines, ring)
    seed(factory, range(1, 31), per_user=2)
    log = StatementLog(shard_engines)
    with factory() as session:
        assert count_orders(session) == 60, (
            "a fanned-out count(*) returns one row per shard: the total is their sum, "
            "not the first row"
        )
    assert log.shards() == sorted(SHARDS)
    for name, engine in shard_engines.items():  # cross-check against each database directly
        with engine.connect() as raw:
            assert raw.scalar(select(func.count()).select_from(Order)) == sum(
                1 for u in range(1, 31) for _ in range(2) if shard_of(ring, u) == name
            )


# --- consistent hashing ---------------------------------------------------------------------

KEYS = [f"user:{i}" for i in range(10_000)]


@pytest.mark.task(4)
def test_adding_a_shard_moves_a_fifth_of_the_keys_not_four_fifths() -> None:
    four = ["s0", "s1", "s2", "s3"]
    ring = HashRing(four)
    before = {key: ring.node_for(key) for key in KEYS}
    ring.add("s4")
    after = {key: ring.node_for(key) for key in KEYS}
    moved = [key for key in KEYS if before[key] != after[key]]
    assert 0.15 <= len(moved) / len(KEYS) <= 0.25, (
        f"consistent hashing: 4 -> 5 shards should move about 1/5 of the keys, "
        f"moved {len(moved) / len(KEYS):.1%}"
    )
    assert {after[key] for key in moved} == {"s4"}, "keys only ever move TO the new shard"

    naive_moved = sum(modulo_shard(k, four) != modulo_shard(k, [*four, "s4"]) for k in KEYS)
    assert 0.75 <= naive_moved / len(KEYS) <= 0.85, "hash % N re-homes ~4/5 of keys on 4 -> 5"


@pytest.mark.task(5)
def test_virtual_nodes_spread_keys_evenly_and_removal_moves_only_that_shard() -> None:
    ring = HashRing(["s0", "s1", "s2", "s3"], vnodes=100)
    owners = {key: ring.node_for(key) for key in KEYS}
    shares = Counter(owners.values())
    assert set(shares) == {"s0", "s1", "s2", "s3"}
    assert all(0.18 <= n / len(KEYS) <= 0.32 for n in shares.values()), (
        f"100 virtual nodes per shard even out the arcs; shares were {dict(shares)}"
    )
    ring.remove("s2")
    assert ring.nodes == {"s0", "s1", "s3"}
    moved = {key for key in KEYS if ring.node_for(key) != owners[key]}
    assert moved == {key for key, owner in owners.items() if owner == "s2"}, (
        "removing a shard re-homes exactly its own keys; nobody else's move"
    )
    with pytest.raises(LookupError):
        HashRing([]).node_for("user:1")


@pytest.mark.task(6)
def test_a_key_belongs_to_the_first_point_at_or_after_it_wrapping_around() -> None:
    nodes = ["s0", "s1", "s2"]
    ring = HashRing(nodes, vnodes=20)  # 20: the smallest and the largest point differ in node
    points = sorted((stable_hash(f"{node}#{i}"), node) for node in nodes for i in range(20))
    assert points[0][1] != points[-1][1]
    assert ring.node_for("s1#3") == "s1", (
        "a key hashing exactly onto a point belongs to that point: bisect_left, 'at or after'"
    )
    past_the_last = next(key for key in KEYS if stable_hash(key) > points[-1][0])
    assert ring.node_for(past_the_last) == points[0][1], (
        "past the largest point the ring wraps around to the smallest one, not the largest"
    )
    with pytest.raises(KeyError):
        ring.remove("s9")  # not on the ring


@pytest.mark.task(6)
def test_every_key_goes_to_the_first_point_at_or_after_its_hash() -> None:
    nodes, vnodes = ["s0", "s1", "s2"], 7
    ring = HashRing(nodes, vnodes=vnodes)
    points = sorted((stable_hash(f"{node}#{i}"), node) for node in nodes for i in range(vnodes))

    def owner(key: str) -> str:
        h = stable_hash(key)
        return next((node for point, node in points if point >= h), points[0][1])

    assert {key: ring.node_for(key) for key in KEYS[:2000]} == {
        key: owner(key) for key in KEYS[:2000]
    }, "points (stable_hash(f'{node}#{i}'), node) for i in range(vnodes); first at or after"
    for node in nodes:
        for i in range(vnodes):
            assert ring.node_for(f"{node}#{i}") == node, f"{node}#{i} is one of {node}'s points"


@pytest.mark.task(3)
def test_stable_hash_is_a_64_bit_integer() -> None:
    hashes = [stable_hash(key) for key in KEYS[:1000]]
    assert all(isinstance(h, int) and -(2**63) <= h < 2**64 for h in hashes), "64 bits, no more"
    assert max(h.bit_length() for h in hashes) > 60, "all 64 bits used, not 32"
    assert len(set(hashes)) == len(hashes)


@pytest.mark.task(3)
def test_the_ring_is_the_same_in_every_process() -> None:
    sample = KEYS[:50]
    here = [HashRing(["s0", "s1", "s2"]).node_for(key) for key in sample]
    script = (
        f"import json; from {__package__}.ring import HashRing; "
        f"r = HashRing(['s0', 's1', 's2']); "
        f"print(json.dumps([r.node_for(f'user:{{i}}') for i in range(50)]))"
    )
    root = Path(__file__).resolve().parents[2]
    for seed_value in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed_value}
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == here, (
            "every app server must route a key to the same shard: hash with hashlib, never "
            "the built-in hash() (salted per process by PYTHONHASHSEED)"
        )
