"""Task 4 (and the start-up refusal of task 1): the service as a real process under uvicorn.

What the kubelet does is done here for real: the process is started, its probes are polled over
TCP, and it gets SIGTERM while a request is in flight. Every wait polls a condition under a
generous guard; no test measures how long anything took.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable

import httpx
import pytest

from katas.kit import daemon, free_port, port_open, wait_until

from .conftest import GUARD_S, PACKAGE, ROOT, TOKEN, Service

AUTH = {"Authorization": f"Bearer {TOKEN}"}


class SlowRequest(threading.Thread):
    """One /api/work request of ``seconds`` in a thread; its status, or the error it met."""

    def __init__(self, service: Service, seconds: float) -> None:
        super().__init__(daemon=True)
        self.service, self.seconds = service, seconds
        self.status: int | None = None
        self.body: object = None
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            response = self.service.get("/api/work", params={"seconds": self.seconds}, headers=AUTH)
            self.status = response.status_code
            self.body = response.json() if response.status_code == 200 else response.text
        except httpx.HTTPError as exc:
            self.error = exc

    def result(self) -> tuple[int | None, object]:
        self.join(GUARD_S)
        assert not self.is_alive(), "the request never ended"
        return self.status, self.body


def in_flight(service: Service) -> int:
    response = service.get("/readyz")
    return int(response.json()["in_flight"])


def until_unready(service: Service) -> httpx.Response:
    """Poll /readyz until it fails (a refused connection is an error, not a pass): the answer."""
    seen: list[httpx.Response] = []

    def unready() -> bool:
        seen.append(service.get("/readyz"))
        return seen[-1].status_code != 200

    wait_until(unready, "readiness to fail", service.process)
    return seen[-1]


def ready_service(start_service: Callable[..., Service], **settings: str) -> Service:
    service = start_service(**settings)
    wait_until(lambda: service.status("/readyz") == 200, "readiness", service.process)
    return service


@pytest.mark.task(4)
def test_the_probes_follow_the_warm_up(start_service: Callable[..., Service]) -> None:
    service = start_service(WARMUP_SECONDS="4")
    # The port opens before the warm-up ends: liveness answers, readiness and startup wait.
    assert service.status("/healthz") == 200
    assert service.status("/startupz") == 503
    assert service.status("/readyz") == 503
    wait_until(lambda: service.status("/readyz") == 200, "readiness", service.process)
    assert service.status("/startupz") == 200


@pytest.mark.task(4)
def test_sigterm_drains_then_closes_the_listener_finishes_work_and_exits_0(
    start_service: Callable[..., Service],
) -> None:
    service = ready_service(
        start_service, DRAIN_SECONDS="2", SHUTDOWN_TIMEOUT_SECONDS="20", GRACE_PERIOD_SECONDS="30"
    )
    slow = SlowRequest(service, 6)
    wait_until(lambda: in_flight(service) == 1, "the slow request to be in flight", service.process)

    service.process.send(signal.SIGTERM)
    # Still listening, but unready: the load balancer takes the pod out while it drains.
    draining = until_unready(service)
    assert (draining.status_code, draining.json()["status"]) == (503, "draining")
    assert service.status("/healthz") == 200, "liveness must hold during the drain"

    # After the drain the listener closes; the request in flight still runs to its end.
    wait_until(lambda: not port_open(service.port), "the listener to close", service.process)
    assert slow.is_alive(), "closing the listener must not cut the request in flight"
    assert slow.result() == (200, {"greeting": "hello", "slept": 6.0}), slow.error
    assert service.exit_code(timeout=30) == 0, "a clean stop exits 0, not 143 (killed by SIGTERM)"


@pytest.mark.task(4)
def test_work_past_the_shutdown_timeout_is_cut_so_the_pod_exits_in_its_grace_period(
    start_service: Callable[..., Service],
) -> None:
    service = ready_service(
        start_service, DRAIN_SECONDS="0.2", SHUTDOWN_TIMEOUT_SECONDS="1", GRACE_PERIOD_SECONDS="15"
    )
    slow = SlowRequest(service, 50)
    wait_until(lambda: in_flight(service) == 1, "the slow request to be in flight", service.process)
    service.process.send(signal.SIGTERM)
    # The kubelet would SIGKILL at the grace period; the process must be gone well before.
    assert service.exit_code(timeout=15) == 0
    status, _ = slow.result()
    assert status != 200, "a request cut by the shutdown timeout cannot have succeeded"


@pytest.mark.task(4)
def test_a_second_sigterm_stops_without_finishing_the_drain(
    start_service: Callable[..., Service],
) -> None:
    service = ready_service(start_service, DRAIN_SECONDS="120", GRACE_PERIOD_SECONDS="150")
    service.process.send(signal.SIGTERM)
    wait_until(lambda: service.status("/readyz") == 503, "the drain to begin", service.process)
    service.process.send(signal.SIGTERM)
    assert service.exit_code(timeout=30) == 0


@pytest.mark.task(4)
def test_sigint_stops_at_once_without_a_drain(start_service: Callable[..., Service]) -> None:
    service = ready_service(start_service, DRAIN_SECONDS="120", GRACE_PERIOD_SECONDS="150")
    service.process.send(signal.SIGINT)
    service.exit_code(timeout=30)
    assert "draining" not in service.process.output()


@pytest.mark.task(1)
def test_the_service_refuses_to_start_when_the_budget_does_not_fit() -> None:
    port = free_port()
    env = {
        "PYTHONPATH": str(ROOT),
        "API_TOKEN": TOKEN,
        "PORT": str(port),
        "DRAIN_SECONDS": "5",
        "SHUTDOWN_TIMEOUT_SECONDS": "10",
        "GRACE_PERIOD_SECONDS": "15",
    }
    argv = [sys.executable, "-m", f"{PACKAGE}.serve"]
    with daemon(argv, name="docker_k8s", env=env, cwd=ROOT) as process:
        try:
            code = process.process.wait(GUARD_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the service started with a budget that cannot fit:\n{process.output()}")
        assert code != 0
        assert "GRACE_PERIOD_SECONDS" in process.output()
        assert "Traceback" not in process.output(), "one line that says what to fix"
