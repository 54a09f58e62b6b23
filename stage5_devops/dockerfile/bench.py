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

import tempfile
import time
from pathlib import Path

from katas.kit import Docker, Ratio, base_image, program_path

from .conftest import make_context


def timed_build(docker: Docker, context: Path, *options: str) -> tuple[str, float]:
    """Build ``context``; the new tag and the seconds it took."""
    start = time.perf_counter()
    tag, _ = docker.build(context, "dockerfile-bench", *options)
    return tag, time.perf_counter() - start


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


def bench() -> list[Ratio]:
    docker = program_path("docker")
    if docker is None:
        print("dockerfile bench: docker not found (apt-get install docker.io); no rows")
        return []
    builder = Docker(docker, base_image())
    try:
        with tempfile.TemporaryDirectory(prefix="katas-dockerfile-bench-") as folder:
            context = make_context(Path(folder))
            multi, _ = timed_build(builder, context)
            single_file = context / "Dockerfile.single"
            single_file.write_text(SINGLE_STAGE)
            (context / ".dockerignore").unlink(missing_ok=True)  # the article had none
            single, _ = timed_build(builder, context, "-f", str(single_file))
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
            _, cached = timed_build(builder, context)
            _, uncached = timed_build(builder, context, "--no-cache")
    finally:
        builder.remove_built()
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
