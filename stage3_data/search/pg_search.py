"""Full-text search in PostgreSQL: a weighted tsvector column, a GIN index, ranked queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, LiteralString

import psycopg

from .corpus import Article

Conn = psycopg.Connection[Any]

TABLE = """
CREATE TABLE articles (
    id        text PRIMARY KEY,
    category  text NOT NULL,
    published date NOT NULL,
    title     text NOT NULL,
    body      text NOT NULL,
    tags      text[] NOT NULL DEFAULT '{}'
)
"""


def create_schema(conn: Conn) -> None:
    """The articles table, its weighted ``search`` column and the GIN index on it."""
    conn.execute(TABLE)
    # kata: begin add a STORED generated tsvector column `search` (title weight A, body weight B, 'english') and GIN index articles_search_idx
    conn.execute(
        """
        ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', title), 'A')
            || setweight(to_tsvector('english', body), 'B')
        ) STORED
        """
    )
    conn.execute("CREATE INDEX articles_search_idx ON articles USING gin (search)")
    # kata: end


def load(conn: Conn, articles: Iterable[Article]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO articles (id, category, published, title, body, tags)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(a.id, a.category, a.published, a.title, a.body, list(a.tags)) for a in articles],
        )


def search_sql() -> LiteralString:
    """Ranked search; parameters ``q``, ``category``, ``since``, ``until`` (each may be None), ``limit``."""
    # kata: begin SELECT id, rank: websearch_to_tsquery('english', q), `search @@ query`, optional filters, ts_rank DESC then id, LIMIT
    return """
        SELECT id, ts_rank(search, query) AS rank
        FROM articles, websearch_to_tsquery('english', %(q)s) AS query
        WHERE search @@ query
          AND (%(category)s::text IS NULL OR category = %(category)s)
          AND (%(since)s::date IS NULL OR published >= %(since)s)
          AND (%(until)s::date IS NULL OR published <= %(until)s)
        ORDER BY rank DESC, id
        LIMIT %(limit)s
    """
    # kata: end


def search_params(
    q: str,
    *,
    category: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 10,
) -> dict[str, Any]:
    return {"q": q, "category": category, "since": since, "until": until, "limit": limit}


def search(
    conn: Conn,
    q: str,
    *,
    category: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 10,
) -> list[tuple[str, float]]:
    """``(id, rank)`` of the best matches, best first."""
    params = search_params(q, category=category, since=since, until=until, limit=limit)
    return [(row[0], row[1]) for row in conn.execute(search_sql(), params)]


def headlines(conn: Conn, q: str, *, limit: int = 5) -> dict[str, str]:
    """The body of each of the ``limit`` best matches, with the matched words in ``<b>…</b>``."""
    # kata: begin rank in a subquery with LIMIT, then ts_headline('english', body, query) on those rows only
    rows = conn.execute(
        """
        SELECT id, ts_headline('english', body, query, 'MaxWords=20, MinWords=5')
        FROM (
            SELECT id, body, query, ts_rank(search, query) AS rank
            FROM articles, websearch_to_tsquery('english', %(q)s) AS query
            WHERE search @@ query
            ORDER BY rank DESC, id
            LIMIT %(limit)s
        ) AS best
        ORDER BY rank DESC, id
        """,
        {"q": q, "limit": limit},
    )
    return {row[0]: row[1] for row in rows}
    # kata: end


def category_facets(conn: Conn, q: str | None = None) -> dict[str, int]:
    """How many articles per category match ``q`` (all articles when ``q`` is None)."""
    # kata: begin count matches per category with GROUP BY (no WHERE on the text when q is None)
    rows = conn.execute(
        """
        SELECT category, count(*)
        FROM articles
        WHERE %(q)s::text IS NULL OR search @@ websearch_to_tsquery('english', %(q)s)
        GROUP BY category
        ORDER BY count(*) DESC, category
        """,
        {"q": q},
    )
    return {row[0]: row[1] for row in rows}
    # kata: end
