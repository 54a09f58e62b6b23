"""Fixtures: real gunicorn backends and a private nginx in front of them, on free ports.

``backends`` (a, b, c) are started once for the run: tests only read them, and measure what
changed (``Backend.stats`` before and after). A test that kills, freezes or reloads a backend
starts its own with ``start_backend``. ``start_nginx`` renders the learner's configuration for a
``Site`` and runs nginx on it until the test ends.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from katas.kit import Daemon, daemon, free_port, wait_until

from .nginx_conf import PROXY_ADDRESS, Backend, Site, command

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = __package__ or "stage4_architecture.load_balancing"
TIMEOUT = httpx.Timeout(20.0)  # only bounds a failure; a healthy request takes milliseconds
START_TIMEOUT_S = 60.0  # a loaded 2-core machine imports FastAPI slowly


def connections_from(stats: dict[str, Any], address: str) -> int:
    return int(stats["connections"].get(address, 0))


@dataclass
class BackendServer:
    id: str
    port: int
    process: Daemon

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def backend(self, weight: int = 1) -> Backend:
        return Backend(self.address, weight)

    def get(self, path: str, *, source: str = "127.0.0.1", **kwargs: Any) -> httpx.Response:
        """A request straight to this backend, sent from ``source``, bypassing nginx."""
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, timeout=TIMEOUT) as client:
            return client.get(f"http://{self.address}{path}", **kwargs)

    def stats(self) -> dict[str, Any]:
        response = self.get("/stats")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def answers(self) -> bool:
        try:
            return self.get("/stats").status_code == 200
        except httpx.HTTPError:
            return False


def _backend_argv(port: int, workers: int) -> Callable[[Path], list[str]]:
    # gunicorn >= 25.1 opens a control socket under $XDG_RUNTIME_DIR (or ~/.gunicorn): keep
    # each backend's in its own folder, removed with it.
    return lambda workdir: [
        "env",
        f"XDG_RUNTIME_DIR={workdir}",
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        f"python:{PACKAGE}.gunicorn_conf",
        "-k",
        f"{PACKAGE}.worker.CountingWorker",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "info",
        f"{PACKAGE}.app:app",
    ]


@contextlib.contextmanager
def _backends(ids: list[str], workers: int = 1) -> Iterator[list[BackendServer]]:
    """Start every backend at once, then wait for each: startups overlap."""
    with contextlib.ExitStack() as stack:
        servers = []
        for backend_id in ids:
            port = free_port()
            process = stack.enter_context(
                daemon(
                    _backend_argv(port, workers),
                    name=f"backend-{backend_id}",
                    env={"BACKEND_ID": backend_id, "PYTHONPATH": str(ROOT)},
                    cwd=ROOT,
                )
            )
            servers.append(BackendServer(backend_id, port, process))
        for server in servers:
            wait_until(server.answers, f"backend {server.id} to answer", server.process)
        yield servers


@pytest.fixture(scope="session")
def loopback_alias() -> str:
    """nginx connects from 127.0.0.2; Linux answers on all of 127/8, macOS needs an alias."""
    with socket.socket() as sock:
        try:
            sock.bind((PROXY_ADDRESS, 0))
        except OSError as exc:
            pytest.skip(
                f"cannot bind {PROXY_ADDRESS} ({exc}); add it to the loopback interface "
                f"(macOS: sudo ifconfig lo0 alias {PROXY_ADDRESS} up)"
            )
    return PROXY_ADDRESS


@pytest.fixture(scope="session")
def backends(loopback_alias: str) -> Iterator[list[BackendServer]]:
    with _backends(["a", "b", "c"]) as servers:
        yield servers


@pytest.fixture
def start_backend(
    loopback_alias: str,
) -> Iterator[Callable[..., BackendServer]]:
    """Start a backend of the test's own (to kill, freeze or reload); stopped at the end."""
    with contextlib.ExitStack() as stack:

        def start(backend_id: str, workers: int = 1) -> BackendServer:
            [server] = stack.enter_context(_backends([backend_id], workers))
            return server

        yield start


@dataclass
class Proxy:
    port: int
    process: Daemon

    def client(self, source: str = "127.0.0.1") -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", transport=transport, timeout=TIMEOUT
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.client() as client:
            return client.request(method, path, **kwargs)

    def spread(self, count: int, **params: str | int) -> Counter[str]:
        """``count`` GET /work one after another: how many each backend answered."""
        answered: Counter[str] = Counter()
        with self.client() as client:
            for _ in range(count):
                response = client.get("/work", params=params)
                assert response.status_code == 200, response.text
                answered[response.json()["backend"]] += 1
        return answered

    def error_log(self) -> str:
        return (self.process.workdir / "error.log").read_text(errors="replace")


@pytest.fixture
def start_nginx(program: Callable[[str], str]) -> Iterator[Callable[[Site], Proxy]]:
    nginx = program("nginx")
    with contextlib.ExitStack() as stack:

        def start(site: Site) -> Proxy:
            running = stack.enter_context(
                daemon(
                    lambda workdir: command(nginx, workdir, site),
                    name="nginx",
                    ready=site.port,
                )
            )
            return Proxy(site.port, running)

        yield start


def site(pool: Iterable[BackendServer | Backend], **options: Any) -> Site:
    """A Site on a free port over ``pool`` (servers at weight 1, or Backend lines)."""
    lines = tuple(p.backend() if isinstance(p, BackendServer) else p for p in pool)
    return Site(port=free_port(), backends=lines, **options)
