"""The running system, given: collectstatic, the origin under gunicorn, Varnish in front of it.

Tests and the benchmark start these; each is a real process on a free 127.0.0.1 port, run by the
kit's ``daemon`` (its own process group, stopped whole, its folder removed afterwards).
"""

from __future__ import annotations

import http.client
import importlib.metadata
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from katas.kit import Daemon, daemon, free_port

KATA = Path(__file__).resolve().parent
ROOT = KATA.parents[1]
PACKAGE = "stage4_architecture.cdn_static"
START_TIMEOUT_S = 60.0  # a loaded machine compiles VCL and imports Django slowly


@dataclass
class Server:
    daemon: Daemon
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def django_env(static_root: Path, assets: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": f"{PACKAGE}.origin_settings",
        "CDN_STATIC_ROOT": str(static_root),
        "CDN_ASSETS": str(assets),
        "PYTHONPATH": str(ROOT),
        # The tree may be read-only (grading), and is no place for the processes' .pyc files.
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def collectstatic(static_root: Path, assets: Path) -> dict[str, str]:
    """Run ``manage.py collectstatic`` (a deploy's build step); the manifest it wrote."""
    subprocess.run(
        [sys.executable, "-m", "django", "collectstatic", "--noinput", "--verbosity", "0"],
        env=django_env(static_root, assets),
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT_S,
    )
    return read_manifest(static_root)


def read_manifest(static_root: Path) -> dict[str, str]:
    """``staticfiles.json``'s paths: each source name and its hashed name."""
    paths: dict[str, str] = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    return paths


def answers(port: int, path: str = "/healthz") -> bool:
    """Whether an HTTP server on ``port`` answers ``GET path`` (with any status)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def gunicorn_flags() -> list[str]:
    """gunicorn 25.1 and later open a control socket under $HOME unless told not to: a file
    left behind, and one path that two origins would fight over."""
    major, minor = (int(part) for part in importlib.metadata.version("gunicorn").split(".")[:2])
    return ["--no-control-socket"] if (major, minor) >= (25, 1) else []


@contextmanager
def origin(static_root: Path, assets: Path, port: int | None = None) -> Iterator[Server]:
    """The Django origin under gunicorn (one worker) until the block ends."""
    port = port or free_port()
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    with daemon(
        [*argv, *gunicorn_flags(), f"{PACKAGE}.wsgi"],
        name="origin",
        ready=lambda: answers(port),
        env=django_env(static_root, assets),
        timeout=START_TIMEOUT_S,
    ) as running:
        yield Server(running, port)


def vcl(origin_port: int) -> str:
    """The VCL Varnish runs: the origin as backend, with a health probe, then ``edge.conf``."""
    head = f"""vcl 4.1;

backend origin {{
    .host = "127.0.0.1";
    .port = "{origin_port}";
    .probe = {{
        .url = "/healthz";
        .interval = 0.2s;
        .timeout = 10s;  # a worker still booting after a reload is slow, not down
        .window = 3;
        .threshold = 2;
        .initial = 2;
    }}
}}

"""
    return head + (KATA / "edge.conf").read_text(encoding="utf-8")


def varnishd_argv(varnishd: str, workdir: Path, port: int, origin_port: int) -> list[str]:
    (workdir / "edge.vcl").write_text(vcl(origin_port), encoding="utf-8")
    return [
        varnishd,
        "-F",  # in the foreground, so the daemon's process group holds it
        "-j",
        "none",  # no privilege separation: runs as whoever starts it, root or not
        "-a",
        f"127.0.0.1:{port}",
        "-f",
        str(workdir / "edge.vcl"),
        "-n",
        str(workdir / "varnish"),
        "-s",
        "malloc,32m",
        # Varnish would otherwise rewrite Accept-Encoding to gzip itself, and brotli would
        # never reach the origin: edge.conf normalises the header instead.
        "-p",
        "http_gzip_support=off",
        # No grace unless the VCL gives it: what edge.conf does is all there is.
        "-p",
        "default_grace=0",
        # A few worker threads, not the default two pools of 100 each: a test's edge serves one
        # client, and a sandbox may cap the threads a user runs.
        "-p",
        "thread_pools=1",
        "-p",
        "thread_pool_min=10",
        "-p",
        "thread_pool_max=200",
    ]


@contextmanager
def edge(varnishd: str, origin_port: int) -> Iterator[Server]:
    """Varnish on a free port in front of the origin on ``origin_port`` until the block ends."""
    port = free_port()
    with daemon(
        lambda workdir: varnishd_argv(varnishd, workdir, port, origin_port),
        name="varnishd",
        ready=lambda: answers(port),
        timeout=START_TIMEOUT_S,
    ) as running:
        yield Server(running, port)


def source_names(assets: Path) -> Mapping[str, Path]:
    """Every asset under ``assets`` by its static name (``css/app.css``)."""
    return {p.relative_to(assets).as_posix(): p for p in sorted(assets.rglob("*")) if p.is_file()}
