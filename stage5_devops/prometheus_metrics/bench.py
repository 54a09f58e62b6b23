"""What instrumentation costs per request: the app with and without MetricsMiddleware.

Two views. Through a real server (uvicorn in this process, load from ``wrk`` or a small Python
load generator): requests per second of ``GET /items/{item_id}``, where parsing HTTP and
routing dominate. And in isolation: one request through the ASGI stack without any network,
where the middleware's own work (a counter, a histogram, a gauge, the route lookup) is a larger
share. On a shared 2-core machine, compare the rows with each other, not with another machine.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from starlette.types import Message

from katas.kit import Ratio, best_time, request_rate, serve_asgi

from .app import app, read_item

PATH = "/items/7"
CALLS = 2000


def plain_app() -> FastAPI:
    """The same route, without the metrics middleware."""
    plain = FastAPI()
    plain.add_api_route("/items/{item_id}", read_item)
    return plain


def _rate(asgi: FastAPI) -> float:
    with serve_asgi(asgi) as port:
        return request_rate(f"http://127.0.0.1:{port}{PATH}", seconds=3, connections=16)


def _in_process_seconds(asgi: FastAPI) -> float:
    """Seconds per request of CALLS requests sent straight into the ASGI app."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    async def run() -> None:
        for _ in range(CALLS):
            await asgi(dict(scope), receive, send)

    return best_time(lambda: asyncio.run(run()), repeat=3) / CALLS


def bench() -> list[Ratio]:
    return [
        Ratio(
            "GET /items/7 through uvicorn",
            "plain app",
            "instrumented",
            _rate(plain_app()),
            _rate(app),
            "req/s",
        ),
        Ratio(
            "one request through the ASGI stack, no network",
            "plain app",
            "instrumented",
            _in_process_seconds(plain_app()),
            _in_process_seconds(app),
            "s",
        ),
    ]
