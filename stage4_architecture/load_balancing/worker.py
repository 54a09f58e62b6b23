"""The gunicorn worker class of every backend: uvicorn's, counting TCP connections as they open.

Given code. It lives apart from the app so that the gunicorn master, which imports the worker
class, does not import FastAPI: each process stays as small as it can.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]

BACKEND_ID = os.environ.get("BACKEND_ID", "solo")


class Stats:
    """What this worker process has seen (one worker per backend, or per-worker numbers)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # by method, /stats excluded
        self.in_flight = 0
        self.connections: Counter[str] = Counter()  # by peer address

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": BACKEND_ID,
            "pid": os.getpid(),
            "requests": dict(self.requests),
            "in_flight": self.in_flight,
            "connections": dict(self.connections),
        }


STATS = Stats()


class CountingH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, one instance per TCP connection: count each one."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        STATS.connections[str(peer[0]) if peer else "unix"] += 1
        super().connection_made(transport)


class CountingWorker(UvicornWorker):  # type: ignore[misc]
    """gunicorn's uvicorn worker with the counting protocol (and no uvloop: one code path)."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "asyncio", "http": CountingH11Protocol}
