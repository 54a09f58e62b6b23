"""The service the image runs: a FastAPI app, as the article's ``app:app`` names it.

- ``/healthz`` answers while the process can serve: the HEALTHCHECK asks it.
- ``/work?seconds=`` holds a request open for a while, so a test can stop the container with a
  request in flight and see it finish (a graceful stop) rather than cut (a SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

from fastapi import FastAPI, Query

app = FastAPI(title="dockerfile kata")


@app.get("/healthz")
async def healthz() -> dict[str, object]:
    return {"status": "ok", "pid": os.getpid()}


@app.get("/work")
async def work(
    seconds: Annotated[float, Query(ge=0, le=30, allow_inf_nan=False)] = 0.0,
) -> dict[str, float]:
    # Said when the request arrives (the access log speaks only when it ends).
    print(f"work started: {seconds:g} s", file=sys.stderr, flush=True)
    await asyncio.sleep(seconds)
    return {"slept": seconds}
