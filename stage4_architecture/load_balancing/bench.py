"""Requests per second through nginx to one gunicorn backend with 1, 2 and 4 uvicorn workers.

The backend and nginx run as in the tests (the reference configuration, keepalive to the
backend), on free ports, and are always stopped. The load comes from ``wrk`` (or, without it, a
small Python load generator: ``kit.request_rate``). It shares the machine with the servers: on 2 cores, 4 workers
compete with nginx and the load generator, so compare the rows with each other, not with
another machine's.
"""

from __future__ import annotations

import http.client
import os
import sys
from pathlib import Path

from katas.kit import Ratio, daemon, free_port, load_generator, program_path, request_rate

from .nginx_conf import Backend, Site, command

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = __package__ or "stage4_architecture.load_balancing"
CONNECTIONS = 32
DURATION_S = 4
PATH = "/work"


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", PATH)
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _measure(port: int) -> float:
    return request_rate(
        f"http://127.0.0.1:{port}{PATH}", seconds=DURATION_S, connections=CONNECTIONS
    )


def _through_nginx(nginx: str, workers: int) -> float:
    backend_port, nginx_port = free_port(), free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", f"python:{PACKAGE}.gunicorn_conf"]
    argv += ["-k", f"{PACKAGE}.worker.CountingWorker", "-w", str(workers)]
    argv += ["-b", f"127.0.0.1:{backend_port}", "--log-level", "warning", f"{PACKAGE}.app:app"]
    site = Site(port=nginx_port, backends=(Backend(f"127.0.0.1:{backend_port}"),))
    with (
        daemon(
            lambda workdir: ["env", f"XDG_RUNTIME_DIR={workdir}", *argv],
            name=f"backend-{workers}",
            ready=lambda: _answers(backend_port),
            env={"PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            timeout=60,
        ),
        daemon(lambda workdir: command(nginx, workdir, site), name="nginx", ready=nginx_port),
    ):
        return _measure(nginx_port)


def bench() -> list[Ratio]:
    nginx = program_path("nginx")
    if nginx is None:
        print("load_balancing bench: nginx not found (apt-get install nginx); no rows")
        return []
    loader = load_generator(CONNECTIONS)
    what = f"GET /work through nginx, requests per second ({loader}, {DURATION_S} s, {os.cpu_count()} CPUs)"
    one = _through_nginx(nginx, 1)
    return [
        Ratio(
            what, "1 uvicorn worker", f"{n} uvicorn workers", one, _through_nginx(nginx, n), "req/s"
        )
        for n in (2, 4)
    ]


if __name__ == "__main__":
    for ratio in bench():
        print(ratio, f"{ratio.ratio:.2f}")
