"""Elasticsearch over the same corpus: each test gets an index of its own, deleted after.

There is no fake here: without a server (Docker, or KATAS_ELASTICSEARCH_URL) the
``elasticsearch_service`` fixture skips these tests with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from elasticsearch import BadRequestError, Elasticsearch

from katas.kit import Endpoint

from .corpus import CORPUS
from .es_search import (
    ANALYZER,
    bulk_index,
    category_facets,
    create_index,
    filtered_search,
    highlights,
    match_body,
    search,
)


@pytest.fixture
def es(elasticsearch_service: Endpoint) -> Iterator[Elasticsearch]:
    client = Elasticsearch(elasticsearch_service.url, request_timeout=30)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def index(es: Elasticsearch, unique_name: str) -> Iterator[str]:
    """An index name of this test's own (lower case, no spaces), deleted afterwards."""
    name = re.sub(r"[^a-z0-9._-]", "-", unique_name.lower())
    try:
        yield name
    finally:
        es.indices.delete(index=name, ignore_unavailable=True)


@pytest.fixture
def loaded(es: Elasticsearch, index: str) -> str:
    """The index created from the learner's settings and mapping, with the corpus in it."""
    create_index(es, index)
    bulk_index(es, index, CORPUS)
    return index


@pytest.mark.task(5)
def test_analyzer_stems_folds_drops_stop_words_and_expands_synonyms(
    es: Elasticsearch, index: str
) -> None:
    create_index(es, index)
    analyzed = es.indices.analyze(index=index, analyzer=ANALYZER, text="Running K8s at the Café")
    tokens = [token["token"] for token in analyzed["tokens"]]
    assert "run" in tokens and "running" not in tokens, "the English stemmer: running -> run"
    assert any(t.startswith("kubernet") for t in tokens), "the synonym k8s -> kubernetes"
    assert any(t.startswith("k8") for t in tokens), "...keeping the original word too"
    assert any(t.startswith("caf") for t in tokens) and "café" not in tokens, (
        "lowercase + asciifolding: Café -> cafe"
    )
    assert "at" not in tokens and "the" not in tokens, "English stop words are dropped"


@pytest.mark.task(6)
def test_mapping_is_explicit_and_strict(es: Elasticsearch, index: str) -> None:
    create_index(es, index)
    properties = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert properties["category"]["type"] == "keyword", "exact values for filters and facets"
    assert properties["tags"]["type"] == "keyword"
    assert properties["published"]["type"] == "date", "a date, for range filters"
    for field in ("title", "body"):
        assert properties[field]["type"] == "text", f"{field} is analysed full text"
        assert properties[field].get("analyzer") == ANALYZER, f"{field} uses the custom analyzer"
    with pytest.raises(BadRequestError):
        es.index(index=index, id="x", document={"title": "t", "author": "ada"})


@pytest.mark.task(7)
def test_bulk_index_makes_documents_searchable_at_once(es: Elasticsearch, index: str) -> None:
    create_index(es, index)
    assert bulk_index(es, index, CORPUS) == len(CORPUS), "one successful action per article"
    assert es.count(index=index)["count"] == len(CORPUS), (
        "search is near-real-time: without refresh the documents appear only after the next "
        "refresh (1 s by default)"
    )
    assert es.get(index=index, id="d05")["_source"]["category"] == "databases", (
        "the article id is the document _id"
    )


@pytest.mark.task(8)
def test_match_uses_the_analyzer(es: Elasticsearch, loaded: str) -> None:
    assert set(match_body(es, loaded, "running")) == {"d05", "o02"}, (
        "stemming: 'running' finds 'runs' and 'run' (not 'runner')"
    )
    kubernetes = {"o01", "o04", "o05"}
    assert set(match_body(es, loaded, "k8s")) == kubernetes, "synonyms: k8s finds Kubernetes"
    assert set(match_body(es, loaded, "kubernetes")) == kubernetes, "and the other way round"
    assert match_body(es, loaded, "javascript") == ["w04"], "w04 only says 'JS'"


@pytest.mark.task(9)
def test_title_boost_ranks_the_title_match_first(es: Elasticsearch, loaded: str) -> None:
    hits = search(es, loaded, "replication")
    assert set(hits) == {"d01", "d04", "d09"}, "multi_match looks in title and body"
    assert hits[0] == "d01", "the only title match, boosted x3, beats body matches"


@pytest.mark.task(10)
def test_bool_query_filters_and_prefers(es: Elasticsearch, loaded: str) -> None:
    since, until = date(2024, 1, 1), date(2024, 6, 30)
    got = filtered_search(es, loaded, "index", category="databases", since=since, until=until)
    assert set(got) == {"d03", "d08"}, (
        "filter: category databases (not w03, web) and published in the range (not d11, July)"
    )
    # w05 and w06 are twins that score exactly alike on the text: the tag decides
    perf, http = (
        filtered_search(
            es,
            loaded,
            "cache latency",
            category="web",
            since=date(2024, 1, 1),
            until=date(2024, 12, 31),
            prefer_tags=[tag],
        )
        for tag in ("performance", "http")
    )
    assert set(perf) == set(http) == {"w05", "w06"}, "should only re-orders: it filters nothing"
    assert perf.index("w06") < perf.index("w05"), "w06 is tagged performance"
    assert http.index("w05") < http.index("w06"), "w05 is tagged http"


@pytest.mark.task(11)
def test_highlight_wraps_matches_in_em(es: Elasticsearch, loaded: str) -> None:
    fragments = highlights(es, loaded, "running")
    assert set(fragments) == {"d05", "o02"}
    assert any("<em>runs</em>" in f for f in fragments["d05"]), "the word as written"
    assert any("<em>run</em>" in f for f in fragments["o02"])


@pytest.mark.task(12)
def test_terms_aggregation_counts_categories(es: Elasticsearch, loaded: str) -> None:
    assert category_facets(es, loaded) == {"databases": 12, "python": 10, "devops": 10, "web": 8}
    assert category_facets(es, loaded, "postgresql") == {
        "databases": 4,
        "python": 1,
        "devops": 1,
    }, "the aggregation counts the documents the query matched"
