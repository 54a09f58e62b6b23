"""Tasks 1 to 5, for real: the image built and run by a Docker engine (skipped where none answers).

The image is built once (the ``image`` fixture) from a copy of this folder with a .git, a .venv
and a .env planted in it; one test builds it again after a code-only change.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from katas.kit import Docker, wait_until

from .conftest import GUARD_S, SECRET, Built
from .test_lock import lock

CONTEXT_BUDGET = 100_000  # bytes sent to the builder: the files it needs are about 20 kB
SIZE_BUDGET = 50_000_000  # bytes the image may add to its base image
STOP_AFTER_S = 10  # docker stop's -t: SIGKILL this long after SIGTERM
BUILD_TOOLS = {"pip", "setuptools", "wheel"}  # what python3 -m venv brings, not the app's

# What the image's Python says about itself: the distributions in it and marker variables.
INVENTORY = """
import json, os, platform, sys
from importlib import metadata
print(json.dumps({
    "installed": {d.metadata["Name"]: [d.version, d.requires or []] for d in metadata.distributions()},
    "environment": {
        "implementation_name": sys.implementation.name,
        "implementation_version": platform.python_version(),
        "os_name": os.name, "platform_machine": platform.machine(),
        "platform_release": platform.release(), "platform_system": platform.system(),
        "platform_version": platform.version(), "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
}))
"""


def context_bytes(log: str) -> float:
    """The size of the build context, from the builder's log (legacy builder or BuildKit)."""
    found = re.search(
        r"(?:Sending build context to Docker daemon|transferring context:)\s+([\d.]+)\s*([kMG]?B)",
        log,
    )
    assert found, f"the build log does not say how big the context was:\n{log}"
    units = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
    return float(found.group(1)) * units[found.group(2)]


def install_cached(log: str) -> bool:
    """Whether the step that runs pip install came from the cache (legacy builder or BuildKit)."""
    legacy = [
        s for s in log.split("Step ") if " : RUN " in s and re.search(r"pip3? (install|sync)", s)
    ]
    buildkit = re.findall(r"^(#\d+) \[[^]]*\] RUN [^\n]*pip3? (?:install|sync)", log, re.M)
    assert len(legacy) + len(buildkit) == 1, f"one step should install the dependencies:\n{log}"
    if legacy:
        return "Using cache" in legacy[0]
    return f"{buildkit[0]} CACHED" in log


def layers(docker: Docker, image: str) -> list[str]:
    found: list[str] = json.loads(
        docker.ok("image", "inspect", "-f", "{{json .RootFS.Layers}}", image)
    )
    return found


def healthy(docker: Docker, name: str) -> str:
    """Wait for the HEALTHCHECK's verdict, which must be healthy; the published port."""

    def health() -> str:
        return docker.ok("inspect", "-f", "{{.State.Health.Status}}", name).strip()

    assert docker.ok("inspect", "-f", "{{json .Config.Healthcheck}}", name).strip() != "null"
    wait_until(lambda: health() != "starting", "the HEALTHCHECK to report", timeout=120)
    assert health() == "healthy", docker("logs", name).stderr
    return docker.ok("port", name, "8000").splitlines()[0].rsplit(":", 1)[1]


def started(docker: Docker, name: str) -> int:
    return docker("logs", name).stderr.count("work started:")


# --- task 1: the lock is what the image holds --------------------------------------------------


@pytest.mark.task(1)
def test_the_image_holds_exactly_the_lock_and_nothing_is_missing(
    docker: Docker, image: Built
) -> None:
    found = json.loads(
        docker.ok("run", "--rm", "--entrypoint", "python3", image.tag, "-c", INVENTORY)
    )
    installed = {
        canonicalize_name(name): (version, requires)
        for name, (version, requires) in found["installed"].items()
        if canonicalize_name(name) not in BUILD_TOOLS
    }
    assert {name: v for name, (v, _) in installed.items()} == lock()
    # pip check, from outside: every requirement of every package is there, in its range.
    for name, (_, requires) in installed.items():
        for line in requires:
            requirement = Requirement(line)
            marker = requirement.marker or Marker("python_version > '0'")
            if not marker.evaluate({**found["environment"], "extra": ""}):
                continue
            dependency = installed.get(canonicalize_name(requirement.name))
            assert dependency, f"{name} needs {requirement}, which is not in the image"
            assert requirement.specifier.contains(dependency[0], prereleases=True), requirement


# --- task 2: a graceful stop -----------------------------------------------------------------


@pytest.mark.task(2)
def test_docker_stop_lets_requests_finish_then_exits_0_before_the_kill(
    docker: Docker, image: Built, run_container: Callable[..., str]
) -> None:
    name = run_container(
        image.tag, "--read-only", "--publish", "127.0.0.1::8000", "--health-interval", "1s"
    )
    port = healthy(docker, name)
    answers: dict[float, int | str] = {}

    def ask(seconds: float) -> None:
        url = f"http://127.0.0.1:{port}/work?seconds={seconds}"
        try:
            answers[seconds] = httpx.get(url, timeout=GUARD_S).status_code
        except httpx.TransportError as exc:
            answers[seconds] = type(exc).__name__

    threads = [threading.Thread(target=ask, args=(s,)) for s in (2.0, 25.0)]
    for thread in threads:
        thread.start()
    wait_until(lambda: started(docker, name) == 2, "both requests to arrive", timeout=GUARD_S)
    # SIGTERM to PID 1 (gunicorn), SIGKILL after STOP_AFTER_S (the exit code would be 137).
    docker.ok("stop", "--time", str(STOP_AFTER_S), name, timeout=GUARD_S)
    for thread in threads:
        thread.join(GUARD_S)
    state = json.loads(docker.ok("inspect", "-f", "{{json .State}}", name))
    assert (state["ExitCode"], state["OOMKilled"]) == (0, False), docker("logs", name).stderr
    assert answers[2.0] == 200, "a request in flight at SIGTERM finishes"
    assert answers[25.0] != 200, "one that outlives graceful_timeout is cut, not waited for"


# --- task 3: the build context -----------------------------------------------------------------


@pytest.mark.task(3)
def test_the_build_context_leaves_the_checkout_junk_out(image: Built) -> None:
    sent = context_bytes(image.log)
    assert sent < CONTEXT_BUDGET, (
        f"{sent:,.0f} bytes: the .git, .venv, scratch/ or the kata's files"
    )


@pytest.mark.task(3)
def test_no_secret_test_or_build_file_reaches_the_image(docker: Docker, image: Built) -> None:
    app = docker.ok("run", "--rm", "--entrypoint", "ls", image.tag, "-A", "/app").split()
    assert {"app.py", "gunicorn_conf.py"} <= set(app)
    shipped = docker(
        "run", "--rm", "--entrypoint", "grep", image.tag, "-rlF", SECRET, "/app", "/opt", "/tmp"
    )  # fmt: skip
    assert shipped.stdout == "", "the .env is in the image"
    unwanted = {".env", ".git", ".venv", "conftest.py", "Dockerfile", "README.md"}
    assert not unwanted & set(app) and not [f for f in app if f.startswith("test_")]


# --- task 4: layers, cache and size ------------------------------------------------------------


@pytest.mark.task(4)
def test_a_code_only_change_reuses_the_dependency_layer(
    docker: Docker, image: Built, workspace: Path
) -> None:
    changed = workspace / "changed"
    shutil.copytree(image.context, changed)
    app = changed / "app.py"
    app.write_text(app.read_text() + "\n# a code-only change\n")
    tag, log = docker.build(changed, "dockerfile-kata")
    assert install_cached(log), f"the dependency layer must come from the cache:\n{log}"
    before, after, base = (layers(docker, t) for t in (image.tag, tag, docker.base_image))
    assert before[-1] != after[-1], "the code changed, so the last layer must differ"
    pairs = zip(before, after, strict=False)  # a layer more or less is a difference too
    shared = next((n for n, (a, b) in enumerate(pairs) if a != b), min(len(before), len(after)))
    assert shared > len(base), "the layers above the base image (the venv) must be shared"


@pytest.mark.task(4)
def test_the_image_stays_within_its_size_budget(docker: Docker, image: Built) -> None:
    added = docker.size(image.tag) - docker.size(docker.base_image)
    assert 0 < added < SIZE_BUDGET, f"{added:,} bytes on top of the base image"


# --- task 5: the container --------------------------------------------------------------------


@pytest.mark.task(5)
def test_the_container_is_non_root_healthy_and_answers_on_its_published_port(
    docker: Docker, image: Built, run_container: Callable[..., str]
) -> None:
    user = docker.ok("image", "inspect", "-f", "{{.Config.User}}", image.tag).strip()
    assert user.partition(":")[0] not in ("", "0", "root"), f"USER {user!r}"
    # --read-only: gunicorn must need no writable root filesystem (heartbeats go to /dev/shm).
    options = ("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")
    name = run_container(
        image.tag, *options, "--publish", "127.0.0.1::8000", "--health-interval", "1s"
    )
    port = healthy(docker, name)
    assert docker.ok("exec", name, "id", "-u").strip() not in ("", "0")
    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=GUARD_S)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    processes = docker.ok("exec", name, "cat", "/proc/1/cmdline").split("\0")
    assert "gunicorn" in Path(processes[1] if "python" in processes[0] else processes[0]).name
