"""Splitting a table (分表) inside one PostgreSQL: declarative partitioning by range and by hash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, LiteralString

import psycopg
from psycopg import sql

HASH_PARTITIONS = 4


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """``[first instant of month, first instant of the next month)`` in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    if month.month == 12:
        return start, datetime(month.year + 1, 1, 1, tzinfo=UTC)
    return start, datetime(month.year, month.month + 1, 1, tzinfo=UTC)


def create_partitioned_tables(conn: psycopg.Connection[Any], months: Sequence[date]) -> None:
    """Create the two partitioned tables.

    ``events (id bigserial, user_id bigint, created_at timestamptz, kind text)`` partitioned
    BY RANGE (created_at): one partition ``events_YYYY_MM`` per month in ``months`` (FROM its first
    instant TO the next month's first instant) and ``events_default`` for every other row.

    ``orders (id bigserial, user_id bigint, amount int)`` partitioned BY HASH (user_id) into
    ``orders_p0`` .. ``orders_p3`` (MODULUS 4, REMAINDER 0..3).
    """
    # kata: begin CREATE TABLE events ... PARTITION BY RANGE (created_at) + monthly and DEFAULT partitions; orders PARTITION BY HASH (user_id) with MODULUS 4
    conn.execute(
        """
        CREATE TABLE events (
            id bigserial,
            user_id bigint NOT NULL,
            created_at timestamptz NOT NULL,
            kind text NOT NULL,
            PRIMARY KEY (id, created_at)  -- a unique key must contain the partition key
        ) PARTITION BY RANGE (created_at)
        """
    )
    for month in months:
        start, end = month_bounds(month)
        conn.execute(
            sql.SQL("CREATE TABLE {} PARTITION OF events FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(f"events_{month:%Y_%m}"), sql.Literal(start), sql.Literal(end)
            )
        )
    conn.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")

    conn.execute(
        """
        CREATE TABLE orders (
            id bigserial,
            user_id bigint NOT NULL,
            amount int NOT NULL,
            PRIMARY KEY (id, user_id)
        ) PARTITION BY HASH (user_id)
        """
    )
    for remainder in range(HASH_PARTITIONS):
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} PARTITION OF orders FOR VALUES WITH (MODULUS {}, REMAINDER {})"
            ).format(
                sql.Identifier(f"orders_p{remainder}"),
                sql.Literal(HASH_PARTITIONS),
                sql.Literal(remainder),
            )
        )
    # kata: end


def explain(
    conn: psycopg.Connection[Any], query: LiteralString, params: Sequence[object] = ()
) -> Any:
    """The plan PostgreSQL chose for ``query``: the parsed ``EXPLAIN (FORMAT JSON)`` document."""
    row = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()
    assert row is not None
    return row[0]


def scanned_relations(plan: Any) -> list[str]:
    """Every table a plan reads, in plan order: the ``Relation Name`` of each node, at any depth.

    ``plan`` is what ``explain`` returns: ``[{"Plan": {..., "Plans": [...]}}]``; child nodes are
    nested under ``"Plans"`` (an Append over partitions, a Sort above a scan, a Bitmap Heap Scan
    above its Bitmap Index Scan...).
    """
    # kata: begin walk plan[0]["Plan"] and its nested "Plans" depth-first, collecting each node's "Relation Name"
    found: list[str] = []
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Relation Name" in node:
            found.append(node["Relation Name"])
        stack.extend(reversed(node.get("Plans", [])))
    return found
    # kata: end
