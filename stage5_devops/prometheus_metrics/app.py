"""The service being watched: a few routes whose latency, status and worker the tests control.

Every answer names the worker process (``pid``) that gave it, so a test can tell gunicorn's
workers apart.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI, HTTPException, Path, Query
from fastapi.responses import Response, StreamingResponse

from .metrics import METRICS_PATH, MetricsMiddleware, exposition

ITEM_COUNT = 1000  # items 0..999 exist
MAX_DELAY_MS = 5000

app = FastAPI(title="watched service")
app.add_middleware(MetricsMiddleware)


@app.get("/items/{item_id}")
async def read_item(item_id: int = Path(ge=0)) -> dict[str, int]:
    if item_id >= ITEM_COUNT:
        raise HTTPException(404, f"no item {item_id}")
    return {"id": item_id, "pid": os.getpid()}


@app.get("/slow")
async def slow(ms: int = Query(ge=0, le=MAX_DELAY_MS)) -> dict[str, int]:
    """Waits ``ms`` milliseconds without blocking the worker: a latency the tests control."""
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms, "pid": os.getpid()}


@app.get("/busy")
async def busy(ms: int = Query(ge=0, le=MAX_DELAY_MS)) -> dict[str, int]:
    """Blocks its worker's event loop for ``ms`` (as CPU-bound work would): meanwhile only the
    other workers accept connections."""
    time.sleep(ms / 1000)
    return {"busy_ms": ms, "pid": os.getpid()}


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("a bug: the server answers 500")


@app.get("/stream")
async def stream(seconds: float = Query(ge=0, le=60)) -> StreamingResponse:
    """A long download: the first line names the worker, the last comes ``seconds`` later."""

    async def lines() -> AsyncIterator[str]:
        yield f"{os.getpid()}\n"
        await asyncio.sleep(seconds)
        yield "done\n"

    return StreamingResponse(lines(), media_type="text/plain")


@app.get(METRICS_PATH, include_in_schema=False)
def metrics() -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)
