"""Tasks 2 and 3, in-process: the lifecycle and its probes, and the one real endpoint.

The start-up work here is a coroutine the test holds open (``Gate``), so "before" and "after"
warm-up are states the test chooses, not moments it hopes to catch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import suppress

import httpx
import pytest
from fastapi.testclient import TestClient

from katas.kit import wait_until

from .app import Lifecycle, Phase, create_app
from .conftest import GUARD_S
from .settings import Settings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROBES = ("/healthz", "/startupz", "/readyz")


class Gate:
    """Start-up work that lasts until the test opens the gate (or fails when told to)."""

    def __init__(self, fail: bool = False) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        self.fail = fail

    async def __call__(self) -> None:
        self.entered.set()
        while not self.open.is_set():
            await asyncio.sleep(0.01)
        if self.fail:
            raise RuntimeError("the cache could not be primed")


def statuses(client: TestClient) -> dict[str, int]:
    return {path: client.get(path).status_code for path in PROBES}


@pytest.fixture
def lifecycle() -> Lifecycle:
    return Lifecycle()


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def client(lifecycle: Lifecycle, gate: Gate) -> Iterator[TestClient]:
    app = create_app(Settings(api_token=TOKEN, greeting="hi there"), lifecycle, gate)
    with TestClient(app) as client:
        try:
            yield client
        finally:
            gate.open.set()  # before the shutdown: one that awaits the warm-up must not hang


def ready(client: TestClient, lifecycle: Lifecycle, gate: Gate) -> None:
    gate.open.set()
    wait_until(lambda: lifecycle.phase is Phase.READY, "the warm-up to finish")


# --- task 2: the lifecycle and the probes -----------------------------------------------------


@pytest.mark.task(2)
def test_a_new_lifecycle_is_starting() -> None:
    lifecycle = Lifecycle()
    assert lifecycle.phase is Phase.STARTING
    assert (lifecycle.started, lifecycle.ready, lifecycle.in_flight) == (False, False, 0)


@pytest.mark.task(2)
def test_phases_move_forward_and_a_drain_is_final() -> None:
    lifecycle = Lifecycle()
    lifecycle.mark_ready()
    assert (lifecycle.phase, lifecycle.started, lifecycle.ready) == (Phase.READY, True, True)
    lifecycle.begin_drain()
    assert (lifecycle.phase, lifecycle.started, lifecycle.ready) == (Phase.DRAINING, True, False)
    lifecycle.mark_ready()
    assert lifecycle.phase is Phase.DRAINING, "a pod told to stop must never turn ready again"


@pytest.mark.task(2)
def test_a_drain_during_start_up_wins_over_the_warm_up() -> None:
    lifecycle = Lifecycle()
    lifecycle.begin_drain()
    lifecycle.mark_ready()
    assert (lifecycle.phase, lifecycle.ready) == (Phase.DRAINING, False)


@pytest.mark.task(2)
def test_while_warming_up_only_liveness_passes(client: TestClient, gate: Gate) -> None:
    assert gate.entered.wait(30), "the warm-up should start with the app, in the background"
    assert statuses(client) == {"/healthz": 200, "/startupz": 503, "/readyz": 503}
    assert client.get("/readyz").json() == {"status": "starting", "in_flight": 0}


@pytest.mark.task(2)
def test_after_the_warm_up_every_probe_passes(
    client: TestClient, lifecycle: Lifecycle, gate: Gate
) -> None:
    ready(client, lifecycle, gate)
    assert statuses(client) == {"/healthz": 200, "/startupz": 200, "/readyz": 200}
    assert client.get("/readyz").json() == {"status": "ready", "in_flight": 0}


@pytest.mark.task(2)
def test_draining_fails_readiness_only(
    client: TestClient, lifecycle: Lifecycle, gate: Gate
) -> None:
    ready(client, lifecycle, gate)
    lifecycle.begin_drain()
    # Liveness must still pass: a failing liveness probe would restart the pod mid-drain.
    assert statuses(client) == {"/healthz": 200, "/startupz": 200, "/readyz": 503}
    assert client.get("/healthz").json()["status"] == "draining"


@pytest.mark.task(2)
def test_a_failed_warm_up_leaves_the_pod_unstarted(lifecycle: Lifecycle) -> None:
    gate = Gate(fail=True)
    app = create_app(Settings(api_token=TOKEN), lifecycle, gate)
    with TestClient(app) as client:
        gate.open.set()
        # The failure is logged, not raised: the process keeps answering its liveness probe.
        client.get("/healthz")
        wait_until(lambda: statuses(client)["/healthz"] == 200, "the app to keep answering")
        assert statuses(client) == {"/healthz": 200, "/startupz": 503, "/readyz": 503}
        assert lifecycle.phase is Phase.STARTING


@pytest.mark.task(2)
def test_the_default_warm_up_waits_warmup_seconds(lifecycle: Lifecycle) -> None:
    app = create_app(Settings(api_token=TOKEN, warmup_seconds=0.0), lifecycle)
    with TestClient(app) as client:
        wait_until(lambda: lifecycle.ready, "a zero-second warm-up to finish")
        assert client.get("/startupz").status_code == 200


@pytest.mark.task(2)
def test_shutting_down_cancels_an_unfinished_warm_up(lifecycle: Lifecycle) -> None:
    cancelled, release = threading.Event(), threading.Event()

    async def endless() -> None:
        try:
            while not release.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def start_and_stop() -> None:
        with TestClient(create_app(Settings(api_token=TOKEN), lifecycle, endless)):
            pass

    # In a thread: a shutdown that awaits the warm-up without cancelling it would never end.
    worker = threading.Thread(target=start_and_stop, daemon=True)
    worker.start()
    worker.join(GUARD_S)
    hung = worker.is_alive()
    release.set()  # let a wrong solution finish, so the run can end
    worker.join(GUARD_S)
    assert not hung, "the shutdown hangs: cancel the warm-up task, then await it"
    assert cancelled.is_set(), "the lifespan's shutdown should cancel the warm-up task"
    assert lifecycle.phase is Phase.STARTING


# --- task 3: the work endpoint ----------------------------------------------------------------


@pytest.mark.task(3)
def test_work_answers_with_the_greeting(client: TestClient) -> None:
    response = client.get("/api/work", params={"seconds": "0.01"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"greeting": "hi there", "slept": 0.01}


@pytest.mark.task(3)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "wrong", "basic", "bare", "longer", "empty"],
)
def test_work_needs_the_token(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/api/work", headers=headers)
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"], "say what to send"


@pytest.mark.task(3)
def test_the_scheme_is_case_insensitive(client: TestClient) -> None:
    response = client.get("/api/work", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


@pytest.mark.task(3)
@pytest.mark.parametrize("seconds", ["-1", "61", "nan", "inf", "soon", "1e999"])
def test_hostile_durations_are_a_422(client: TestClient, seconds: str) -> None:
    response = client.get("/api/work", params={"seconds": seconds}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "seconds"]


@pytest.mark.task(3)
def test_work_in_flight_is_counted_and_reported(
    client: TestClient, lifecycle: Lifecycle, gate: Gate
) -> None:
    ready(client, lifecycle, gate)
    done: list[int] = []
    worker = threading.Thread(
        target=lambda: done.append(
            client.get("/api/work", params={"seconds": "3"}, headers=AUTH).status_code
        )
    )
    worker.start()
    wait_until(lambda: lifecycle.in_flight == 1, "the request to be in flight")
    assert client.get("/readyz").json() == {"status": "ready", "in_flight": 1}
    worker.join(30)
    assert done == [200]
    assert lifecycle.in_flight == 0


@pytest.mark.task(3)
def test_a_refused_request_is_never_counted(client: TestClient, lifecycle: Lifecycle) -> None:
    client.get("/api/work", headers={"Authorization": "Bearer wrong"})
    assert lifecycle.in_flight == 0


@pytest.mark.task(3)
def test_a_cancelled_request_is_uncounted(lifecycle: Lifecycle) -> None:
    """Cancelled work (the shutdown timeout, a server that cancels on disconnect) must leave the
    count, or /readyz reports work that no longer exists."""
    app = create_app(Settings(api_token=TOKEN), lifecycle)

    async def cancel_mid_request() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://greeter") as client:
            request = asyncio.create_task(
                client.get("/api/work", params={"seconds": "30"}, headers=AUTH)
            )
            async with asyncio.timeout(GUARD_S):
                while lifecycle.in_flight != 1:
                    await asyncio.sleep(0.01)
            request.cancel()
            with suppress(asyncio.CancelledError):
                await request
        return lifecycle.in_flight

    assert asyncio.run(cancel_mid_request()) == 0
