"""PostgreSQL full-text search over the corpus: each test gets its own loaded database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from katas.kit import plan_nodes

from .corpus import CORPUS, Article
from .pg_search import (
    Conn,
    category_facets,
    create_schema,
    headlines,
    load,
    search,
    search_params,
    search_sql,
)


@pytest.fixture
def conn(postgres_url: str) -> Iterator[Conn]:
    """A database with the articles table (the learner's DDL) and the corpus loaded."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        create_schema(conn)
        load(conn, CORPUS)
        yield conn


def ids(hits: list[tuple[str, float]]) -> list[str]:
    return [hit_id for hit_id, _rank in hits]


@pytest.mark.task(1)
def test_search_column_is_generated_weighted_and_gin_indexed(conn: Conn) -> None:
    vector = conn.execute("SELECT search::text FROM articles WHERE id = 'd01'").fetchone()
    assert vector is not None
    assert "'replic':3A" in vector[0], "title words are stemmed ('english') and weighted A"
    assert "'standbi':6B,25B" in vector[0], "body words are weighted B; positions continue"
    generated = conn.execute(
        "SELECT attgenerated FROM pg_attribute"
        " WHERE attrelid = 'articles'::regclass AND attname = 'search'"
    ).fetchone()
    assert generated == ("s",), "GENERATED ALWAYS AS (...) STORED: kept in step with every write"
    index = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'articles_search_idx'"
    ).fetchone()
    assert index is not None and "USING gin (search)" in index[0], "a GIN index on the column"
    conn.execute("UPDATE articles SET title = 'Logical decoding' WHERE id = 'd01'")
    assert ids(search(conn, "decoding")) == ["d01"], "the column follows the new title"
    assert "d01" not in ids(search(conn, "replication")), "and forgets the old one"


@pytest.mark.task(2)
def test_stemming_finds_every_form_of_a_word(conn: Conn) -> None:
    assert set(ids(search(conn, "running"))) == {"p03", "d05", "o02"}, (
        "'english' reduces running, runs and run to the lexeme 'run'; 'runner' is another word"
    )
    assert set(ids(search(conn, "indexes"))) == {"d03", "d08", "d11", "w03"}, (
        "index, indexes and indexed share a lexeme"
    )


@pytest.mark.task(2)
def test_title_matches_rank_above_body_matches(conn: Conn) -> None:
    hits = search(conn, "replication")
    assert ids(hits) == ["d01", "d04", "d09"], (
        "d01 says 'replication' once, in its title (weight A); d04 twice in its body (weight "
        "B): without setweight d04 would win"
    )
    ranks = [rank for _id, rank in hits]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[1], "ts_rank, best first"
    expected = conn.execute(
        "SELECT id, ts_rank(search, websearch_to_tsquery('english', 'replication')) FROM articles"
        " WHERE id IN ('d01', 'd04', 'd09') ORDER BY 2 DESC, id"
    ).fetchall()
    want: list[tuple[str, object]] = [(i, pytest.approx(rank)) for i, rank in expected]
    assert list(hits) == want, (
        "the rank column is ts_rank(search, query): the default weights, no normalization"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("connection pool", {"d06", "d07"}),
        ('"connection pool"', {"d06"}),
        ("postgresql -replication", {"d02", "d06", "d11", "p10", "o09"}),
        ("redis or mongodb", {"d09", "d10", "d12"}),
    ],
)
@pytest.mark.task(2)
def test_websearch_syntax(conn: Conn, query: str, expected: set[str]) -> None:
    assert set(ids(search(conn, query, limit=50))) == expected, (
        "websearch_to_tsquery: words are ANDed, quotes make a phrase (d07 says 'pool of "
        "connections'), '-' excludes, 'or' is OR; plainto_tsquery understands none of it"
    )


@pytest.mark.task(2)
def test_filters_by_category_and_date(conn: Conn) -> None:
    since, until = date(2024, 1, 1), date(2024, 6, 30)
    got = search(conn, "index", category="databases", since=since, until=until)
    assert set(ids(got)) == {"d03", "d08"}, "w03 is in web; d11 was published in July"
    assert set(ids(search(conn, "index", since=since, until=until))) == {"d03", "d08", "w03"}, (
        "no category filter when category is None"
    )
    assert set(ids(search(conn, "index", category="databases"))) == {"d03", "d08", "d11"}, (
        "no date filter when since/until are None"
    )
    assert ids(search(conn, "index", limit=2)) == ["d03", "d08"], "LIMIT after ORDER BY"


@pytest.mark.task(2)
def test_equal_ranks_go_by_id_and_date_bounds_are_inclusive(conn: Conn) -> None:
    day = date(2024, 3, 15)
    load(conn, [Article(f"q{n}", "zoo", day, "Quokka", "A quokka smiles.") for n in (2, 3, 1)])
    assert ids(search(conn, "quokka")) == ["q1", "q2", "q3"], (
        "three identical articles rank equally: ties by id (ORDER BY rank DESC, id)"
    )
    assert ids(search(conn, "quokka", since=day, until=day)) == ["q1", "q2", "q3"], (
        "since and until are inclusive: published >= since AND published <= until"
    )
    assert ids(search(conn, "quokka", limit=2)) == ["q1", "q2"], "and LIMIT keeps the first ids"


@pytest.mark.task(4)
def test_facet_counts_order_before_names(conn: Conn) -> None:
    day = date(2024, 3, 15)
    zoo = [("a1", "aviary"), ("r1", "reptiles"), ("r2", "reptiles"), ("m1", "mammals")]
    zoo += [("m2", "mammals")]
    load(conn, [Article(i, category, day, "Quokka", "A quokka.") for i, category in zoo])
    assert list(category_facets(conn, "quokka")) == ["mammals", "reptiles", "aviary"], (
        "largest facet first (ORDER BY count(*) DESC), ties by name; not by name alone"
    )


@pytest.mark.task(3)
def test_headlines_mark_the_matched_words(conn: Conn) -> None:
    snippets = headlines(conn, "running")
    assert set(snippets) == {"p03", "d05", "o02"}
    assert "<b>runs</b>" in snippets["d05"], "ts_headline marks the word as written, not the lexeme"
    assert "<b>run</b>" in snippets["o02"]
    assert "<b>" not in snippets["p03"], "p03 matched in its title; its body has nothing to mark"
    assert set(headlines(conn, "running", limit=2)) == {"p03", "d05"}, (
        "headlines only for the best `limit` rows: ts_headline is expensive"
    )


@pytest.mark.task(4)
def test_category_facets(conn: Conn) -> None:
    assert category_facets(conn) == {"databases": 12, "python": 10, "devops": 10, "web": 8}
    assert category_facets(conn, "postgresql") == {"databases": 4, "python": 1, "devops": 1}, (
        "GROUP BY category over the matching rows only"
    )
    assert list(category_facets(conn, "postgresql")) == ["databases", "devops", "python"], (
        "largest facet first, ties by name"
    )


@pytest.mark.task(2)
def test_gin_index_serves_the_search_on_a_larger_table(conn: Conn) -> None:
    conn.execute(
        """
        INSERT INTO articles (id, category, published, title, body)
        SELECT 'g' || i, 'misc', date '2020-01-01' + i % 1000, 'Generated note ' || i,
               'Filler text about topic ' || i % 97 || ' and the routine upkeep of a garden shed'
        FROM generate_series(1, 5000) AS i
        """
    )
    # GIN buffers new entries in a pending list; VACUUM merges it, ANALYZE refreshes statistics.
    conn.execute("VACUUM ANALYZE articles")
    row = conn.execute(
        "EXPLAIN (FORMAT JSON) " + search_sql(), search_params("replication")
    ).fetchone()
    assert row is not None
    used = {node.get("Index Name") for node in plan_nodes(row[0][0]["Plan"])}
    assert "articles_search_idx" in used, (
        "the WHERE clause must be `search @@ query` on the indexed column: an expression like "
        "to_tsvector(...) @@ query can't use the index and scans all 5040 rows"
    )
    assert ids(search(conn, "replication")) == ["d01", "d04", "d09"]
