"""The Docker engine for katas that build and run images (stage 4 on).

:class:`Docker` is the CLI once an engine answers and the base image is at hand (the ``docker``
fixture of the shared plugin checks both once a run, and skips, or fails where required, saying
what is missing). Builds start from ``base_image``: ``python:3.12-slim`` unless
KATAS_DOCKER_BASE_IMAGE names another image with python3 and its venv module (a machine that
reaches no registry makes one with debootstrap; see ``.ci/run``). Every tag built is removed when
the test session ends; the layers stay as build cache.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BASE_IMAGE_VAR = "KATAS_DOCKER_BASE_IMAGE"
DEFAULT_BASE_IMAGE = "python:3.12-slim"


def base_image() -> str:
    """The image builds start from: KATAS_DOCKER_BASE_IMAGE, else python:3.12-slim."""
    return os.environ.get(BASE_IMAGE_VAR) or DEFAULT_BASE_IMAGE


@dataclass
class Docker:
    cli: str
    base_image: str
    built: list[str] = field(default_factory=list)  # tags to remove at the end of the session

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def ok(self, *args: str, timeout: float = 600) -> str:
        """Run ``docker args``; its output, or an AssertionError showing what it said."""
        done = self(*args, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def size(self, image: str) -> int:
        """The image's size in bytes, base layers included."""
        return int(self.ok("image", "inspect", "-f", "{{.Size}}", image))

    def build(self, context: Path, name: str, *options: str) -> tuple[str, str]:
        """Build ``context`` as ``katas/<name>`` under a new tag, from the base image (as the
        ``BASE_IMAGE`` build argument) on the host's network, with more ``docker build``
        options (``-f``, ``--no-cache``); the tag and the build's output."""
        tag = f"katas/{name}:test-{uuid.uuid4().hex[:10]}"
        self.built.append(tag)
        done = self(
            "build", "--network", "host", "--build-arg", f"BASE_IMAGE={self.base_image}",
            "-t", tag, *options, str(context), timeout=900,
        )  # fmt: skip
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise AssertionError(f"docker build failed:\n{output}")
        return tag, output

    def remove_built(self) -> None:
        if self.built:
            self("rmi", "--force", *self.built)
            self.built.clear()


def docker_problem(docker: Docker) -> str:
    """Why ``docker`` cannot build here (no engine, no base image), or "" when it can."""
    try:
        if docker("version", "--format", "{{.Server.Version}}", timeout=20).returncode != 0:
            return "docker: no engine answers (start dockerd, or Docker Desktop)"
        if docker("image", "inspect", docker.base_image, timeout=20).returncode == 0:
            return ""
        if docker("pull", docker.base_image, timeout=300).returncode == 0:
            return ""
    except subprocess.TimeoutExpired:
        return "docker: the engine did not answer in time"
    return (
        f"docker: the base image {docker.base_image} is not here and cannot be pulled; "
        f"set {BASE_IMAGE_VAR} to an image with python3 and its venv module"
    )
