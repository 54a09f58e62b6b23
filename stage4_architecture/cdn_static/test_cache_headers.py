"""Tasks 2 and 3 on the origin: static files' cache headers, the page's short caching and ETag."""

from __future__ import annotations

import re

import pytest

from .conftest import Built, directives, fetch
from .stack import Server

pytestmark = pytest.mark.timeout(120)

YEAR = {"public": None, "max-age": "31536000", "immutable": None}
MINUTE = {"public": None, "max-age": "60"}


@pytest.mark.task(2)
def test_hashed_files_are_cached_a_year_and_immutable_others_a_minute(
    origin: Server, built: Built
) -> None:
    for name in built.manifest:
        hashed = fetch(origin, built.url(name))
        assert directives(hashed.header("Cache-Control")) == YEAR, built.url(name)
        plain = fetch(origin, f"/static/{name}")
        assert plain.status == 200
        assert directives(plain.header("Cache-Control")) == MINUTE, f"/static/{name}"


@pytest.mark.task(2)
def test_a_static_file_revalidates_with_its_etag_or_its_date(origin: Server, built: Built) -> None:
    url = built.url("js/app.js")
    first = fetch(origin, url)
    etag, modified = first.header("ETag"), first.header("Last-Modified")
    assert etag and modified
    for condition in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = fetch(origin, url, condition)
        assert (again.status, again.body) == (304, b""), condition
        assert directives(again.header("Cache-Control")) == YEAR, "a 304 renews the policy"
    assert fetch(origin, url, {"If-None-Match": '"other"'}).status == 200


def page_urls(html: bytes) -> set[str]:
    return set(re.findall(r'(?:href|src)="([^"]+)"', html.decode()))


@pytest.mark.task(3)
def test_the_page_names_hashed_files_and_is_cached_briefly_at_the_edge_only(
    origin: Server, built: Built
) -> None:
    reply = fetch(origin, "/")
    assert reply.status == 200
    assert reply.header("Content-Type").startswith("text/html")
    assert page_urls(reply.body) == {built.url(name) for name in built.manifest}
    assert directives(reply.header("Cache-Control")) == {
        "public": None,
        "max-age": "0",
        "s-maxage": "60",
    }


@pytest.mark.task(3)
def test_the_page_has_an_etag_of_its_content_and_answers_304_when_it_matches(
    origin: Server,
) -> None:
    first = fetch(origin, "/")
    etag = first.header("ETag")
    assert re.fullmatch(r'"[^"]+"', etag), f"a strong, quoted ETag, not {etag!r}"
    assert fetch(origin, "/").header("ETag") == etag, "the same content has the same ETag"
    for matching in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        again = fetch(origin, "/", {"If-None-Match": matching})
        assert (again.status, again.body) == (304, b""), matching
        assert again.header("ETag") == etag
        assert directives(again.header("Cache-Control"))["s-maxage"] == "60"
    other = fetch(origin, "/", {"If-None-Match": '"nope"'})
    assert (other.status, other.body) == (200, first.body)


@pytest.mark.task(3)
def test_the_page_answers_head_and_refuses_other_methods(origin: Server) -> None:
    head = fetch(origin, "/", method="HEAD")
    assert (head.status, head.body) == (200, b"")
    assert head.header("ETag") == fetch(origin, "/").header("ETag")
    for method in ("POST", "PUT", "DELETE"):
        assert fetch(origin, "/", method=method).status == 405, method
