"""Requests per second through nginx to one gunicorn backend with 1, 2 and 4 uvicorn workers.

The backend and nginx run as in the tests (the reference configuration, keepalive to the
backend), on free ports, and are always stopped. The load comes from ``wrk`` (or, without it, a
small Python load generator). It shares the machine with the servers: on 2 cores, 4 workers
compete with nginx and the load generator, so compare the rows with each other, not with
another machine's.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from katas.kit import Ratio, daemon, free_port

from .nginx_conf import Backend, Site, command

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = __package__ or "stage4_architecture.load_balancing"
CONNECTIONS = 32
WARMUP_S = 1
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


def _wrk(port: int, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", f"http://127.0.0.1:{port}{PATH}"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"wrk saw {match.group(1)} error responses:\n{out}")
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
        while time.monotonic() < stop_at:
            try:
                conn.request("GET", PATH)
                conn.getresponse().read()
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
    load = _wrk if shutil.which("wrk") else _python_load
    load(port, WARMUP_S)
    return load(port, DURATION_S)


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
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        print("load_balancing bench: nginx not found (apt-get install nginx); no rows")
        return []
    loader = f"wrk -t2 -c{CONNECTIONS}" if shutil.which("wrk") else "Python load generator"
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
