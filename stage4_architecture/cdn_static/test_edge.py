"""Tasks 4 to 6: the Varnish edge: hits and misses, one copy per encoding, PURGE, grace and 503."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator

import pytest

from . import stack
from .conftest import ASSETS, Built, Edge, Reply, directives, fetch, unbrotli, until
from .stack import Server
from .test_collect import TRAVERSALS

pytestmark = pytest.mark.timeout(120)

# (Accept-Encoding sent, X-Cache expected, Content-Encoding expected), in this order.
ENCODINGS = [
    ("gzip, deflate, br", "MISS", "br"),
    ("br", "HIT", "br"),
    ("br;q=1.0, gzip;q=0.8", "HIT", "br"),
    ("gzip, deflate", "MISS", "gzip"),
    ("gzip", "HIT", "gzip"),
    ("deflate, gzip", "HIT", "gzip"),
    (None, "MISS", ""),
    ("identity", "HIT", ""),
    ("deflate", "HIT", ""),
]
DECODE: dict[str, Callable[[bytes], bytes]] = {"br": unbrotli, "gzip": gzip.decompress, "": bytes}


@pytest.mark.task(4)
def test_the_second_request_is_a_hit_with_the_same_bytes(edge: Edge, origin: Server) -> None:
    for path in ("/", "/static/css/app.css"):
        first, second = edge.fetch(path), edge.fetch(path)
        assert (first.status, first.cache) == (200, "MISS"), path
        assert (second.status, second.cache) == (200, "HIT"), path
        assert first.body == second.body == fetch(origin, path).body


@pytest.mark.task(4)
def test_one_cached_copy_per_encoding_whatever_the_browser_sends(edge: Edge, built: Built) -> None:
    url = built.url("css/app.css")
    plain = (built.root / built.manifest["css/app.css"]).read_bytes()
    for accept, cache, encoding in ENCODINGS:
        reply = edge.fetch(url, {"Accept-Encoding": accept} if accept else {})
        assert (reply.status, reply.cache) == (200, cache), f"Accept-Encoding: {accept}"
        assert reply.header("Content-Encoding") == encoding, f"Accept-Encoding: {accept}"
        assert DECODE[encoding](reply.body) == plain
        assert "Accept-Encoding" in reply.header("Vary")


@pytest.mark.task(4)
def test_cookies_do_not_defeat_the_cache_for_static_files_but_pass_pages(
    edge: Edge, built: Built
) -> None:
    cookie = {"Cookie": "sessionid=abc123; _ga=GA1.2.3"}
    url = built.url("js/app.js")
    assert edge.fetch(url).cache == "MISS"
    assert edge.fetch(url, cookie).cache == "HIT"
    assert edge.fetch("/static/js/app.js", cookie).cache == "MISS"
    assert edge.fetch("/static/js/app.js", cookie).cache == "HIT"
    assert edge.fetch("/").cache == "MISS"
    page = edge.fetch("/", cookie)
    assert (page.status, page.cache) == (200, "PASS"), "a page may depend on its cookies"


@pytest.mark.task(4)
def test_a_client_cannot_forge_x_cache(edge: Edge) -> None:
    reply = edge.fetch("/static/img/logo.svg", {"X-Cache": "HIT"})
    assert reply.headers.get_all("X-Cache") == ["MISS"]


@pytest.mark.task(4)
def test_the_edge_answers_conditional_requests_from_its_cache(edge: Edge, built: Built) -> None:
    for path in ("/", built.url("img/logo.svg")):
        etag = edge.fetch(path).header("ETag")
        again = edge.fetch(path, {"If-None-Match": etag})
        assert (again.status, again.cache, again.body) == (304, "HIT", b""), path


@pytest.mark.task(4)
def test_traversal_through_the_edge_is_a_404(edge: Edge) -> None:
    for path in TRAVERSALS:
        reply = edge.fetch(path)
        assert reply.status == 404, f"{path}: {reply.status}"
        assert b"SECRET_KEY" not in reply.body and b"root:" not in reply.body
    assert edge.fetch("/static/css/app.css").cache == "MISS", "and a file still is served"


def purge(edge: Edge, path: str, source: str = "127.0.0.1") -> Reply:
    return edge.fetch(path, method="PURGE", source=source)


@pytest.mark.task(5)
def test_purge_drops_every_encoding_of_the_object(edge: Edge, built: Built) -> None:
    url = built.url("css/app.css")
    variants = [{"Accept-Encoding": "br"}, {"Accept-Encoding": "gzip"}, {}]
    for headers in variants:
        edge.fetch(url, headers)
        assert edge.fetch(url, headers).cache == "HIT"
    assert purge(edge, url).status == 200
    for headers in variants:
        assert edge.fetch(url, headers).cache == "MISS", headers
        assert edge.fetch(url, headers).cache == "HIT", headers


@pytest.mark.task(5)
def test_purging_what_is_not_cached_is_fine(edge: Edge) -> None:
    assert purge(edge, "/static/img/logo.svg").status == 200
    assert edge.fetch("/static/img/logo.svg").cache == "MISS"


@pytest.mark.task(5)
def test_purge_is_refused_to_any_other_address(edge: Edge) -> None:
    assert edge.fetch("/").cache == "MISS"
    refused = purge(edge, "/", source="127.0.0.2")
    assert refused.status == 405
    assert b"deploy host" in refused.body, "say why, not only no"
    assert edge.fetch("/").cache == "HIT", "a refused purge changed nothing"
    assert edge.fetch("/", source="127.0.0.2").cache == "HIT", "that address may still read"


@pytest.mark.task(6)
def test_a_purged_page_is_fetched_again_while_the_origin_is_healthy(edge: Edge) -> None:
    edge.fetch("/")
    assert edge.fetch("/").cache == "HIT"
    assert purge(edge, "/").status == 200
    again = edge.fetch("/")
    assert (again.status, again.cache) == (200, "MISS"), "a healthy origin: no stale copy"
    assert edge.fetch("/").cache == "HIT"


@pytest.fixture
def doomed(built: Built, varnishd: str) -> Iterator[tuple[Server, Edge]]:
    """An origin of its own (the test kills it) and an edge in front of it."""
    with stack.origin(built.root, ASSETS) as origin, stack.edge(varnishd, origin.port) as edge:
        yield origin, Edge(edge)


def served(edge: Edge, path: str) -> Reply | None:
    reply = edge.fetch(path)
    return None if reply.status == 503 else reply


@pytest.mark.task(6)
def test_with_the_origin_down_the_edge_serves_what_it_has_and_503_for_the_rest(
    doomed: tuple[Server, Edge], built: Built
) -> None:
    origin, edge = doomed
    css = built.url("css/app.css")
    page, style = edge.fetch("/"), edge.fetch(css)
    assert (page.cache, style.cache) == ("MISS", "MISS")
    assert purge(edge, "/").status == 200, "soft: the page stays, past its TTL"

    origin.daemon.kill()

    style_now = edge.fetch(css)
    assert (style_now.status, style_now.cache, style_now.body) == (200, "HIT", style.body)
    never = edge.fetch(built.url("js/app.js"))
    assert never.status == 503, "never cached, and no origin to ask"
    assert never.header("Content-Type").startswith("text/plain")
    assert b"origin is unavailable" in never.body
    assert never.header("Retry-After") == "10"
    assert "no-store" in directives(never.header("Cache-Control"))
    # Until its probe has seen the origin fail, the edge still tries it (a 503); then it serves
    # the page it kept, stale, rather than nothing.
    stale = until(lambda: served(edge, "/"), "the edge to serve its stale copy of the page")
    assert (stale.status, stale.cache, stale.body) == (200, "STALE", page.body)
    assert edge.fetch("/").cache == "STALE", "and keeps serving it"
