"""The backend behind nginx: a small FastAPI app that says who answered and counts what it saw.

Given code. Each backend is one gunicorn master with uvicorn workers; ``BACKEND_ID`` names it.
The tests ask the app directly (``/stats``) what reached it: requests, requests in flight, and
TCP connections opened from each peer address (counted in ``worker.py``, below the app, where a
reused keep-alive connection is still one connection).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import FastAPI, Query, Request, Response

from .worker import BACKEND_ID, STATS

MAX_DELAY_MS = 30_000


app = FastAPI(title=f"backend {BACKEND_ID}")


async def _work(
    request: Request,
    response: Response,
    delay_ms: int,
    slow_on: str,
    fail_on: str,
) -> dict[str, Any]:
    STATS.requests[request.method] += 1
    STATS.in_flight += 1
    try:
        if BACKEND_ID in slow_on.split(","):
            await asyncio.sleep(delay_ms / 1000)
        if BACKEND_ID in fail_on.split(","):
            response.status_code = 503  # a sick backend: up, but failing every request
            return {"backend": BACKEND_ID, "error": "this backend is failing on purpose"}
        return {"backend": BACKEND_ID, "pid": os.getpid()}
    finally:
        STATS.in_flight -= 1


# Query parameters drive the test scenarios: `slow_on=b&delay_ms=300` slows backend b only,
# `fail_on=c` makes backend c answer 503. The bounds make nonsense a 422, never a 500.
_DELAY = Query(0, ge=0, le=MAX_DELAY_MS, description="sleep this long on the slow backends")
_SLOW = Query("", max_length=200, description="backend ids (comma-separated) that sleep")
_FAIL = Query("", max_length=200, description="backend ids (comma-separated) that answer 503")


@app.get("/work")
async def work(
    request: Request,
    response: Response,
    delay_ms: int = _DELAY,
    slow_on: str = _SLOW,
    fail_on: str = _FAIL,
) -> dict[str, Any]:
    return await _work(request, response, delay_ms, slow_on, fail_on)


@app.post("/work")
async def post_work(
    request: Request,
    response: Response,
    delay_ms: int = _DELAY,
    slow_on: str = _SLOW,
    fail_on: str = _FAIL,
) -> dict[str, Any]:
    return await _work(request, response, delay_ms, slow_on, fail_on)


@app.get("/whoami")
async def whoami(request: Request) -> dict[str, Any]:
    """The request as the app sees it, after the server applied (or refused) proxy headers."""
    STATS.requests[request.method] += 1
    return {
        "backend": BACKEND_ID,
        "pid": os.getpid(),
        "client": request.client.host if request.client else None,
        "scheme": request.url.scheme,
        "host": request.headers.get("host"),
        "x_forwarded_for": request.headers.get("x-forwarded-for"),
        "x_forwarded_proto": request.headers.get("x-forwarded-proto"),
        "x_real_ip": request.headers.get("x-real-ip"),
        "connection": request.headers.get("connection"),
        "http_version": request.scope.get("http_version"),
    }


@app.get("/stats")
async def stats() -> dict[str, Any]:
    return STATS.as_dict()
