"""Task 5, for real: the image built and run by a Docker engine (skipped where none answers).

The base image is ``python:3.12-slim`` unless KATAS_DOCKER_BASE_IMAGE names another one with
python3 and its venv module (a machine without Docker Hub builds one with debootstrap).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from katas.kit import Docker, wait_until

from .conftest import GUARD_S, KATA

IGNORED = shutil.ignore_patterns("__pycache__", "mutate-results", ".pytest_cache")


@pytest.fixture
def context() -> Iterator[Path]:
    """A copy of the kata folder to build from, so a test may change a file in it."""
    with tempfile.TemporaryDirectory(prefix="katas-docker-k8s-") as folder:
        copy = Path(folder) / "context"
        shutil.copytree(KATA, copy, ignore=IGNORED)
        yield copy


def layers(docker: Docker, image: str) -> list[str]:
    found: list[str] = json.loads(
        docker.ok("image", "inspect", "-f", "{{json .RootFS.Layers}}", image)
    )
    return found


def install_cached(output: str) -> bool:
    """Whether the step that runs pip install came from the cache (classic builder or BuildKit)."""
    classic = [s for s in output.split("Step ") if " : RUN " in s and "pip install" in s]
    buildkit = re.findall(r"^(#\d+) \[[^]]*\] RUN [^\n]*pip install", output, re.M)
    assert len(classic) + len(buildkit) == 1, f"one step should install the requirements:\n{output}"
    if classic:
        return "Using cache" in classic[0]
    return f"{buildkit[0]} CACHED" in output


@pytest.mark.task(5)
def test_a_code_change_rebuilds_only_the_code_layer(docker: Docker, context: Path) -> None:
    first, _ = docker.build(context, "greeter")
    app = context / "app.py"
    app.write_text(app.read_text() + "\n# a code-only change\n")
    second, output = docker.build(context, "greeter")

    assert install_cached(output), f"the dependency layer must come from the cache:\n{output}"
    before, after = layers(docker, first), layers(docker, second)
    assert before[-1] != after[-1], "the code changed, so the last layer must differ"
    base = layers(docker, docker.base_image)
    pairs = zip(before, after, strict=False)  # a layer more or less is a difference too
    shared = next((n for n, (a, b) in enumerate(pairs) if a != b), min(len(before), len(after)))
    assert shared > len(base), "the layers above the base image (the venv) must be shared"


@pytest.mark.task(5)
def test_the_container_is_healthy_non_root_read_only_and_stops_cleanly(
    docker: Docker, context: Path
) -> None:
    image, _ = docker.build(context, "greeter")
    name = f"katas-greeter-{uuid.uuid4().hex[:10]}"
    # The restrictions of the Kubernetes securityContext, as docker run options.
    docker.ok(
        "run", "--detach", "--name", name, "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--publish", "127.0.0.1::8000",
        "--health-interval", "1s", "--env", "API_TOKEN=container-token",
        "--env", "DRAIN_SECONDS=1", "--env", "SHUTDOWN_TIMEOUT_SECONDS=3",
        "--env", "GRACE_PERIOD_SECONDS=10", image,
    )  # fmt: skip
    try:

        def health() -> str:
            return docker.ok("inspect", "-f", "{{.State.Health.Status}}", name).strip()

        wait_until(lambda: health() != "starting", "the HEALTHCHECK to report", timeout=120)
        assert health() == "healthy", docker.ok("logs", name)
        assert docker.ok("exec", name, "id", "-u").strip() == "10001"

        port = docker.ok("port", name, "8000").splitlines()[0].rsplit(":", 1)[1]
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=GUARD_S)
        assert response.json() == {"status": "ready", "in_flight": 0}

        # docker stop: SIGTERM to PID 1, SIGKILL after -t seconds (exit code 137).
        docker.ok("stop", "--time", "20", name, timeout=60)
        state = json.loads(docker.ok("inspect", "-f", "{{json .State}}", name))
        assert (state["ExitCode"], state["OOMKilled"]) == (0, False), docker.ok("logs", name)
        assert "draining" in docker("logs", name).stderr
    finally:
        docker("rm", "--force", name)
