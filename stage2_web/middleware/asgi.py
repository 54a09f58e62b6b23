"""Pure ASGI middleware: authentication and a request log around a small FastAPI app.

A pure ASGI middleware is just an ASGI app that wraps another one. It sees every message
the app sends, one by one, so a streamed body passes straight through, and it runs in the
same task as the app, so context variables set on either side stay visible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .common import REQUEST_ID_HEADER, Rejection, authenticate, log_request, resolve_request_id

Clock = Callable[[], float]


class AuthMiddleware:
    """Answer 401 unless ``Authorization: Bearer <token>`` names a user; public paths are open."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: Mapping[str, str],
        public_paths: frozenset[str] = frozenset({"/health"}),
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # kata: begin pass non-http scopes and public paths through; on a Rejection send a 401 JSON {"error"} with WWW-Authenticate; else set scope["user"] and scope["state"]["user"] and call the app
        if scope["type"] != "http" or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        result = authenticate(Headers(scope=scope).get("authorization"), self.tokens)
        if isinstance(result, Rejection):
            response = JSONResponse(
                {"error": result.error},
                status_code=401,
                headers={"WWW-Authenticate": result.challenge},
            )
            await response(scope, receive, send)
            return
        scope["user"] = result
        scope.setdefault("state", {})["user"] = result
        await self.app(scope, receive, send)
        # kata: end


class RequestLogMiddleware:
    """Give each request an id, echo it in X-Request-ID and write one access record."""

    def __init__(self, app: ASGIApp, *, clock: Clock = time.perf_counter) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # kata: begin resolve the id into scope["state"]["request_id"], add X-Request-ID to http.response.start, log once after the app returns; an exception before the start -> JSON 500 {"error", "request_id"}, after it -> re-raise
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = resolve_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope.setdefault("state", {})["request_id"] = request_id
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        started = self.clock()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            duration_ms = (self.clock() - started) * 1000
            log_request(
                request_id=request_id,
                method=scope["method"],
                path=scope["path"],
                status=status or 500,
                duration_ms=duration_ms,
                error=exc,
            )
            if status is not None:
                raise  # the response has started: nothing else can be sent, let the server abort
            response = JSONResponse(
                {"error": "internal server error", "request_id": request_id},
                status_code=500,
                headers={REQUEST_ID_HEADER: request_id},
            )
            await response(scope, receive, send)
            return
        log_request(
            request_id=request_id,
            method=scope["method"],
            path=scope["path"],
            status=status or 500,
            duration_ms=(self.clock() - started) * 1000,
        )
        # kata: end


def create_app(tokens: Mapping[str, str], *, clock: Clock = time.perf_counter) -> FastAPI:
    """A small API behind both middlewares; the request log is added last, so it is outermost."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        return {"user": request.user, "request_id": request.state.request_id}

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("a bug in a handler")

    app.add_middleware(AuthMiddleware, tokens=tokens)
    # Outermost: it also times and logs the 401s that AuthMiddleware answers by itself.
    app.add_middleware(RequestLogMiddleware, clock=clock)
    return app
