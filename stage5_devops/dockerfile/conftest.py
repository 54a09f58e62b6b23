"""Fixtures: the Docker engine, and the kata's image built once per test session.

- ``docker`` is the Docker CLI once an engine answers and the base image is at hand; otherwise the
  test skips (fails under ``--require-services``) and says why. The base image is
  ``python:3.12-slim`` unless KATAS_DOCKER_BASE_IMAGE names another one with python3 and its venv
  module; builds pass it as ``--build-arg BASE_IMAGE=...`` and use the host's network.
- ``image`` is the kata's Dockerfile built from a copy of this folder with junk planted in it (a
  .git, a .venv, a .env with a secret), the way a real checkout looks. It is built once and shared:
  Docker builds are slow on a small machine. Every tag a test builds is removed at the end.

The Docker helper follows stage4_architecture/docker_k8s/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

KATA = Path(__file__).resolve().parent
GUARD_S = 60.0  # bounds a failure only
BASE_IMAGE_VAR = "KATAS_DOCKER_BASE_IMAGE"
DEFAULT_BASE_IMAGE = "python:3.12-slim"
IGNORED = shutil.ignore_patterns("__pycache__", "mutate-results", ".pytest_cache", ".dockerignore")
SECRET = "API_SECRET=s3cr3t-that-must-never-ship"
# What a developer's checkout holds and no image should: name -> size in bytes (random content).
# The last is a file nobody thought of: only an allow-list keeps it out without naming it.
JUNK = {
    ".git/objects/pack/pack-0001.pack": 1_500_000,
    ".venv/lib/libbig.so": 1_500_000,
    "scratch/export.csv": 150_000,
}


def _required(config: pytest.Config) -> bool:
    value = str(config.getoption("require_services", "") or "").strip().lower()
    return value in ("1", "all", "yes", "true") or "docker" in value.split(",")


def no_docker(request: pytest.FixtureRequest, reason: str) -> None:
    """Skip the test for want of Docker, or fail it where Docker is required."""
    request.node.user_properties.append(("katas_unavailable", "docker"))
    if _required(request.config):
        pytest.fail(f"{reason} [--require-services]", pytrace=False)
    pytest.skip(reason)


@dataclass
class Docker:
    cli: str
    base_image: str

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def ok(self, *args: str, timeout: float = 600) -> str:
        """Run ``docker args``; its output, or a failure showing what it said."""
        done = self(*args, timeout=timeout)
        if done.returncode != 0:
            pytest.fail(f"docker {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def size(self, image: str) -> int:
        return int(self.ok("image", "inspect", "-f", "{{.Size}}", image))

    def build(self, context: Path, tags: list[str]) -> tuple[str, str]:
        """Build ``context`` under a new tag (recorded in ``tags``); the tag and the log."""
        tag = f"katas/dockerfile-kata:test-{uuid.uuid4().hex[:10]}"
        tags.append(tag)
        done = self(
            "build", "--network", "host", "--build-arg", f"BASE_IMAGE={self.base_image}",
            "-t", tag, str(context),
        )  # fmt: skip
        output = done.stdout + done.stderr
        if done.returncode != 0:
            pytest.fail(f"docker build failed:\n{output}", pytrace=False)
        return tag, output


_engine: dict[str, str] = {}  # what was learnt about the engine and the base image, once a run


@pytest.fixture
def docker(request: pytest.FixtureRequest, program: Callable[[str], str]) -> Docker:
    """The Docker CLI with an engine that answers and the base image at hand."""
    cli = Docker(program("docker"), os.environ.get(BASE_IMAGE_VAR) or DEFAULT_BASE_IMAGE)
    if "problem" not in _engine:
        _engine["problem"] = _docker_problem(cli)
    if _engine["problem"]:
        no_docker(request, _engine["problem"])
    return cli


def _docker_problem(cli: Docker) -> str:
    try:
        if cli("version", "--format", "{{.Server.Version}}", timeout=20).returncode != 0:
            return "docker: no engine answers (start dockerd, or Docker Desktop)"
        if cli("image", "inspect", cli.base_image, timeout=20).returncode == 0:
            return ""
        if cli("pull", cli.base_image, timeout=300).returncode == 0:
            return ""
    except subprocess.TimeoutExpired:
        return "docker: the engine did not answer in time"
    return (
        f"docker: the base image {cli.base_image} is not here and cannot be pulled; "
        f"set {BASE_IMAGE_VAR} to an image with python3 and its venv module"
    )


# --- the build context and the image ------------------------------------------------------------


def make_context(folder: Path) -> Path:
    """A copy of the kata folder as a checkout looks: with a .git, a .venv and a .env."""
    context = folder / "context"
    shutil.copytree(KATA, context, ignore=IGNORED)
    for name, size in JUNK.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(os.urandom(size))
    (context / ".env").write_text(SECRET + "\n")
    # A builder without BuildKit (docker build's legacy builder) reads only .dockerignore, not
    # the Dockerfile's own Dockerfile.dockerignore; BuildKit prefers the latter, so both agree.
    own = context / "Dockerfile.dockerignore"
    if own.is_file():
        shutil.copyfile(own, context / ".dockerignore")
    return context


@dataclass(frozen=True)
class Built:
    tag: str
    log: str  # what docker build printed
    context: Path


@pytest.fixture(scope="session")
def built_images() -> Iterator[list[str]]:
    """Tags the tests built: removed at the end (their layers stay as build cache)."""
    tags: list[str] = []
    yield tags
    cli = shutil.which("docker")
    if cli and tags:
        subprocess.run([cli, "rmi", "--force", *tags], capture_output=True, check=False)


@pytest.fixture(scope="session")
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="katas-dockerfile-") as folder:
        yield Path(folder)


_image: dict[str, Built | str] = {}  # the session's build, or why it failed


@pytest.fixture
def image(docker: Docker, built_images: list[str], workspace: Path) -> Built:
    """The kata's image, built once per session (a failed build fails every test that needs it)."""
    if "built" not in _image:
        context = make_context(workspace)
        try:
            tag, log = docker.build(context, built_images)
            _image["built"] = Built(tag, log, context)
        except pytest.fail.Exception as failure:
            _image["built"] = str(failure)
    built = _image["built"]
    if isinstance(built, str):
        pytest.fail(built, pytrace=False)
    return built


@pytest.fixture
def run_container(docker: Docker) -> Iterator[Callable[..., str]]:
    """Start a container of an image with ``docker run`` options; removed when the test ends."""
    names: list[str] = []

    def run(image: str, *options: str) -> str:
        name = f"katas-dockerfile-{uuid.uuid4().hex[:10]}"
        names.append(name)
        docker.ok("run", "--detach", "--name", name, *options, image)
        return name

    yield run
    for name in names:
        with contextlib.suppress(subprocess.TimeoutExpired):
            docker("rm", "--force", name, timeout=GUARD_S)
