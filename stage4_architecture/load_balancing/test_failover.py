"""Task 2: failover. A sick, a frozen and a killed backend; bounded tries; POST is not replayed."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from katas.kit import wait_until

from .conftest import BackendServer, Proxy, site
from .nginx_conf import Site


def _requests(server: BackendServer, method: str = "GET") -> int:
    return int(server.stats()["requests"].get(method, 0))


@pytest.mark.task(2)
def test_a_backend_answering_503_is_skipped_and_marked_down(
    backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    _, b, _ = backends
    proxy = start_nginx(site(backends, max_fails=1, fail_timeout_s=120))
    before = _requests(b)
    # b answers 503 to everything: the clients never see it.
    assert set(proxy.spread(30, fail_on="b")) == {"a", "c"}
    # A 503 counted as a failure, so after one b was left out for fail_timeout.
    assert _requests(b) - before == 1


@pytest.mark.task(2)
@pytest.mark.parametrize("tries", [1, 2])
def test_one_request_tries_at_most_tries_backends(
    tries: int, backends: list[BackendServer], start_nginx: Callable[[Site], Proxy]
) -> None:
    proxy = start_nginx(site(backends, tries=tries))
    before = sum(_requests(s) for s in backends)
    response = proxy.request("GET", "/work", params={"fail_on": "a,b,c"})
    # Every backend is sick: the client gets the last one's 503, after `tries` attempts.
    assert response.status_code == 503
    assert response.json()["error"]
    assert sum(_requests(s) for s in backends) - before == tries


@contextmanager
def _frozen(server: BackendServer) -> Iterator[None]:
    """SIGSTOP the backend's processes (a stuck process: it accepts, but never answers)."""
    os.killpg(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(server.process.pid, signal.SIGCONT)


@pytest.mark.task(2)
def test_a_frozen_backend_times_out_and_another_answers(
    backends: list[BackendServer],
    start_backend: Callable[..., BackendServer],
    start_nginx: Callable[[Site], Proxy],
) -> None:
    a, b, _ = backends
    stuck = start_backend("x")
    proxy = start_nginx(site([a, b, stuck], read_timeout_s=1, connect_timeout_s=1))
    with _frozen(stuck):
        # The kernel still accepts connections for x; only the read timeout notices.
        assert set(proxy.spread(6)) == {"a", "b"}
    assert "timed out" in proxy.error_log()


class _InFlight:
    """One request through nginx in a thread of its own; the response once it is back."""

    def __init__(self, proxy: Proxy, method: str, params: dict[str, str | int]) -> None:
        self.response: httpx.Response | None = None
        self.thread = threading.Thread(target=self._send, args=(proxy, method, params))
        self.thread.start()

    def _send(self, proxy: Proxy, method: str, params: dict[str, str | int]) -> None:
        self.response = proxy.request(method, "/work", params=params)

    def result(self) -> httpx.Response:
        self.thread.join(60)
        assert self.response is not None, "the request did not come back"
        return self.response


def _park_on(server: BackendServer, proxy: Proxy, method: str) -> _InFlight:
    """Send requests until one is in flight on ``server`` (slow there only); return that one."""
    params: dict[str, str | int] = {"slow_on": server.id, "delay_ms": 20_000}
    for _ in range(10):
        before = server.stats()["in_flight"]
        sent = _InFlight(proxy, method, params)

        def landed(sent: _InFlight = sent, before: int = before) -> bool:
            return sent.response is not None or server.stats()["in_flight"] > before

        wait_until(landed, f"a {method} to land somewhere")
        if sent.response is None:
            return sent
    raise AssertionError(f"no {method} reached backend {server.id} in 10 tries")


@pytest.mark.task(2)
def test_a_backend_killed_mid_request_loses_no_get_and_replays_no_post(
    backends: list[BackendServer],
    start_backend: Callable[..., BackendServer],
    start_nginx: Callable[[Site], Proxy],
) -> None:
    a, b, _ = backends
    doomed = start_backend("x")
    proxy = start_nginx(site([a, b, doomed]))
    get = _park_on(doomed, proxy, "GET")
    post = _park_on(doomed, proxy, "POST")
    posts_before = _requests(a, "POST") + _requests(b, "POST")
    doomed.process.kill()
    # The GET is safe to repeat: nginx sends it to the next backend, and the client never knows.
    answered = get.result()
    assert answered.status_code == 200
    assert answered.json()["backend"] in {"a", "b"}
    # The POST may have done its work before x died: repeating it could do it twice.
    assert post.result().status_code == 502
    assert _requests(a, "POST") + _requests(b, "POST") == posts_before
