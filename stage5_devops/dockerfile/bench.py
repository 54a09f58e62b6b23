"""What the fixes buy, measured on this machine's Docker engine.

- Image size: an article-like single stage (the article's four lines, made to build here: a venv,
  since the base's Python is externally managed, and ``COPY . .`` for the code it forgot, no
  ignore file) against the kata's multi-stage Dockerfile, both built from the same checkout-like
  context (a .git, a .venv and a .env planted, as the tests do).
- Rebuild time after a code-only change: with the dependency layer invalidated (``--no-cache``,
  which is what copying the code before the install does) against the kata's layer order, where
  the install comes from the cache. The uncached build downloads the wheels from PyPI again.

Every image built is removed; the base image is KATAS_DOCKER_BASE_IMAGE or python:3.12-slim.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from katas.kit import Ratio, program_path

from .conftest import BASE_IMAGE_VAR, DEFAULT_BASE_IMAGE, make_context

SINGLE_STAGE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
WORKDIR /app
RUN python3 -m venv /opt/venv
COPY requirements.txt .
RUN /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["/opt/venv/bin/gunicorn", "-k", "uvicorn_worker.UvicornWorker", "app:app"]
"""


class Builder:
    def __init__(self, docker: str, base_image: str) -> None:
        self.docker, self.base_image = docker, base_image
        self.tags: list[str] = []

    def build(self, context: Path, *options: str) -> tuple[str, float]:
        """Build ``context``; the new tag and the seconds it took."""
        tag = f"katas/dockerfile-bench:{uuid.uuid4().hex[:10]}"
        self.tags.append(tag)
        argv = [self.docker, "build", "--network", "host", "-t", tag, *options]
        argv += ["--build-arg", f"BASE_IMAGE={self.base_image}", str(context)]
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, text=True, timeout=900, check=True)
        return tag, time.perf_counter() - start

    def size(self, tag: str) -> int:
        argv = [self.docker, "image", "inspect", "-f", "{{.Size}}", tag]
        return int(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)

    def remove_all(self) -> None:
        subprocess.run([self.docker, "rmi", "--force", *self.tags], capture_output=True)


def bench() -> list[Ratio]:
    docker = program_path("docker")
    if docker is None:
        print("dockerfile bench: docker not found (apt-get install docker.io); no rows")
        return []
    builder = Builder(docker, os.environ.get(BASE_IMAGE_VAR) or DEFAULT_BASE_IMAGE)
    try:
        with tempfile.TemporaryDirectory(prefix="katas-dockerfile-bench-") as folder:
            context = make_context(Path(folder))
            multi, _ = builder.build(context)
            single_file = context / "Dockerfile.single"
            single_file.write_text(SINGLE_STAGE)
            (context / ".dockerignore").unlink(missing_ok=True)  # the article had none
            single, _ = builder.build(context, "-f", str(single_file))
            sizes = Ratio(
                f"image size on {builder.base_image} (base included)",
                "article-like single stage, no ignore file",
                "multi-stage, allow-list ignore file",
                builder.size(single),
                builder.size(multi),
                "B",
            )
            context = make_context(Path(folder) / "changed")
            app = context / "app.py"
            app.write_text(app.read_text() + "\n# a code-only change\n")
            _, cached = builder.build(context)
            _, uncached = builder.build(context, "--no-cache")
    finally:
        builder.remove_all()
    times = Ratio(
        "docker build after a code-only change, seconds",
        "dependency layer rebuilt (pip install again)",
        "dependency layer from the cache",
        uncached,
        cached,
        "s",
    )
    return [sizes, times]


if __name__ == "__main__":
    for ratio in bench():
        print(ratio, f"{ratio.ratio:.2f}")
