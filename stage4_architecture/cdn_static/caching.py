"""How long each static file may be cached: the policy WhiteNoise applies to every file it serves.

A hashed name (``css/app.4f1c2b9d0e7a.css``) changes whenever the file's bytes change, so what it
names can never change: caches may keep it for a year and never ask again. An unhashed name
(``css/app.css``) keeps its name across deploys, so it may be cached only briefly. Only the
manifest that ``collectstatic`` wrote knows which names are hashed: a name that merely looks
hashed (``vendor/lib.0123456789ab.js``) is not one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast
from wsgiref.headers import Headers

from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

STATIC_URL = "/static/"
YEAR = 365 * 24 * 60 * 60  # seconds: the longest max-age RFC 9111 tells caches to expect
SHORT = 60  # seconds an unhashed name may be served from a cache without asking the origin


def manifest() -> Mapping[str, str]:
    """The manifest of the deployed files: each source name and its hashed name."""
    storage = cast(ManifestFilesMixin, staticfiles_storage)
    return storage.hashed_files


def is_hashed(url: str, names: Mapping[str, str]) -> bool:
    """Whether ``url`` is the URL of a hashed name in ``names`` (a manifest: name -> hashed)."""
    # kata: begin strip STATIC_URL (no prefix: not a static file), then look the rest up among the hashed names
    if not url.startswith(STATIC_URL):
        return False
    return url[len(STATIC_URL) :] in set(names.values())
    # kata: end


def cache_headers(headers: Headers, path: str, url: str) -> None:
    """WhiteNoise's ``add_headers_function``: set ``Cache-Control`` for the file at ``url``.

    Hashed: public, for a year, and ``immutable`` (a browser does not even revalidate it on
    reload). Anything else: public, for ``SHORT`` seconds.
    """
    # kata: begin one year and immutable for a hashed name of manifest(); SHORT seconds otherwise
    if is_hashed(url, manifest()):
        headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        headers["Cache-Control"] = f"public, max-age={SHORT}"
    # kata: end
