"""Fixtures: the service in this process, under gunicorn with two workers, and a real Prometheus.

``local`` serves the app with uvicorn in a thread of the test process, so a test reads the
metrics straight from prometheus_client's default registry. ``service`` runs it under gunicorn
(two uvicorn workers, multiprocess mode) for the whole run; ``start_service`` starts one of the
test's own (to kill a worker). ``prometheus`` is one Prometheus for the run, scraping ``service``
every second, started on first use. Counters only grow, so tests measure what changed.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from katas.kit import Daemon, daemon, free_port, serve_asgi, wait_until

from .app import app

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGE = __package__ or "stage5_devops.prometheus_metrics"
TIMEOUT = httpx.Timeout(20.0)  # only bounds a failure; a healthy request takes milliseconds
START_TIMEOUT_S = 60.0  # a loaded 2-core machine imports FastAPI slowly
SCRAPE_INTERVAL = "1s"
ITEMS = "/items/{item_id}"

# A series: metric sample name and its labels, sorted.
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def key(name: str, **labels: str) -> SeriesKey:
    return name, tuple(sorted(labels.items()))


def parse_exposition(text: str) -> dict[SeriesKey, float]:
    """Every sample of a /metrics page; a series given twice is an error (a double count)."""
    samples: dict[SeriesKey, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series = key(sample.name, **sample.labels)
            assert series not in samples, f"series exposed twice: {series}"
            samples[series] = sample.value
    return samples


def local_value(name: str, **labels: str) -> float:
    """A sample of this process's default registry; 0 for a series not created yet."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def local_series(name: str) -> list[dict[str, str]]:
    """The label sets of every sample called ``name`` in this process's registry."""
    return [
        dict(sample.labels)
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name
    ]


def settles_at(read: Callable[[], float | None], expected: float, what: str) -> None:
    """Assert that ``read()`` reaches ``expected`` (and name the last value if it does not).

    A server records a request in the middleware's ``finally``, just after the response's last
    bytes left: the client can be a moment ahead of it, so a check waits briefly."""
    seen: list[float | None] = []

    def reached() -> bool:
        seen.append(read())
        return seen[-1] == expected

    try:
        wait_until(reached, f"{what} == {expected:g}", timeout=10)
    except AssertionError:
        raise AssertionError(f"{what}: expected {expected:g}, got {seen[-1]}") from None


@dataclass
class Server:
    """An HTTP server of the app, on 127.0.0.1; every request on a fresh connection, so a
    gunicorn master hands each to whichever worker accepts it first."""

    port: int
    process: Daemon | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def scrape(self) -> dict[SeriesKey, float]:
        response = self.get("/metrics")
        assert response.status_code == 200, response.text
        return parse_exposition(response.text)

    def sample(self, name: str, **labels: str) -> float:
        """One sample of a scrape; 0 for a series not created yet."""
        return self.scrape().get(key(name, **labels), 0.0)

    def served(self, route: str, status: int, method: str = "GET") -> float:
        """How many requests the service has counted for a route and status, in one scrape."""
        return self.sample("http_requests_total", method=method, route=route, status=str(status))

    def answers(self) -> bool:
        try:
            return self.get("/items/0").status_code == 200
        except httpx.HTTPError:
            return False

    @contextlib.contextmanager
    def streams(self, count: int) -> Iterator[list[int]]:
        """``count`` /stream downloads held open: the pids of the workers serving them.
        They end (the client hangs up) when the block exits."""
        with contextlib.ExitStack() as stack:
            pids: list[int] = []
            opened: list[Iterator[str]] = []
            for _ in range(count):
                client = stack.enter_context(httpx.Client(timeout=TIMEOUT))
                response = stack.enter_context(
                    client.stream("GET", self.url + "/stream", params={"seconds": 60})
                )
                assert response.status_code == 200
                # Keep the line iterator: dropping it would close the stream at once.
                lines = response.iter_lines()
                pids.append(int(next(lines)))
                opened.append(lines)
            yield pids


@contextlib.contextmanager
def in_background(call: Callable[[], httpx.Response]) -> Iterator[list[httpx.Response]]:
    """Run ``call`` in a thread during the block; its response is in the list afterwards."""
    done: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: done.append(call()))
    thread.start()
    try:
        yield done
    finally:
        thread.join()
    assert done, "the background request failed (see the captured output)"


@pytest.fixture(scope="session")
def local() -> Iterator[Server]:
    """The app served by uvicorn in this process: its metrics are in REGISTRY."""
    with serve_asgi(app) as port:
        yield Server(port)


def _gunicorn(port: int, workers: int) -> Callable[[Path], list[str]]:
    # PROMETHEUS_MULTIPROC_DIR must be in the environment before a worker imports the client.
    # gunicorn >= 25.1 opens a control socket under $XDG_RUNTIME_DIR: keep it private too.
    return lambda workdir: [
        "env",
        f"PROMETHEUS_MULTIPROC_DIR={workdir / 'multiproc'}",
        f"XDG_RUNTIME_DIR={workdir}",
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        f"python:{PACKAGE}.gunicorn_conf",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        f"{PACKAGE}.app:app",
    ]


def _booted(process: Daemon, workers: int) -> bool:
    return process.output().count("Application startup complete") >= workers


@contextlib.contextmanager
def gunicorn_service(workers: int = 2) -> Iterator[Server]:
    port = free_port()
    with daemon(
        _gunicorn(port, workers), name="gunicorn", env={"PYTHONPATH": str(ROOT)}, cwd=ROOT
    ) as process:
        server = Server(port, process)
        wait_until(
            lambda: _booted(process, workers), "both workers to boot", process, START_TIMEOUT_S
        )
        wait_until(server.answers, "the service to answer", process, START_TIMEOUT_S)
        yield server


@pytest.fixture(scope="session")
def service() -> Iterator[Server]:
    """The app under gunicorn with two workers for the whole run."""
    with gunicorn_service() as server:
        yield server


@pytest.fixture
def start_service() -> Iterator[Callable[[], Server]]:
    """A gunicorn service of the test's own, stopped at its end."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(gunicorn_service())


@dataclass
class Prometheus:
    port: int
    process: Daemon

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query: the result vector; a query Prometheus refuses fails the test."""
        response = httpx.get(
            f"http://127.0.0.1:{self.port}/api/v1/query", params={"query": promql}, timeout=TIMEOUT
        )
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (
            f"Prometheus refused {promql!r}: {body.get('errorType')}: {body.get('error')}"
        )
        assert body["data"]["resultType"] == "vector", body["data"]
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def values(self, promql: str, by: str) -> dict[str, float]:
        """The result's values keyed by the label ``by``."""
        return {item["metric"].get(by, ""): float(item["value"][1]) for item in self.query(promql)}

    def value(self, promql: str) -> float | None:
        """The value of a one-element result; None for an empty one."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql} gave {len(result)} series: {result}"
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, promql: str, expected: float, timeout: float = 30.0) -> None:
        """Wait until Prometheus has scraped the value (the next scrape is <= 1 s away)."""
        seen: list[float | None] = []

        def scraped() -> bool:
            seen.append(self.value(promql))
            return seen[-1] is not None and math.isclose(seen[-1], expected)

        try:
            wait_until(scraped, f"{promql} == {expected}", self.process, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nlast value: {seen[-1] if seen else None}") from None

    def target_health(self) -> str:
        response = httpx.get(f"http://127.0.0.1:{self.port}/api/v1/targets", timeout=TIMEOUT)
        targets = response.json()["data"]["activeTargets"]
        return str(targets[0]["health"]) if targets else "unknown"


def prometheus_config(app_port: int) -> str:
    return f"""\
global:
  scrape_interval: {SCRAPE_INTERVAL}
  evaluation_interval: {SCRAPE_INTERVAL}
scrape_configs:
  - job_name: service
    scrape_timeout: {SCRAPE_INTERVAL}
    static_configs:
      - targets: ["127.0.0.1:{app_port}"]
"""


@contextlib.contextmanager
def run_prometheus(binary: str, app_port: int) -> Iterator[Prometheus]:
    port = free_port()

    def argv(workdir: Path) -> list[str]:
        config = workdir / "prometheus.yml"
        config.write_text(prometheus_config(app_port))
        return [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]

    with daemon(argv, name="prometheus", ready=port, timeout=START_TIMEOUT_S) as process:
        prometheus = Prometheus(port, process)
        wait_until(
            lambda: prometheus.target_health() == "up", "the service target to be up", process
        )
        yield prometheus


@dataclass
class Shared:
    """What the run starts once, on first use, and stops at its end."""

    stack: contextlib.ExitStack
    started: dict[str, Prometheus] = field(default_factory=dict)


@pytest.fixture(scope="session")
def shared() -> Iterator[Shared]:
    with contextlib.ExitStack() as stop_all:
        yield Shared(stop_all)


@pytest.fixture
def prometheus(program: Callable[[str], str], service: Server, shared: Shared) -> Prometheus:
    """The run's Prometheus, scraping ``service`` every second (the ``program`` fixture skips,
    naming the package, where it is not installed)."""
    binary = program("prometheus")
    if "prometheus" not in shared.started:
        shared.started["prometheus"] = shared.stack.enter_context(
            run_prometheus(binary, service.port)
        )
    return shared.started["prometheus"]


@pytest.fixture
def promtool(program: Callable[[str], str]) -> str:
    return program("promtool")
