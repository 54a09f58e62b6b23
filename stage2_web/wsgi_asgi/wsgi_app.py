"""A WSGI application with no framework: PEP 3333 by hand.

Serve it with any WSGI server, e.g. ``gunicorn stage2_web.wsgi_asgi.wsgi_app:app`` or
``python -m wsgiref.simple_server`` style code (see the tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from http import HTTPStatus
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from .common import (
    MAX_BODY,
    ROUTES,
    HttpError,
    content_length,
    dumps,
    echo,
    hello,
    line,
    status_line,
    stream_count,
)


def json_response(
    start_response: StartResponse,
    status: HTTPStatus,
    payload: dict[str, Any],
    headers: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    """Start a JSON response and return its body as a one-item iterable."""
    body = dumps(payload)
    start_response(
        status_line(status),
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    return [body]


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """Read the request body of a POST, never more than CONTENT_LENGTH bytes.

    No Content-Length -> 411 "Content-Length required"; invalid -> 400; over ``limit`` -> 413
    before a single byte is read; fewer bytes than announced -> 400 "incomplete body".
    """
    # kata: begin 411 if CONTENT_LENGTH is missing (use content_length()); read exactly that many bytes
    length = content_length(environ.get("CONTENT_LENGTH"), limit)
    if length is None:
        raise HttpError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
    body: bytes = environ["wsgi.input"].read(length)
    if len(body) < length:
        raise HttpError(HTTPStatus.BAD_REQUEST, "incomplete body")
    return body
    # kata: end


def stream_lines(count: int, events: list[str] | None = None) -> Iterator[bytes]:
    """Yield ``line(0)`` .. ``line(count - 1)`` lazily, one per iteration.

    Log ``"yield <i>"`` to ``events`` just before each yield and ``"stream closed"`` when the
    generator finishes or is closed early (the server calls ``close()`` on the iterable).
    """
    log = events if events is not None else []
    # kata: begin a generator: log and yield line(i) one at a time; log "stream closed" in finally
    try:
        for i in range(count):
            log.append(f"yield {i}")
            yield line(i)
    finally:
        log.append("stream closed")
    # kata: end


class WsgiApp:
    """``app(environ, start_response) -> iterable of bytes`` — any callable will do; a class
    instance lets tests configure the body limit and read the event log."""

    def __init__(self, *, max_body: int = MAX_BODY, events: list[str] | None = None) -> None:
        self.max_body = max_body
        self.events = events

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # kata: begin route by PATH_INFO/REQUEST_METHOD: 404, 405 + Allow, /hello, /echo, /stream
        path = environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING", "")
        allowed = ROUTES.get(path)
        try:
            if allowed is None:
                raise HttpError(HTTPStatus.NOT_FOUND, "not found")
            if environ["REQUEST_METHOD"] != allowed:
                raise HttpError(
                    HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed", [("Allow", allowed)]
                )
            if path == "/hello":
                return json_response(start_response, HTTPStatus.OK, hello(query))
            if path == "/echo":
                body = read_body(environ, self.max_body)
                return json_response(start_response, HTTPStatus.OK, echo(body))
            count = stream_count(query)
            start_response(
                status_line(HTTPStatus.OK), [("Content-Type", "text/plain; charset=utf-8")]
            )
            return stream_lines(count, self.events)
        except HttpError as exc:
            return json_response(start_response, exc.status, exc.body, exc.headers)
        # kata: end


app = WsgiApp()
