"""Task 4: what nginx tells the backend about the client."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import BackendServer, Proxy, site
from .nginx_conf import Site

FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Real-IP": "10.9.9.9"}


@pytest.mark.task(4)
def test_the_backend_hears_the_client_host_and_scheme(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends))
    seen = proxy.request("GET", "/whoami", headers={"Host": "shop.example"}).json()
    assert seen["host"] == "shop.example"  # not the upstream's name, "backends"
    assert seen["x_real_ip"] == "127.0.0.1"
    assert seen["x_forwarded_for"] == "127.0.0.1"
    assert seen["x_forwarded_proto"] == "http"


@pytest.mark.task(4)
def test_forged_headers_do_not_pass_for_the_truth(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends))
    seen = proxy.request("GET", "/whoami", headers=FORGED).json()
    # nginx knows the scheme and the peer: it overwrites those two.
    assert seen["x_forwarded_proto"] == "http"
    assert seen["x_real_ip"] == "127.0.0.1"
    # X-Forwarded-For is a chain: nginx appends the peer it saw, and a server that trusts only
    # nginx reads the chain from the right, stopping at the address nginx vouches for.
    assert seen["x_forwarded_for"].split(", ")[-1] == "127.0.0.1"
