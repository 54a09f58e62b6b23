"""WSGI middleware: the same authentication and request log around a small Flask app.

A WSGI middleware is a callable ``(environ, start_response) -> iterable of bytes`` that
wraps another one. The response body is that iterable: the server pulls it chunk by chunk
after the middleware has returned, and must call its ``close()`` at the end (PEP 3333).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

from .common import REQUEST_ID_HEADER, Rejection, authenticate, log_request, resolve_request_id

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

Clock = Callable[[], float]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


class WSGIAuthMiddleware:
    """Answer 401 unless ``Authorization: Bearer <token>`` names a user; public paths are open."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        tokens: Mapping[str, str],
        public_paths: frozenset[str] = frozenset({"/health"}),
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.public_paths = public_paths

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # kata: begin pass public PATH_INFOs through; on a Rejection start a 401 with a JSON {"error"} body, Content-Type, Content-Length and WWW-Authenticate; else set environ["katas.user"] and call the app
        if environ.get("PATH_INFO", "") in self.public_paths:
            return self.app(environ, start_response)
        result = authenticate(environ.get("HTTP_AUTHORIZATION"), self.tokens)
        if isinstance(result, Rejection):
            body = json.dumps({"error": result.error}).encode()
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("WWW-Authenticate", result.challenge),
                ],
            )
            return [body]
        environ["katas.user"] = result
        return self.app(environ, start_response)
        # kata: end


class WSGIRequestLogMiddleware:
    """Give each request an id, echo it in X-Request-ID and write one access record."""

    def __init__(self, app: WSGIApplication, *, clock: Clock = time.perf_counter) -> None:
        self.app = app
        self.clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # kata: begin resolve the id into environ["katas.request_id"], add X-Request-ID in a wrapped start_response, return the body lazily and log when the server calls close(); if the app raises, log status 500 and re-raise
        request_id = resolve_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ["katas.request_id"] = request_id
        status = 500  # until start_response says otherwise

        def start_with_id(
            status_line: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            nonlocal status
            status = int(status_line.split(" ", 1)[0])
            return start_response(
                status_line, [*headers, (REQUEST_ID_HEADER, request_id)], exc_info
            )

        def record(error: BaseException | None = None) -> None:
            log_request(
                request_id=request_id,
                method=environ["REQUEST_METHOD"],
                path=environ.get("PATH_INFO", ""),
                status=500 if error is not None else status,
                duration_ms=(self.clock() - started) * 1000,
                error=error,
            )

        started = self.clock()
        try:
            body = self.app(environ, start_with_id)
        except Exception as exc:
            record(exc)
            raise
        # Not list(body): the server streams it, and calls close() when the response is done.
        return ClosingIterator(body, record)
        # kata: end


def create_flask_app(tokens: Mapping[str, str], *, clock: Clock = time.perf_counter) -> Flask:
    """A small Flask app behind both middlewares; the request log is the outer one."""
    app = Flask(__name__)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    def whoami() -> dict[str, str]:
        return {
            "user": request.environ["katas.user"],
            "request_id": request.environ["katas.request_id"],
        }

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("a bug in a handler")

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> tuple[Any, int, list[tuple[str, str]]]:
        # Flask turns an unhandled exception into InternalServerError, so /boom lands here too.
        # Keep the error's own headers (a 405's Allow), not its HTML content type.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return jsonify(error=error.name.lower()), error.code or 500, headers

    app.wsgi_app = WSGIRequestLogMiddleware(  # type: ignore[method-assign]
        WSGIAuthMiddleware(app.wsgi_app, tokens=tokens), clock=clock
    )
    return app
