"""After a deploy: tell the edge what it must forget.

Hashed URLs never need it: new content got a new name, and the old name still serves the old
content to pages that still name it. What must go are the URLs whose names stayed while their
content changed: the pages (they now name new hashed files) and the unhashed static names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import httpx

from .caching import STATIC_URL


def stale_urls(
    before: Mapping[str, str], after: Mapping[str, str], pages: Iterable[str]
) -> list[str]:
    """The URLs to purge after a deploy that took the manifest from ``before`` to ``after``:
    every page, then ``STATIC_URL`` + each name that was added, removed or changed, sorted."""
    # kata: begin the pages, then the sorted static URLs of names whose hashed name differs (added and removed included)
    names = before.keys() | after.keys()
    changed = sorted(name for name in names if before.get(name) != after.get(name))
    return [*pages, *(STATIC_URL + name for name in changed)]
    # kata: end


def purge(edge: str, urls: Iterable[str], *, timeout: float = 10.0) -> list[int]:
    """Send ``PURGE`` for each URL to the edge at ``edge`` (``http://host:port``), in order; the
    status of each. A refused purge raises ``httpx.HTTPStatusError``: a deploy must not go on
    believing the edge forgot what it did not."""
    # kata: begin one client for all URLs; PURGE each, raise for an error status, collect the statuses
    statuses = []
    with httpx.Client(base_url=edge, timeout=timeout) as client:
        for url in urls:
            response = client.request("PURGE", url)
            response.raise_for_status()
            statuses.append(response.status_code)
    return statuses
    # kata: end
