"""Task 1: the pool. Round robin, weights, least_conn, and passive health checks."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable

import pytest

from .conftest import BackendServer, Proxy, site
from .nginx_conf import Site

SLOW_MS = 400


@pytest.mark.task(1)
def test_round_robin_takes_turns(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends))
    assert proxy.spread(30) == {"a": 10, "b": 10, "c": 10}


@pytest.mark.task(1)
def test_weights_skew_round_robin(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    a, b, c = backends
    weighted = (a.backend(weight=3), b.backend(), c.backend(weight=2))
    proxy = start_nginx(site(weighted))
    assert proxy.spread(30) == {"a": 15, "b": 5, "c": 10}


def _concurrent_spread(proxy: Proxy, clients: int, each: int) -> Counter[str]:
    """``clients`` threads, each sending ``each`` requests in turn; c is slow, a and b fast."""
    answered: Counter[str] = Counter()
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        with proxy.client() as http:
            for _ in range(each):
                response = http.get("/work", params={"slow_on": "c", "delay_ms": SLOW_MS})
                with lock:
                    if response.status_code == 200:
                        answered[response.json()["backend"]] += 1
                    else:
                        failures.append(response.text)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    return answered


@pytest.mark.task(1)
def test_least_conn_spares_a_slow_backend(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    # Round robin gives the slow backend its full third, however long it takes.
    turns = _concurrent_spread(start_nginx(site(backends)), clients=4, each=9)
    assert turns["c"] == 12
    # least_conn sends each request where the fewest are in flight: rarely to c.
    fewest = _concurrent_spread(start_nginx(site(backends, method="least_conn")), clients=4, each=9)
    assert sum(fewest.values()) == 36
    assert fewest["c"] <= 6


def _refused(proxy: Proxy, server: BackendServer) -> int:
    """How many times nginx tried ``server`` and found nothing listening."""
    pattern = re.compile(rf"connect\(\) failed \(111: .*upstream: \"http://{server.address}/")
    return len(pattern.findall(proxy.error_log()))


@pytest.mark.task(1)
def test_a_dead_backend_is_tried_max_fails_times_then_left_out(
    backends: list[BackendServer],
    start_backend: Callable[..., BackendServer],
    start_nginx: Callable[[Site], Proxy],
) -> None:
    a, b, _ = backends
    doomed = start_backend("x")
    pool = (a.backend(), b.backend(), doomed.backend())
    proxy = start_nginx(site(pool, max_fails=2, fail_timeout_s=120))
    assert proxy.spread(3) == {"a": 1, "b": 1, "x": 1}
    doomed.process.kill()
    # Every request still succeeds: nginx moves on to the next backend.
    assert set(proxy.spread(30)) == {"a", "b"}
    # max_fails refused connections within fail_timeout mark x down: no more tries.
    assert _refused(proxy, doomed) == 2
