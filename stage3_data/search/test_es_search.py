"""Elasticsearch over the same corpus: each test gets an index of its own, deleted after.

Without a server (Docker, or KATAS_ELASTICSEARCH_URL) the ``elasticsearch_service`` fixture
skips those tests with the reason. The tests at the end need no server: they read the settings
and the mapping as the documents they are, and the requests each function sends to a
``RecordingClient`` that answers with a prepared response. They judge what was asked, not what
a real index would answer: the analyzer's effect and the ranking are judged only with a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, cast

import pytest
from elasticsearch import BadRequestError, Elasticsearch, helpers

from katas.kit import Endpoint

from .corpus import CORPUS
from .es_search import (
    ANALYZER,
    SYNONYMS,
    bulk_index,
    category_facets,
    create_index,
    filtered_search,
    highlights,
    index_mappings,
    index_settings,
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


# --- without a server: the documents and the requests ------------------------------------------


@pytest.mark.task(5)
def test_settings_define_one_shard_and_the_analyzer_chain_in_order() -> None:
    settings = index_settings()
    settings = settings.get("index", settings)  # {"index": {...}} and {...} are the same
    assert int(settings["number_of_shards"]) == 1, "one shard: BM25 statistics are per shard"
    assert int(settings["number_of_replicas"]) == 0, "no replica on a one-node cluster"
    analysis = settings["analysis"]
    analyzer = analysis["analyzer"][ANALYZER]
    assert analyzer["type"] == "custom" and analyzer["tokenizer"] == "standard"
    defined = analysis.get("filter", {})

    def resolved(name: str) -> tuple[str, object]:
        """(type, its one option) of a filter: defined in the settings, or built in by name."""
        spec = defined.get(name, {"type": name})
        kind = spec["type"]
        if kind == "stemmer":
            return kind, spec.get("language", spec.get("name"))
        if kind == "synonym":
            return kind, list(spec.get("synonyms", []))
        if kind == "stop":
            words = spec.get("stopwords", "_english_")  # the stop filter's default: English
            return kind, words if isinstance(words, str) else tuple(words)
        return kind, None

    assert [resolved(name) for name in analyzer["filter"]] == [
        ("stemmer", "possessive_english"),
        ("lowercase", None),
        ("asciifolding", None),
        ("synonym", SYNONYMS),
        ("stop", "_english_"),
        ("stemmer", "english"),
    ], (
        "the filters in this order: possessives off, lower case (before the synonyms, whose rules "
        "are lower case), accents folded, synonyms, English stop words, the English stemmer last"
    )


@pytest.mark.task(6)
def test_mapping_document_is_strict_and_typed() -> None:
    mappings = index_mappings()
    assert mappings["dynamic"] == "strict", (
        "dynamic: strict refuses undeclared fields ('false' would keep them unindexed)"
    )
    properties = mappings["properties"]
    assert {field: spec["type"] for field, spec in properties.items()} == {
        "title": "text",
        "body": "text",
        "tags": "keyword",
        "category": "keyword",
        "published": "date",
    }
    assert properties["title"]["analyzer"] == properties["body"]["analyzer"] == ANALYZER


class RecordingClient:
    """Stands in for an Elasticsearch client: records each search's keyword arguments (a
    ``body`` merged in) and answers every one with ``response``."""

    def __init__(self, response: Mapping[str, Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.response = response or {"hits": {"hits": []}}

    def search(self, **kwargs: Any) -> Mapping[str, Any]:
        self.requests.append({**(kwargs.pop("body", None) or {}), **kwargs})
        return self.response

    def as_client(self) -> Elasticsearch:
        return cast(Elasticsearch, self)

    def only_request(self) -> dict[str, Any]:
        assert len(self.requests) == 1, f"one search request: {self.requests}"
        return self.requests[0]


def hits(*ids: str, **extra: Any) -> dict[str, Any]:
    return {"hits": {"hits": [{"_id": hit_id, "_score": 1.0, **extra} for hit_id in ids]}}


def match_text(query: Mapping[str, Any], field: str) -> object:
    """The text of ``{"match": {field: text}}`` or of its long form ``{field: {"query": text}}``."""
    assert list(query) == ["match"] and list(query["match"]) == [field], query
    value = query["match"][field]
    return value["query"] if isinstance(value, Mapping) else value


def assert_title_boosted_multi_match(query: Mapping[str, Any], text: str) -> None:
    assert list(query) == ["multi_match"], query
    multi = query["multi_match"]
    assert multi["query"] == text
    assert sorted(multi["fields"]) == ["body", "title^3"], (
        f"title boosted three times, body as it is: {multi['fields']}"
    )
    assert multi.get("type", "best_fields") == "best_fields"


def as_list(clause: object) -> list[Any]:
    return list(clause) if isinstance(clause, list) else [clause]


@pytest.mark.task(7)
def test_bulk_index_sends_one_index_action_per_article(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, list[dict[str, Any]], dict[str, Any]]] = []

    def bulk(client: object, actions: Any, **kwargs: Any) -> tuple[int, list[object]]:
        sent = list(actions)
        calls.append((client, sent, kwargs))
        return len(sent) - 1, []  # one pretend failure: the count is bulk's, not len(articles)

    monkeypatch.setattr(helpers, "bulk", bulk)
    client = RecordingClient().as_client()
    articles = CORPUS[:3]
    assert bulk_index(client, "idx", (a for a in articles)) == 2, (
        "return the success count helpers.bulk reports (articles may be any iterable)"
    )
    assert len(calls) == 1, "one helpers.bulk call for all the articles"
    used, actions, kwargs = calls[0]
    assert used is client
    assert str(kwargs.get("refresh")).lower() in ("wait_for", "true"), (
        "refresh before returning: a search right after must see the documents"
    )
    for article, action in zip(articles, actions, strict=True):
        assert action.get("_op_type", "index") == "index"
        assert (action["_index"], action["_id"]) == ("idx", article.id), "_id: the article id"
        assert action["_source"] == {
            "title": article.title,
            "body": article.body,
            "tags": list(article.tags),
            "category": article.category,
            "published": article.published.isoformat(),
        }, "the five fields, the date as ISO text, the tags as a list"


@pytest.mark.task(8)
def test_match_body_request_and_hit_order() -> None:
    client = RecordingClient(hits("d05", "o02"))
    assert match_body(client.as_client(), "idx", "running", size=7) == ["d05", "o02"], (
        "the ids in the order of the hits: best first"
    )
    request = client.only_request()
    assert request["index"] == "idx" and request.get("size") == 7, "size= is passed on"
    assert match_text(request["query"], "body") == "running"


@pytest.mark.task(9)
def test_search_request_boosts_the_title() -> None:
    client = RecordingClient(hits("d01", "d04"))
    assert search(client.as_client(), "idx", "replication", size=3) == ["d01", "d04"]
    request = client.only_request()
    assert request["index"] == "idx" and request.get("size") == 3, "size= is passed on"
    assert_title_boosted_multi_match(request["query"], "replication")


@pytest.mark.task(10)
def test_filtered_search_request_scores_filters_and_prefers() -> None:
    client = RecordingClient(hits("d03"))
    since, until = date(2024, 1, 1), date(2024, 6, 30)
    es = client.as_client()
    assert filtered_search(es, "idx", "index", category="db", since=since, until=until) == ["d03"]
    filtered_search(es, "idx", "index", category="db", since=since, until=until, prefer_tags=["a"])
    plain, preferring = (request["query"]["bool"] for request in client.requests)
    for query in (plain, preferring):
        (must,) = as_list(query["must"])
        assert_title_boosted_multi_match(must, "index")
        filters = as_list(query["filter"])
        terms = [f["term"]["category"] for f in filters if "term" in f]
        assert [t["value"] if isinstance(t, Mapping) else t for t in terms] == ["db"], (
            "a term query on category, in filter context"
        )
        (dates,) = [f["range"]["published"] for f in filters if "range" in f]
        assert {k: str(v) for k, v in dates.items() if k in ("gte", "lte", "gt", "lt")} == {
            "gte": "2024-01-01",
            "lte": "2024-06-30",
        }, "a range on published: since and until both included (gte, lte)"
    assert not as_list(plain.get("should", [])), "no preferred tags: no should clause"
    (should,) = as_list(preferring["should"])
    assert should == {"terms": {"tags": ["a"]}}, "should: a terms query on tags"
    assert "minimum_should_match" not in preferring or preferring["minimum_should_match"] == 0, (
        "should only re-orders: it must not become a condition"
    )


@pytest.mark.task(11)
def test_highlight_request_and_fragments() -> None:
    fragment = {"highlight": {"body": ["Autovacuum <em>runs</em> in the background"]}}
    client = RecordingClient(hits("d05", **fragment))
    assert highlights(client.as_client(), "idx", "running") == {
        "d05": ["Autovacuum <em>runs</em> in the background"]
    }
    request = client.only_request()
    assert match_text(request["query"], "body") == "running"
    highlight = request["highlight"]
    assert "body" in highlight["fields"], "highlight the body"
    assert highlight.get("pre_tags", ["<em>"]) == ["<em>"], "<em> around the matched words"
    assert highlight.get("post_tags", ["</em>"]) == ["</em>"]


@pytest.mark.task(12)
def test_facet_request_is_an_aggregation_without_hits() -> None:
    buckets = [{"key": "databases", "doc_count": 4}, {"key": "python", "doc_count": 1}]
    client = RecordingClient()
    es = client.as_client()
    # The aggregation's name is the learner's: answer under whichever name was asked for.
    original = client.search

    def answer(**kwargs: Any) -> Mapping[str, Any]:
        original(**kwargs)
        aggs = client.requests[-1].get("aggs", client.requests[-1].get("aggregations", {}))
        return {"hits": {"hits": []}, "aggregations": {name: {"buckets": buckets} for name in aggs}}

    client.search = answer  # type: ignore[method-assign]
    assert category_facets(es, "idx") == {"databases": 4, "python": 1}
    assert category_facets(es, "idx", "postgresql") == {"databases": 4, "python": 1}
    everything, matching = client.requests
    for request in (everything, matching):
        assert request["size"] == 0, "size=0: the buckets are the answer, no hits needed"
        aggs = request.get("aggs", request.get("aggregations"))
        assert aggs and len(aggs) == 1, "one aggregation"
        (terms,) = aggs.values()
        assert terms["terms"]["field"] == "category", "a terms aggregation on the keyword field"
    assert everything.get("query", {"match_all": {}}) == {"match_all": {}}, (
        "no text: every document counts (match_all)"
    )
    assert_title_boosted_multi_match(matching["query"], "postgresql")
