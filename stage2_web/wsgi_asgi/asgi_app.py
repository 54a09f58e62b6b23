"""An ASGI application with no framework: the HTTP and lifespan protocols by hand.

Serve it with any ASGI server, e.g. ``uvicorn stage2_web.wsgi_asgi.asgi_app:app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from .common import (
    MAX_BODY,
    ROUTES,
    HttpError,
    content_length,
    dumps,
    echo,
    hello,
    line,
    stream_count,
)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientDisconnected(Exception):
    """The client went away (``http.disconnect``) before the body was complete."""


class Resource:
    """Stands in for a connection pool: opened at startup, closed at shutdown."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.is_open = False

    async def open(self) -> None:
        self.is_open = True
        self.events.append("resource opened")

    async def close(self) -> None:
        self.is_open = False
        self.events.append("resource closed")


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (ASGI names are lower-case bytes), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def send_json(
    send: Send, status: HTTPStatus, payload: dict[str, Any], headers: Sequence[tuple[str, str]] = ()
) -> None:
    """A complete JSON response: one ``http.response.start`` and one ``http.response.body``."""
    body = dumps(payload)
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status.value, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def lines(count: int) -> AsyncIterator[bytes]:
    """``line(0)`` .. ``line(count - 1)``, produced one at a time."""
    for i in range(count):
        yield line(i)


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Collect the body from ``http.request`` messages (``more_body=True`` means more follow).

    A ``content-length`` header is optional (a chunked body has none) but, when present, it is
    checked with content_length() first: invalid -> 400, over ``limit`` -> 413 before reading.
    413 "body too large" (limit=limit) as soon as the running total passes ``limit``, without
    receiving the rest; ``http.disconnect`` -> raise ClientDisconnected.
    """
    # kata: begin check the content-length header; receive chunks until more_body is False; 413 as soon as the total > limit
    content_length(header(scope, b"content-length"), limit)
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        body += message.get("body", b"")
        if len(body) > limit:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large", limit=limit)
        if not message.get("more_body", False):
            return bytes(body)
    # kata: end


async def send_stream(send: Send, chunks: AsyncIterator[bytes]) -> None:
    """A streamed 200 text/plain response: no content-length, one body message per chunk.

    Send ``http.response.start`` (status 200, headers exactly
    ``[(b"content-type", b"text/plain; charset=utf-8")]``), then each chunk as an
    ``http.response.body`` with ``more_body=True``, then a final empty body with ``more_body=False``.
    """
    # kata: begin send response.start, one body message per chunk with more_body=True, then an empty final body
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    async for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    # kata: end


class AsgiApp:
    """``await app(scope, receive, send)`` for the ``lifespan`` and ``http`` scopes.

    A ``websocket`` scope is refused (a 403 to the upgrade request); any other scope type raises.
    """

    def __init__(
        self,
        *,
        max_body: int = MAX_BODY,
        events: list[str] | None = None,
        resource_factory: Callable[[list[str]], Resource] = Resource,
    ) -> None:
        self.max_body = max_body
        self.events: list[str] = events if events is not None else []
        self.log_requests = events is not None  # a production app keeps no unbounded log
        self.resource_factory = resource_factory
        self.resource: Resource | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            if self.log_requests:
                self.events.append(f"{scope['method']} {scope['path']}")
            await self.http(scope, receive, send)
        elif scope["type"] == "websocket":
            # Not served here: refuse the handshake. Raising instead would make the server answer
            # the upgrade request with a 500, as if the app had crashed.
            await self.websocket(receive, send)
        else:  # the spec: an app raises on a scope type it does not know
            raise RuntimeError(f"unsupported ASGI scope type {scope['type']!r}")

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Answer ``lifespan.startup`` and ``lifespan.shutdown`` until shutdown is done.

        Startup: build the resource from ``resource_factory`` and the events, ``await open()`` it,
        then send ``lifespan.startup.complete`` — or, if opening raised, send
        ``lifespan.startup.failed`` with ``message=str(exc)`` and return.
        Shutdown: ``await`` the resource's ``close()``, then send ``lifespan.shutdown.complete``
        and return.
        """
        # kata: begin loop on receive(): open the resource on startup, close it on shutdown, send *.complete after each
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.resource = self.resource_factory(self.events)
                    await self.resource.open()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.resource is not None:
                    await self.resource.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
        # kata: end

    async def websocket(self, receive: Receive, send: Send) -> None:
        """Refuse a WebSocket: this app serves none.

        Receive the ``websocket.connect`` message, then send
        ``{"type": "websocket.close", "code": 1008}`` (policy violation) without accepting: a close
        before ``websocket.accept`` makes the server answer the upgrade request with HTTP 403.
        Send nothing if the client already left (``websocket.disconnect``).
        """
        # kata: begin receive websocket.connect, then send websocket.close (code 1008) without accepting
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})
        # kata: end

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request: 404 / 405 + Allow, GET /hello, POST /echo, GET /stream."""
        # kata: begin route by scope path/method like the WSGI app; HttpError -> send_json; ClientDisconnected -> send nothing
        path: str = scope["path"]
        query = bytes(scope["query_string"]).decode("latin-1")
        allowed = ROUTES.get(path)
        try:
            if allowed is None:
                raise HttpError(HTTPStatus.NOT_FOUND, "not found")
            if scope["method"] != allowed:
                raise HttpError(
                    HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed", [("Allow", allowed)]
                )
            if path == "/hello":
                await send_json(send, HTTPStatus.OK, hello(query))
            elif path == "/echo":
                body = await read_body(scope, receive, self.max_body)
                await send_json(send, HTTPStatus.OK, echo(body))
            else:
                await send_stream(send, lines(stream_count(query)))
        except HttpError as exc:
            await send_json(send, exc.status, exc.body, exc.headers)
        except ClientDisconnected:
            return
        # kata: end


app = AsgiApp()
