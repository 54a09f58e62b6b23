"""Task 5: oversized and malformed requests end at nginx with a 4xx, never a 5xx."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from katas.kit import raw_http

from .conftest import BackendServer, Proxy, site
from .nginx_conf import Site

MAX_BODY = 16 * 1024


def _posts(backends: list[BackendServer]) -> int:
    return sum(int(server.stats()["requests"].get("POST", 0)) for server in backends)


@pytest.mark.task(5)
def test_a_body_over_the_limit_is_refused_before_any_backend(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends, max_body_bytes=MAX_BODY))
    before = _posts(backends)
    assert proxy.request("POST", "/work", content=b"x" * MAX_BODY).status_code == 200
    refused = proxy.request("POST", "/work", content=b"x" * (MAX_BODY + 1))
    assert refused.status_code == 413
    assert "Too Large" in refused.text
    assert _posts(backends) - before == 1


@pytest.mark.task(5)
def test_a_header_over_the_buffer_is_refused(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends, header_buffers=(4, 2048)))
    # A header line must fit in one buffer: 1.5 KiB does, 3 KiB does not.
    fits = proxy.request("GET", "/work", headers={"X-Big": "y" * 1500})
    assert fits.status_code == 200
    refused = proxy.request("GET", "/work", headers={"X-Big": "y" * 3000})
    assert refused.status_code in {400, 431, 494}
    assert "Too Large" in refused.text


@pytest.mark.task(5)
@pytest.mark.parametrize("delay", ["-1", "soon", "1e9", "99999999999999999999"])
def test_a_bad_parameter_is_a_422_through_nginx(
    delay: str, backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends))
    response = proxy.request("GET", "/work", params={"delay_ms": delay})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "delay_ms"]


@pytest.mark.task(5)
def test_garbage_is_a_400_from_nginx(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends))
    answer = raw_http(proxy.port, b"HELLO?? \x00\x01 nonsense\r\n\r\n")
    assert answer.status == 400
