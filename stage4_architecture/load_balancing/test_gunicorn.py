"""Task 6: gunicorn behind nginx. Trust only the proxy, outlive its idle connections, reload."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable

import pytest

from katas.kit import wait_until

from .conftest import BackendServer, Proxy, connections_from, site
from .nginx_conf import PROXY_ADDRESS, Site

FORGED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}


@pytest.mark.task(6)
def test_proxy_headers_are_believed_from_the_proxy_only(backends: list[BackendServer]) -> None:
    a = backends[0]
    from_proxy = a.get("/whoami", source=PROXY_ADDRESS, headers=FORGED).json()
    assert (from_proxy["client"], from_proxy["scheme"]) == ("198.51.100.7", "https")
    # Any other local process is not the proxy: its headers are just claims.
    direct = a.get("/whoami", source="127.0.0.1", headers=FORGED).json()
    assert (direct["client"], direct["scheme"]) == ("127.0.0.1", "http")


@pytest.mark.task(6)
def test_through_nginx_the_app_sees_the_real_client(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends))
    seen = proxy.request("GET", "/whoami", headers=FORGED).json()
    assert (seen["client"], seen["scheme"]) == ("127.0.0.1", "http")


@pytest.mark.task(6)
def test_an_idle_upstream_connection_survives_a_pause(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    a = backends[0]
    proxy = start_nginx(site([a]))
    before = connections_from(a.stats(), PROXY_ADDRESS)
    with proxy.client() as client:
        assert client.get("/work").status_code == 200
        # Idle longer than gunicorn's default keepalive (2 s): a backend that closes first
        # races nginx, which may be sending the next request on that connection just then.
        time.sleep(3)
        assert client.get("/work").status_code == 200
    assert connections_from(a.stats(), PROXY_ADDRESS) - before == 1


def _worker_pids(log: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", log)]


@pytest.mark.task(6)
def test_a_reload_under_load_drops_nothing(
    start_backend: Callable[..., BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    server = start_backend("r")
    proxy = start_nginx(site([server]))
    old = set(_worker_pids(server.process.output()))
    statuses: list[int] = []
    pids: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with proxy.client() as client:
            while not stop.is_set():
                # Requests last 100 ms, so some are always in flight when the workers change.
                response = client.get("/work", params={"slow_on": "r", "delay_ms": 100})
                statuses.append(response.status_code)
                if response.status_code == 200:
                    pids.append(response.json()["pid"])

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(statuses) >= 10, "requests before the reload")
        server.process.send(signal.SIGHUP)  # to the master: new workers, then the old ones go
        wait_until(
            lambda: all(
                f"Finished server process [{pid}]" in server.process.output() for pid in old
            ),
            "the old workers to finish",
            server.process,
        )
        new = set(_worker_pids(server.process.output())) - old
        wait_until(lambda: len(new & set(pids)) > 0, "a new worker to answer")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert len(new) == 1
    assert set(statuses) == {200}
