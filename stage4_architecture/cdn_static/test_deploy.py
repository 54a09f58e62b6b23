"""Task 7: after a deploy, purge exactly what changed behind a stable name."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import httpx
import pytest

from . import stack
from .conftest import ASSETS, Built, build, fetch, until
from .deploy import purge, stale_urls
from .stack import Server

pytestmark = pytest.mark.timeout(180)

BEFORE = {
    "css/app.css": "css/app.111111111111.css",
    "js/app.js": "js/app.222222222222.js",
    "img/old.png": "img/old.333333333333.png",
}


@pytest.mark.task(7)
def test_pages_first_then_the_changed_added_and_removed_names_sorted() -> None:
    after = {
        "js/app.js": "js/app.222222222222.js",  # unchanged: not purged
        "css/app.css": "css/app.444444444444.css",  # changed
        "a/new.js": "a/new.555555555555.js",  # added: a 404 for it may be cached
    }  # img/old.png removed: its unhashed URL must stop serving the old file
    assert stale_urls(BEFORE, after, ["/", "/about"]) == [
        "/",
        "/about",
        "/static/a/new.js",
        "/static/css/app.css",
        "/static/img/old.png",
    ]


@pytest.mark.task(7)
def test_a_deploy_that_changed_nothing_purges_only_the_pages() -> None:
    assert stale_urls(BEFORE, dict(BEFORE), ["/"]) == ["/"]
    assert stale_urls({}, {}, ["/", "/b"]) == ["/", "/b"]
    assert stale_urls({}, {"x.css": "x.666666666666.css"}, (p for p in ["/"])) == [
        "/",
        "/static/x.css",
    ]


@pytest.mark.task(7)
def test_a_refused_purge_raises(origin: Server) -> None:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        purge(origin.url, ["/"])  # the origin is no edge: PURGE is not a method it allows
    assert caught.value.response.status_code == 405
    assert purge(origin.url, []) == []


@pytest.mark.task(7)
def test_a_deploy_purges_what_changed_and_old_pages_still_get_their_files(
    built: Built, varnishd: str, tmp_path: Path
) -> None:
    assets, root = tmp_path / "assets", tmp_path / "static"
    shutil.copytree(ASSETS, assets)
    shutil.copytree(built.root, root)  # deployed already: the run's collected files
    before = Built(root, dict(built.manifest))
    old_css, kept_js = before.url("css/app.css"), before.url("js/app.js")
    with stack.origin(root, assets) as origin, stack.edge(varnishd, origin.port) as edge:
        old_page = fetch(edge, "/")
        old_style = fetch(edge, old_css)
        for path in ("/static/css/app.css", "/static/js/app.js", kept_js):
            assert fetch(edge, path).cache == "MISS"

        css = assets / "css/app.css"
        css.write_text(css.read_text() + ".site-banner { color: #e63946; }\n")
        after = build(root, assets)
        new_css = after.url("css/app.css")
        origin.daemon.send(signal.SIGHUP)  # gunicorn boots new workers on the new files
        until(
            lambda: reply if new_css.encode() in (reply := fetch(origin, "/")).body else None,
            "the reloaded origin to name the new stylesheet",
        )
        stale = fetch(edge, "/")
        assert (stale.cache, stale.body) == ("HIT", old_page.body), "the edge cannot know"

        urls = stale_urls(before.manifest, after.manifest, ["/"])
        assert urls == ["/", "/static/css/app.css"]
        assert purge(edge.url, urls) == [200, 200]

        page = fetch(edge, "/")
        assert (page.status, page.cache) == (200, "MISS")
        assert new_css.encode() in page.body and old_css.encode() not in page.body
        style = fetch(edge, new_css)
        assert (style.status, style.cache) == (200, "MISS")
        assert b".site-banner" in style.body
        unhashed = fetch(edge, "/static/css/app.css")
        assert (unhashed.cache, b".site-banner" in unhashed.body) == ("MISS", True)
        old = fetch(edge, old_css)
        assert (old.status, old.cache, old.body) == (200, "HIT", old_style.body), (
            "a page still open in a browser names the old file: it must keep working"
        )
        assert fetch(edge, "/static/js/app.js").cache == "HIT", "unchanged: not purged"
        assert fetch(edge, kept_js).cache == "HIT"
