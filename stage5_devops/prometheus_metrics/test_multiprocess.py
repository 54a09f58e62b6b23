"""Task 2: /metrics, and gunicorn's two workers seen as one service in every scrape."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from katas.kit import wait_until

from .conftest import ITEMS, Server, in_background, key, parse_exposition, settles_at

REQUESTS = "http_requests_total"
IN_FLIGHT = key("http_requests_in_flight")
BUSY_MS = 2500  # long enough for a test's requests to be served while one worker is blocked


def requests_of(scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], route: str) -> float:
    return scrape.get(key(REQUESTS, method="GET", route=route, status="200"), 0.0)


def wait_for_in_flight(server: Server, expected: float) -> None:
    wait_until(
        lambda: server.scrape().get(IN_FLIGHT) == expected,
        f"{expected:g} requests in flight in one scrape",
        server.process,
        timeout=20,
    )


@dataclass
class Blocked:
    """The /busy request's response (once the block ends) and how many were sent."""

    response: list[httpx.Response] = field(default_factory=list)
    sent: int = 0


@contextlib.contextmanager
def one_worker_blocked(server: Server) -> Iterator[Blocked]:
    """A /busy request blocks one worker's event loop during the block: from the moment it is
    seen in flight, only the other worker accepts new connections."""
    blocked = Blocked()
    for _ in range(3):
        blocked.sent += 1
        with in_background(lambda: server.get("/busy", params={"ms": BUSY_MS})) as busy:
            # A scrape that its worker took just before blocking is answered afterwards: 0
            # again. Then try once more.
            wait_until(
                lambda: bool(busy) or server.scrape().get(IN_FLIGHT) == 1,
                "the /busy request in flight",
                server.process,
                timeout=20,
            )
            if not busy:
                blocked.response = busy
                yield blocked
                return
    raise AssertionError("never saw the /busy request in flight")


@pytest.mark.task(2)
def test_metrics_endpoint_of_a_single_process(local: Server) -> None:
    assert local.get("/items/3").status_code == 200
    response = local.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    scrape = parse_exposition(response.text)
    assert requests_of(scrape, ITEMS) >= 1
    assert key("process_open_fds") in scrape  # the default registry's process collector


@pytest.mark.task(2)
def test_both_workers_add_up_in_one_scrape(service: Server) -> None:
    before = service.scrape()
    # While one worker is blocked, the other accepts every new connection: the /busy request
    # and (at least) the first of the 40 are served by different processes.
    with one_worker_blocked(service) as blocked:
        pids = {service.get(f"/items/{n}").json()["pid"] for n in range(40)}
    [busy] = blocked.response
    assert busy.status_code == 200
    assert len(pids | {busy.json()["pid"]}) == 2
    expected = requests_of(before, ITEMS) + 40
    settles_at(lambda: requests_of(service.scrape(), ITEMS), expected, "/items counted")
    after = service.scrape()
    assert requests_of(after, ITEMS) == expected
    assert requests_of(after, "/busy") == requests_of(before, "/busy") + blocked.sent
    assert after[IN_FLIGHT] == 0


@pytest.mark.task(2)
def test_in_flight_is_one_series_summed_over_live_workers(service: Server) -> None:
    with one_worker_blocked(service) as blocked, service.streams(3) as pids:
        # One request on the blocked worker, three on the other: one series, their sum.
        in_flight = [
            (name, labels)
            for (name, labels) in service.scrape()
            if name == "http_requests_in_flight"
        ]
        assert in_flight == [IN_FLIGHT]
        wait_for_in_flight(service, 4)
    assert len({*pids, blocked.response[0].json()["pid"]}) == 2
    wait_for_in_flight(service, 0)


@pytest.mark.task(2)
def test_histograms_and_counters_have_no_pid_label(service: Server) -> None:
    assert service.get("/slow", params={"ms": 1}).status_code == 200
    scrape = service.scrape()
    ours = [labels for (name, labels) in scrape if name.startswith("http_")]
    assert ours
    assert not [labels for labels in ours if "pid" in dict(labels)]


@pytest.mark.task(2)
def test_a_killed_worker_leaves_no_request_in_flight(
    start_service: Callable[[], Server],
) -> None:
    server = start_service()
    assert server.get("/items/1").status_code == 200
    with server.streams(1) as [pid]:
        wait_for_in_flight(server, 1)
        # The worker dies mid-request (OOM killer, segfault): its counters stay in the sum,
        # its gauge must not, or the service reports a request in flight forever.
        os.kill(pid, signal.SIGKILL)
        wait_for_in_flight(server, 0)
