"""Requests per second, hello JSON: raw ASGI, FastAPI, Flask and Django servers vs nginx static.

Every server runs as a subprocess on a free 127.0.0.1 port, is polled until it answers, is loaded
with ``wrk`` (or, without wrk, a small Python load generator: ``kit.request_rate``) and is always
stopped. The baseline is nginx serving the same JSON from a file: the ceiling of this machine. Values are
requests per second, so ``ratio`` = server throughput / nginx throughput: the share of the
ceiling each stack reaches. The load generator shares the machine with the server:
compare rows with each other, not with numbers from another machine.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from katas.kit import Ratio, daemon, free_port, load_generator, program_path, request_rate

from .bench_apps import PAYLOAD
from .common import dumps

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = __package__ or "stage2_web.wsgi_asgi"
WORKERS = 2
CONNECTIONS = 32
DURATION_S = 4
PY = sys.executable


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/hello")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _nginx_command(tmp: Path, port: int) -> list[str] | None:
    nginx = program_path("nginx")
    if nginx is None:
        return None
    www = tmp / "www"
    www.mkdir()
    (www / "hello").write_bytes(dumps(PAYLOAD))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read our private temp dir
    temps = "".join(
        f"  {name}_temp_path {tmp / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes {WORKERS};\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  access_log off;\n{temps}"
        f"  server {{\n    listen 127.0.0.1:{port};\n    root {www};\n"
        "    location / { default_type application/json; }\n  }\n}\n"
    )
    return [
        nginx,
        "-c",
        str(conf),
        "-p",
        str(tmp),
        "-e",
        str(tmp / "error.log"),
        "-g",
        "daemon off;",
    ]


def _worker_class() -> str:
    """uvicorn's gunicorn worker lives in the uvicorn-worker package now (uvicorn.workers is deprecated)."""
    if importlib.util.find_spec("uvicorn_worker") is None:
        return "uvicorn.workers.UvicornWorker"
    return "uvicorn_worker.UvicornWorker"


def _servers() -> list[tuple[str, list[str], dict[str, str]]]:
    """(row name, command with a ``{port}`` placeholder, extra environment)."""
    uvicorn = [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}"]
    uvicorn += ["--no-access-log", "--log-level", "warning"]
    gunicorn = [PY, "-m", "gunicorn", "-b", "127.0.0.1:{port}", "-w", str(WORKERS)]
    gunicorn += ["--graceful-timeout", "2", "--log-level", "warning"]
    django_env = {"DJANGO_SETTINGS_MODULE": f"{PACKAGE}.bench_apps"}
    worker = _worker_class()
    return [
        ("raw ASGI app on uvicorn (1 process)", [*uvicorn, f"{PACKAGE}.asgi_app:app"], {}),
        ("FastAPI on uvicorn (1 process)", [*uvicorn, f"{PACKAGE}.bench_apps:fastapi_app"], {}),
        (
            f"FastAPI on gunicorn -k {worker} ({WORKERS} workers)",
            [*gunicorn, "-k", worker, f"{PACKAGE}.bench_apps:fastapi_app"],
            {},
        ),
        (
            f"raw WSGI app on gunicorn sync ({WORKERS} workers)",
            [*gunicorn, f"{PACKAGE}.wsgi_app:app"],
            {},
        ),
        (
            f"Flask on gunicorn sync ({WORKERS} workers)",
            [*gunicorn, f"{PACKAGE}.bench_apps:flask_app"],
            {},
        ),
        (
            f"Django on gunicorn sync ({WORKERS} workers)",
            [*gunicorn, f"{PACKAGE}.bench_apps:django_wsgi()"],
            django_env,
        ),
    ]


def _measure(port: int) -> float:
    return request_rate(
        f"http://127.0.0.1:{port}/hello", seconds=DURATION_S, connections=CONNECTIONS
    )


@contextlib.contextmanager
def _serve(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run ``command`` (which binds 127.0.0.1:port) until it answers GET /hello; stop it after."""
    full_env = {"PYTHONPATH": str(ROOT), **(env or {})}
    with daemon(
        command, name=Path(command[0]).name, ready=lambda: _answers(port), env=full_env, cwd=ROOT
    ):
        yield


def bench() -> list[Ratio]:
    what = f"hello JSON, requests per second ({load_generator(CONNECTIONS)}, {DURATION_S} s)"
    with tempfile.TemporaryDirectory(prefix="bench-wsgi-asgi-") as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        command = _nginx_command(tmp, port)
        if command is None:
            print("wsgi_asgi bench: nginx not found (apt-get install nginx); no ceiling, no rows")
            return []
        with _serve(command, port):
            ceiling = _measure(port)
        ratios = []
        for name, template, env in _servers():
            port = free_port()  # a fresh port: never measure a server that failed to stop
            with _serve([arg.format(port=port) for arg in template], port, env):
                rps = _measure(port)
            ratios.append(Ratio(what, "nginx static file", name, ceiling, rps, "req/s"))
        return ratios
