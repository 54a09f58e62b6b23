"""GIN index versus a sequential scan for ``attrs @> ...`` on 200,000 generated products."""

from __future__ import annotations

import psycopg

from katas.kit import Ratio, best_time, postgres_database

from .catalog import Conn, create_attrs_index, create_schema, find_containing, generate_products

ROWS = 200_000


def bench() -> list[Ratio]:
    with postgres_database() as url, psycopg.connect(url, autocommit=True) as conn:
        return measure(conn)


def measure(conn: Conn) -> list[Ratio]:
    create_schema(conn)
    generate_products(conn, ROWS)

    def query() -> list[str]:
        return find_containing(conn, {"brand": "brand-42", "color": "white"})

    conn.execute("CREATE INDEX products_attrs_jsonb_ops ON products USING gin (attrs)")
    ops_size = index_size(conn, "products_attrs_jsonb_ops")
    conn.execute("DROP INDEX products_attrs_jsonb_ops")
    create_attrs_index(conn)
    conn.execute("ANALYZE products")
    path_ops_size = index_size(conn, "products_attrs_gin")

    indexed = best_time(query, repeat=7)
    conn.execute("SET enable_bitmapscan = off")
    conn.execute("SET enable_indexscan = off")
    scanned = best_time(query, repeat=5)
    return [
        Ratio(
            f"jsonb @> on {ROWS:,} rows", "Seq Scan", "GIN Bitmap Index Scan", scanned, indexed, "s"
        ),
        Ratio(
            f"GIN index size, {ROWS:,} rows",
            "jsonb_ops",
            "jsonb_path_ops",
            ops_size,
            path_ops_size,
            "B",
        ),
    ]


def index_size(conn: Conn, name: str) -> float:
    row = conn.execute("SELECT pg_relation_size(%s::regclass)", [name]).fetchone()
    assert row is not None
    return float(row[0])
