"""Requests per second from an HTTP server, for benchmarks: wrk where installed, else Python.

wrk (``apt-get install wrk``) drives a server far harder than Python can; without it a
keep-alive ``http.client`` loop per thread measures the same thing more gently, and
:func:`load_generator` names which one ran, so a report never hides the difference.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

WARMUP_SECONDS = 1


def load_generator(connections: int = 32) -> str:
    """What :func:`request_rate` runs on this machine, for a report's baseline text."""
    if shutil.which("wrk"):
        return f"wrk -t2 -c{connections}"
    return f"Python load generator, {max(1, connections // 4)} threads (wrk missing)"


def request_rate(
    url: str,
    *,
    seconds: float = 4,
    connections: int = 32,
    headers: Mapping[str, str] | None = None,
) -> float:
    """GET ``url`` under load for ``seconds`` (after a warm-up); requests per second.

    Raises RuntimeError when any answer is not 2xx or 3xx: a rate of errors is no rate.
    """
    measure = _wrk if shutil.which("wrk") else _python_load
    measure(url, WARMUP_SECONDS, connections, headers or {})
    return measure(url, seconds, connections, headers or {})


def _wrk(url: str, seconds: float, connections: int, headers: Mapping[str, str]) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    if errors := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
    rate = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    return float(rate.group(1))


def _python_load(url: str, seconds: float, connections: int, headers: Mapping[str, str]) -> float:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    stop_at = time.monotonic() + seconds
    counts: list[int] = []
    failures: list[str] = []

    def worker() -> None:
        done = 0
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
        while time.monotonic() < stop_at:
            try:
                conn.request("GET", target, headers=dict(headers))
                response = conn.getresponse()
                response.read()
            except OSError:
                conn.close()
                continue
            if response.status >= 400:
                failures.append(f"{response.status} {response.reason}")
            if response.will_close:
                conn.close()
            done += 1
        conn.close()
        counts.append(done)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, connections // 4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} error responses from {url}, first: {failures[0]}")
    return sum(counts) / (time.monotonic() - started)
