"""Requests per second, hello JSON: raw ASGI, FastAPI, Flask and Django servers vs nginx static.

Every server runs as a subprocess on a free 127.0.0.1 port, is polled until it answers, is loaded
with ``wrk`` (or, without wrk, a small Python load generator) and is always terminated. The
baseline is nginx serving the same JSON from a file: the ceiling of this machine. Values are
requests per second, so ``ratio`` = server throughput / nginx throughput: the share of the
ceiling each stack reaches. The load generator shares the machine with the server:
compare rows with each other, not with numbers from another machine.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from katas.kit import Ratio

from .bench_apps import PAYLOAD
from .common import dumps

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = __package__ or "stage2_web.wsgi_asgi"
WORKERS = 2
CONNECTIONS = 32
WARMUP_S = 1
DURATION_S = 4
STARTUP_TIMEOUT_S = 20.0
PY = sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's own process group (master and workers), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def _serve(
    command: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    """Run ``command`` (which binds 127.0.0.1:port) until it answers GET /hello; stop it after."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{command[:4]} did not start on port {port}:\n{tail}")
            time.sleep(0.1)
        yield
    finally:
        _stop(proc)


def _wrk(port: int, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", f"http://127.0.0.1:{port}/hello"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"wrk saw {match.group(1)} error responses on port {port}:\n{out}")
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    return float(match.group(1))


def _python_load(port: int, seconds: int) -> float:
    """Fallback: CONNECTIONS/4 threads, each a keep-alive http.client loop, bounded in time."""
    stop_at = time.monotonic() + seconds
    counts: list[int] = []

    def worker() -> None:
        done = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while time.monotonic() < stop_at and done < 1_000_000:
            try:
                conn.request("GET", "/hello")
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    conn.close()
            except OSError:
                conn.close()
                continue
            done += 1
        conn.close()
        counts.append(done)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS // 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def _measure(port: int) -> float:
    if shutil.which("wrk"):
        _wrk(port, WARMUP_S)
        return _wrk(port, DURATION_S)
    _python_load(port, WARMUP_S)
    return _python_load(port, DURATION_S)


def _nginx_command(tmp: Path, port: int) -> list[str] | None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None
    )
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


def bench() -> list[Ratio]:
    loader = "wrk -t2 -c32" if shutil.which("wrk") else "Python load generator (wrk missing)"
    what = f"hello JSON, requests per second ({loader}, {DURATION_S} s)"
    with tempfile.TemporaryDirectory(prefix="bench-wsgi-asgi-") as tmpdir:
        tmp = Path(tmpdir)
        port = _free_port()
        command = _nginx_command(tmp, port)
        if command is None:
            print("wsgi_asgi bench: nginx not found (apt-get install nginx); no ceiling, no rows")
            return []
        with _serve(command, port, tmp / "nginx.out"):
            ceiling = _measure(port)
        ratios = []
        for name, template, env in _servers():
            port = _free_port()  # a fresh port: never measure a server that failed to stop
            server_command = [arg.format(port=port) for arg in template]
            with _serve(server_command, port, tmp / "server.out", env):
                rps = _measure(port)
            ratios.append(Ratio(what, "nginx static file", name, ceiling, rps, "req/s"))
        return ratios
