"""Task 3: upstream keepalive. Far fewer connections to the backends than requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import BackendServer, Proxy, connections_from, site
from .nginx_conf import PROXY_ADDRESS, Site


def _opened(backends: list[BackendServer]) -> int:
    """Connections nginx has opened to the backends so far (it connects from PROXY_ADDRESS)."""
    return sum(connections_from(server.stats(), PROXY_ADDRESS) for server in backends)


@pytest.mark.task(3)
def test_keepalive_reuses_one_connection_per_backend(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends, keepalive=4))
    before = _opened(backends)
    assert proxy.spread(30) == {"a": 10, "b": 10, "c": 10}
    # One request at a time: each backend's connection goes back to the pool and is reused.
    assert _opened(backends) - before == 3
    seen = proxy.request("GET", "/whoami").json()
    assert seen["http_version"] == "1.1"
    assert seen["connection"] is None  # no "Connection: close" that would end it


@pytest.mark.task(3)
def test_without_keepalive_every_request_opens_a_connection(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends, keepalive=0))
    before = _opened(backends)
    assert proxy.spread(30) == {"a": 10, "b": 10, "c": 10}
    assert _opened(backends) - before == 30
