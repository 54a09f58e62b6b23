"""Fixtures: the Docker engine, and the kata's image built once per test session.

- ``docker`` (the shared plugin's) is the Docker CLI once an engine answers and the base image
  is at hand; otherwise the test skips (fails under ``--require-services``) and says why. The
  base image is ``python:3.12-slim`` unless KATAS_DOCKER_BASE_IMAGE names another one with
  python3 and its venv module; builds pass it as ``--build-arg BASE_IMAGE=...``.
- ``image`` is the kata's Dockerfile built from a copy of this folder with junk planted in it (a
  .git, a .venv, a .env with a secret), the way a real checkout looks. It is built once and shared:
  Docker builds are slow on a small machine. Every tag a test builds is removed at the end.
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

from katas.kit import Docker

KATA = Path(__file__).resolve().parent
GUARD_S = 60.0  # bounds a failure only
IGNORED = shutil.ignore_patterns("__pycache__", "mutate-results", ".pytest_cache", ".dockerignore")
SECRET = "API_SECRET=s3cr3t-that-must-never-ship"
# What a developer's checkout holds and no image should: name -> size in bytes (random content).
# The last is a file nobody thought of: only an allow-list keeps it out without naming it.
JUNK = {
    ".git/objects/pack/pack-0001.pack": 1_500_000,
    ".venv/lib/libbig.so": 1_500_000,
    "scratch/export.csv": 150_000,
}


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
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="katas-dockerfile-") as folder:
        yield Path(folder)


_image: dict[str, Built | str] = {}  # the session's build, or why it failed


@pytest.fixture
def image(docker: Docker, workspace: Path) -> Built:
    """The kata's image, built once per session (a failed build fails every test that needs it)."""
    if "built" not in _image:
        context = make_context(workspace)
        try:
            tag, log = docker.build(context, "dockerfile-kata")
            _image["built"] = Built(tag, log, context)
        except AssertionError as failure:
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
