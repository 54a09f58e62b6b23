"""The service: one real endpoint and the three probes Kubernetes asks about it.

- ``/healthz`` (liveness): is the process able to answer at all? Never ask a dependency here: a
  database outage must not make the kubelet restart every pod at once.
- ``/startupz`` (startup): has the start-up work finished? Until it has, liveness is not asked,
  so a slow warm-up is not mistaken for a hang.
- ``/readyz`` (readiness): should the load balancer send traffic here now? No while starting, and
  no again from the moment SIGTERM arrives, so traffic drains away before the process stops.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from enum import StrEnum
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import JSONResponse

from .settings import Settings

log = logging.getLogger("docker_k8s")

WarmUp = Callable[[], Awaitable[None]]
MAX_WORK_SECONDS = 60.0


class Phase(StrEnum):
    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"


class Lifecycle:
    """Where the process is in its life, as the probes report it; one per process."""

    def __init__(self) -> None:
        self.phase = Phase.STARTING
        self.in_flight = 0  # /api/work requests being served now

    # kata: begin the phase changes (a drain is final) and what each probe asks of the phase
    def mark_ready(self) -> None:
        """Start-up work is done; a drain that began during start-up stays a drain."""
        if self.phase is Phase.STARTING:
            self.phase = Phase.READY

    def begin_drain(self) -> None:
        self.phase = Phase.DRAINING

    @property
    def started(self) -> bool:
        return self.phase is not Phase.STARTING

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY

    # kata: end


def create_app(settings: Settings, lifecycle: Lifecycle, warm_up: WarmUp | None = None) -> FastAPI:
    """The ASGI app; ``warm_up`` is the start-up work (by default: wait WARMUP_SECONDS)."""

    async def default_warm_up() -> None:
        await asyncio.sleep(settings.warmup_seconds)

    work = warm_up or default_warm_up

    # kata: begin warm up in the background after start-up, then mark the process ready
    async def warm_then_ready() -> None:
        try:
            await work()
        except Exception:
            log.exception("start-up work failed: staying unready, the startup probe will fail")
            return
        lifecycle.mark_ready()
        log.info("start-up work done: ready")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # In the background: the port opens now, so liveness and startup probes get answers.
        task = asyncio.create_task(warm_then_ready())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    # kata: end

    app = FastAPI(title="docker_k8s", lifespan=lifespan)

    # kata: begin the probes: /healthz, /startupz, /readyz (200 or 503, with the phase)
    def probe(ok: bool) -> JSONResponse:
        body = {"status": lifecycle.phase.value, "in_flight": lifecycle.in_flight}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return probe(True)

    @app.get("/startupz")
    async def startupz() -> JSONResponse:
        return probe(lifecycle.started)

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return probe(lifecycle.ready)

    # kata: end

    @app.get("/api/work")
    async def do_work(
        seconds: Annotated[float, Query(ge=0, le=MAX_WORK_SECONDS, allow_inf_nan=False)] = 0.0,
        authorization: Annotated[str, Header()] = "",
    ) -> dict[str, Any]:
        """Slow work on behalf of a caller who shows the token; counted while in flight."""
        # kata: begin check the Bearer token, then do the work while counted in flight
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            token.encode(), settings.api_token.encode()
        ):
            raise HTTPException(401, "send Authorization: Bearer <API_TOKEN>")
        lifecycle.in_flight += 1
        try:
            await asyncio.sleep(seconds)
        finally:
            lifecycle.in_flight -= 1
        return {"greeting": settings.greeting, "slept": seconds}
        # kata: end

    return app
