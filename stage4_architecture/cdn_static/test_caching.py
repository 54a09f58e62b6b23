"""Task 2: which URLs are hashed: the manifest decides, not the shape of the name."""

from __future__ import annotations

import pytest

from .caching import is_hashed

MANIFEST = {
    "css/app.css": "css/app.0a1b2c3d4e5f.css",
    "img/logo.svg": "img/logo.ffffffffffff.svg",
}


@pytest.mark.task(2)
@pytest.mark.parametrize(
    ("url", "hashed"),
    [
        ("/static/css/app.0a1b2c3d4e5f.css", True),
        ("/static/img/logo.ffffffffffff.svg", True),
        ("/static/css/app.css", False),  # a source name, not a hashed one
        ("/static/css/app.999999999999.css", False),  # shaped like a hash, not in the manifest
        ("/css/app.0a1b2c3d4e5f.css", False),  # not under /static/
        ("/assets/css/app.0a1b2c3d4e5f.css", False),
        ("/static/static/css/app.0a1b2c3d4e5f.css", False),
        ("static/css/app.0a1b2c3d4e5f.css", False),
        ("/static/", False),
        ("/static/css/", False),
    ],
)
def test_is_hashed_asks_the_manifest(url: str, hashed: bool) -> None:
    assert is_hashed(url, MANIFEST) is hashed


@pytest.mark.task(2)
def test_nothing_is_hashed_with_an_empty_manifest() -> None:
    assert is_hashed("/static/css/app.0a1b2c3d4e5f.css", {}) is False
