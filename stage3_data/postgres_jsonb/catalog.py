"""JSONB documents with psycopg 3: operators, SQL/JSON paths, partial updates and a GIN index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[TupleRow]

INDEX_NAME = "products_attrs_gin"

SCHEMA = """
CREATE TABLE products (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    attrs jsonb NOT NULL DEFAULT '{}'
)
"""


def create_schema(conn: Conn) -> None:
    conn.execute(SCHEMA)


def add_products(conn: Conn, products: Mapping[str, Mapping[str, Any]]) -> None:
    """Insert ``{sku: attrs}``. ``Jsonb(...)`` tells psycopg to send a Python object as jsonb."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO products (sku, attrs) VALUES (%s, %s)",
            [(sku, Jsonb(attrs)) for sku, attrs in products.items()],
        )


def generate_products(conn: Conn, count: int) -> None:
    """Add ``count`` generated products in one statement (500 brands, 97 tags), then ANALYZE.

    The rows are built by the server with generate_series, not sent from Python: tens of
    thousands take a fraction of a second. ANALYZE gives the planner the statistics it needs.
    """
    conn.execute(
        """
        INSERT INTO products (sku, attrs)
        SELECT format('GEN-%%s', lpad(g::text, 7, '0')),
               jsonb_build_object(
                   'brand', format('brand-%%s', g %% 500),
                   'color', (ARRAY['red', 'green', 'blue', 'black', 'white'])[g %% 5 + 1],
                   'tags', jsonb_build_array(format('tag-%%s', g %% 97)),
                   'dims', jsonb_build_object('weight_g', 50 + g %% 2000),
                   'variants', jsonb_build_array(
                       jsonb_build_object('size', 'M', 'stock', g %% 7)))
        FROM generate_series(1, %s) AS g
        """,
        [count],
    )
    conn.execute("ANALYZE products")


def find_containing(conn: Conn, subset: Mapping[str, Any]) -> list[str]:
    """The skus whose ``attrs`` contain ``subset`` (nested objects and arrays too), by sku."""
    # kata: begin select the skus where attrs @> the subset (sent with Jsonb), ordered by sku
    rows = conn.execute(
        "SELECT sku FROM products WHERE attrs @> %s ORDER BY sku", [Jsonb(subset)]
    ).fetchall()
    return [sku for (sku,) in rows]
    # kata: end


def by_weight(conn: Conn) -> list[tuple[str, str | None, int]]:
    """``(sku, brand, dims.weight_g)`` of the products that have a weight, heaviest first."""
    # kata: begin select sku, attrs->>'brand' and (attrs #>> '{dims,weight_g}')::int, heaviest first
    rows = conn.execute(
        """
        SELECT sku, attrs ->> 'brand', (attrs #>> '{dims,weight_g}')::int AS grams
        FROM products
        WHERE attrs #>> '{dims,weight_g}' IS NOT NULL
        ORDER BY grams DESC, sku
        """
    ).fetchall()
    return [(sku, brand, grams) for sku, brand, grams in rows]
    # kata: end


def with_keys(conn: Conn, keys: Sequence[str], *, match: Literal["any", "all"]) -> list[str]:
    """The skus whose ``attrs`` have any (``?|``) or all (``?&``) of these top-level keys."""
    # kata: begin select the skus where attrs ?| keys (match="any") or ?& keys (match="all"), by sku
    query = (
        "SELECT sku FROM products WHERE attrs ?| %s ORDER BY sku"
        if match == "any"
        else "SELECT sku FROM products WHERE attrs ?& %s ORDER BY sku"
    )
    return [sku for (sku,) in conn.execute(query, [list(keys)]).fetchall()]
    # kata: end


def variants_in_stock(conn: Conn, min_stock: int) -> list[tuple[str, dict[str, Any]]]:
    """Every ``(sku, variant)`` whose variant has ``stock >= min_stock``, by sku then size."""
    # kata: begin jsonb_path_query(attrs, '$.variants[*] ? (@.stock >= $min)', vars) in FROM, by sku, size
    rows = conn.execute(
        """
        SELECT p.sku, v.variant
        FROM products AS p,
             jsonb_path_query(p.attrs, '$.variants[*] ? (@.stock >= $min)', %s) AS v(variant)
        ORDER BY p.sku, v.variant ->> 'size'
        """,
        [Jsonb({"min": min_stock})],
    ).fetchall()
    return [(sku, variant) for sku, variant in rows]
    # kata: end


def set_attr(conn: Conn, sku: str, path: Sequence[str], value: Any) -> dict[str, Any] | None:
    """Set the value at ``path`` inside the stored document in place; return the new ``attrs``."""
    # kata: begin UPDATE ... SET attrs = jsonb_set(attrs, path::text[], value) WHERE sku ... RETURNING attrs
    row = conn.execute(
        "UPDATE products SET attrs = jsonb_set(attrs, %s, %s) WHERE sku = %s RETURNING attrs",
        [list(path), Jsonb(value), sku],
    ).fetchone()
    return None if row is None else dict(row[0])
    # kata: end


def patch_attrs(
    conn: Conn, sku: str, merge: Mapping[str, Any], remove: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Merge ``merge`` into the top level of the stored document and drop the ``remove`` keys."""
    # kata: begin UPDATE ... SET attrs = (attrs || merge) - remove::text[] in one statement, RETURNING attrs
    row = conn.execute(
        "UPDATE products SET attrs = (attrs || %s) - %s::text[] WHERE sku = %s RETURNING attrs",
        [Jsonb(merge), list(remove), sku],
    ).fetchone()
    return None if row is None else dict(row[0])
    # kata: end


def create_attrs_index(conn: Conn) -> None:
    """Index ``attrs`` for containment queries, under the name ``INDEX_NAME``."""
    # kata: begin CREATE INDEX products_attrs_gin ON products USING gin (attrs jsonb_path_ops)
    conn.execute("CREATE INDEX products_attrs_gin ON products USING gin (attrs jsonb_path_ops)")
    # kata: end
