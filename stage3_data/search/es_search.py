"""Full-text search in Elasticsearch: an explicit mapping, a custom analyzer, queries, facets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from elasticsearch import Elasticsearch, helpers

from .corpus import Article

ANALYZER = "english_synonyms"
SYNONYMS = ["k8s, kubernetes", "postgres, postgresql", "js, javascript"]


def index_settings() -> dict[str, Any]:
    """One shard (exact scores on a small corpus), no replica, and the ``english_synonyms`` analyzer."""
    # kata: begin a custom analyzer: standard tokenizer; possessive stemmer, lowercase, asciifolding, SYNONYMS, English stop words, English stemmer
    return {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "analysis": {
            "filter": {
                "english_possessive_stemmer": {
                    "type": "stemmer",
                    "language": "possessive_english",
                },
                "tech_synonyms": {"type": "synonym", "synonyms": SYNONYMS},
                "english_stop": {"type": "stop", "stopwords": "_english_"},
                "english_stemmer": {"type": "stemmer", "language": "english"},
            },
            "analyzer": {
                ANALYZER: {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": [
                        "english_possessive_stemmer",
                        "lowercase",
                        "asciifolding",
                        "tech_synonyms",
                        "english_stop",
                        "english_stemmer",
                    ],
                }
            },
        },
    }
    # kata: end


def index_mappings() -> dict[str, Any]:
    """Strict mapping: analysed title/body, keyword tags/category, a date; unknown fields refused."""
    # kata: begin dynamic strict; title and body text with ANALYZER; tags and category keyword; published date
    text = {"type": "text", "analyzer": ANALYZER}
    return {
        "dynamic": "strict",
        "properties": {
            "title": text,
            "body": text,
            "tags": {"type": "keyword"},
            "category": {"type": "keyword"},
            "published": {"type": "date"},
        },
    }
    # kata: end


def create_index(es: Elasticsearch, index: str) -> None:
    es.indices.create(index=index, settings=index_settings(), mappings=index_mappings())


def bulk_index(es: Elasticsearch, index: str, articles: Iterable[Article]) -> int:
    """Index every article under its own id in bulk; searchable when this returns."""
    # kata: begin helpers.bulk with one action per article (_index, _id, _source) and refresh, return the success count
    actions = (
        {
            "_index": index,
            "_id": article.id,
            "_source": {
                "title": article.title,
                "body": article.body,
                "tags": list(article.tags),
                "category": article.category,
                "published": article.published.isoformat(),
            },
        }
        for article in articles
    )
    indexed, _errors = helpers.bulk(es, actions, refresh="wait_for")
    return indexed
    # kata: end


def _ids(response: Any) -> list[str]:
    return [hit["_id"] for hit in response["hits"]["hits"]]


def match_body(es: Elasticsearch, index: str, text: str, *, size: int = 10) -> list[str]:
    """Ids of the articles whose body matches ``text``, best first."""
    # kata: begin a match query on body
    return _ids(es.search(index=index, query={"match": {"body": text}}, size=size))
    # kata: end


def search(es: Elasticsearch, index: str, text: str, *, size: int = 10) -> list[str]:
    """Ids matching ``text`` in title or body, a title match counting three times as much."""
    # kata: begin a multi_match over title^3 and body
    query = {"multi_match": {"query": text, "fields": ["title^3", "body"]}}
    return _ids(es.search(index=index, query=query, size=size))
    # kata: end


def filtered_search(
    es: Elasticsearch,
    index: str,
    text: str,
    *,
    category: str,
    since: date,
    until: date,
    prefer_tags: Sequence[str] = (),
    size: int = 10,
) -> list[str]:
    """``search`` restricted to a category and a date range; ``prefer_tags`` only re-orders."""
    # kata: begin bool: must the multi_match, filter a category term and a published range, should a terms on tags
    query: dict[str, Any] = {
        "bool": {
            "must": [{"multi_match": {"query": text, "fields": ["title^3", "body"]}}],
            "filter": [
                {"term": {"category": category}},
                {"range": {"published": {"gte": since.isoformat(), "lte": until.isoformat()}}},
            ],
        }
    }
    if prefer_tags:
        query["bool"]["should"] = [{"terms": {"tags": list(prefer_tags)}}]
    return _ids(es.search(index=index, query=query, size=size))
    # kata: end


def highlights(es: Elasticsearch, index: str, text: str) -> dict[str, list[str]]:
    """For each body match: its fragments, the matched words wrapped in ``<em>…</em>``."""
    # kata: begin match on body with a highlight on body; map each hit's id to highlight["body"]
    response = es.search(
        index=index,
        query={"match": {"body": text}},
        highlight={"fields": {"body": {}}, "pre_tags": ["<em>"], "post_tags": ["</em>"]},
    )
    return {hit["_id"]: hit["highlight"]["body"] for hit in response["hits"]["hits"]}
    # kata: end


def category_facets(es: Elasticsearch, index: str, text: str | None = None) -> dict[str, int]:
    """Matches per category (all articles when ``text`` is None), from a terms aggregation."""
    # kata: begin size 0, match_all or the multi_match, a terms aggregation on category; bucket key -> doc_count
    query = (
        {"match_all": {}}
        if text is None
        else {"multi_match": {"query": text, "fields": ["title^3", "body"]}}
    )
    response = es.search(
        index=index,
        size=0,
        query=query,
        aggs={"categories": {"terms": {"field": "category", "size": 20}}},
    )
    buckets = response["aggregations"]["categories"]["buckets"]
    return {bucket["key"]: bucket["doc_count"] for bucket in buckets}
    # kata: end
