"""Fixtures: one real etcd for the run, a key root and a service name per test, worker processes.

``Etcd`` is the test's own view of etcd, through the same JSON gateway but without the kata's
code: it arranges state (a lease, a raw key) and checks what the registry wrote, so a task's
tests do not depend on the other tasks.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from katas.kit import Daemon, daemon, free_port

from .consul import ConsulRegistry
from .etcd import EtcdRegistry

ROOT = Path(__file__).resolve().parents[2]
WORKER = f"{__name__.rpartition('.')[0]}.worker"
GUARD_S = 20.0  # a wrong solution fails within this instead of hanging the run
NO_CONSUL = (
    "no Consul server on this machine; set KATAS_CONSUL_URL=http://host:8500 "
    "or run `docker run hashicorp/consul`"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def until(condition: Callable[[], bool], what: str, timeout: float = GUARD_S) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {timeout:.0f} s: {what}")
        time.sleep(0.05)


class Etcd:
    """Raw etcd calls for arranging and checking (synchronous: short, and never in the way)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10.0)

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"/v3/{method}", json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def grant(self, ttl: int = 60) -> str:
        lease: str = self.call("lease/grant", {"TTL": ttl})["ID"]
        return lease

    def revoke(self, lease: str) -> None:
        self.call("lease/revoke", {"ID": lease})

    def time_to_live(self, lease: str) -> int:
        """Seconds the lease has left; -1 once it is gone."""
        return int(self.call("lease/timetolive", {"ID": lease}).get("TTL", 0))

    def put(self, key: str, value: str | dict[str, Any], lease: str | None = None) -> int:
        """Write a key (a dict as JSON); the revision of the write."""
        text = value if isinstance(value, str) else json.dumps(value)
        body = {"key": b64(key), "value": b64(text)}
        if lease is not None:
            body["lease"] = lease
        return int(self.call("kv/put", body)["header"]["revision"])

    def delete(self, key: str) -> int:
        return int(self.call("kv/deleterange", {"key": b64(key)})["header"]["revision"])

    def get(self, key: str) -> dict[str, Any] | None:
        """The key's kv record (``value`` decoded from JSON, ``lease`` as given), or None."""
        kvs = self.call("kv/range", {"key": b64(key)}).get("kvs", [])
        if not kvs:
            return None
        kv: dict[str, Any] = kvs[0]
        return {**kv, "value": json.loads(base64.b64decode(kv["value"]))}

    def revision(self) -> int:
        return int(self.call("kv/range", {"key": b64("\0")})["header"]["revision"])

    def healthy(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return bool(self.http.get("/health").json().get("health") == "true")
        return False


class EtcdServer:
    """One etcd for the whole run, started by the first test that needs it."""

    def __init__(self) -> None:
        self.stack = contextlib.ExitStack()
        self.etcd: Etcd | None = None

    def start(self, path: str) -> Etcd:
        if self.etcd is None:
            client, peer = free_port(), free_port()

            def argv(workdir: Path) -> list[str]:
                client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
                return [
                    path, "--name", "default", "--data-dir", str(workdir / "data"),
                    "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                    "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                    "--initial-cluster", f"default={peer_url}",
                ]  # fmt: skip

            etcd = Etcd(f"http://127.0.0.1:{client}")
            self.stack.callback(etcd.http.close)
            self.stack.enter_context(daemon(argv, name="etcd", ready=etcd.healthy, timeout=60))
            self.etcd = etcd
        return self.etcd


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[EtcdServer]:
    server = EtcdServer()
    with server.stack:
        yield server


@pytest.fixture
def etcd(program: Callable[[str], str], etcd_server: EtcdServer) -> Etcd:
    return etcd_server.start(program("etcd"))


@pytest.fixture
def root() -> str:
    """A key root no other test (or run) shares."""
    return f"/katas/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def service() -> str:
    return f"web-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def registry(etcd: Etcd, root: str) -> AsyncIterator[EtcdRegistry]:
    async with EtcdRegistry(etcd.url, root=root) as reg:
        yield reg


@pytest.fixture
async def consul() -> AsyncIterator[ConsulRegistry]:
    url = os.environ.get("KATAS_CONSUL_URL")
    if not url:
        pytest.skip(NO_CONSUL)
    async with ConsulRegistry(url) as reg:
        yield reg


@dataclass
class Worker:
    id: str
    port: int
    key: str
    process: Daemon


@pytest.fixture
def workers(etcd: Etcd, root: str, service: str) -> Iterator[Callable[..., Worker]]:
    """Start a worker process (``start(id, ttl=2)``): returns once its key is in etcd."""
    with contextlib.ExitStack() as stack:

        def start(instance_id: str, ttl: int = 2) -> Worker:
            port = free_port()
            key = f"{root}/{service}/{instance_id}"
            argv = [
                sys.executable, "-m", WORKER, "--etcd", etcd.url, "--root", root,
                "--service", service, "--id", instance_id, "--port", str(port), "--ttl", str(ttl),
            ]  # fmt: skip
            ready = daemon(argv, name=f"worker-{instance_id}", cwd=ROOT, timeout=GUARD_S,
                           ready=lambda: etcd.get(key) is not None)  # fmt: skip
            return Worker(instance_id, port, key, stack.enter_context(ready))

        yield start
