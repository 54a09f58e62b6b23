"""Real servers on 127.0.0.1 ephemeral ports: wsgiref for the WSGI app, uvicorn for the ASGI app."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from katas import kit
from katas.kit import RawResponse

from .asgi_app import AsgiApp
from .wsgi_app import WsgiApp

LIMIT = 1000  # a small body limit keeps the over-limit requests small


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Served:
    port: int
    events: list[str] = field(default_factory=list)
    stop: Callable[[], None] = lambda: None


@pytest.fixture
def wsgi_server() -> Iterator[Served]:
    """The WSGI app under wsgiref.simple_server, which passes even a bogus Content-Length on."""
    events: list[str] = []
    app = WsgiApp(max_body=LIMIT, events=events)
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Served(server.server_port, events)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def asgi_server() -> Iterator[Served]:
    """The ASGI app under uvicorn (lifespan on) in a thread; ``stop()`` shuts it down."""
    events: list[str] = []
    with ExitStack() as stack:
        try:
            port = stack.enter_context(kit.serve_asgi(AsgiApp(max_body=LIMIT, events=events)))
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield Served(port, events, stack.close)


@pytest.fixture
def raw_http() -> Callable[[int, bytes], RawResponse]:
    """Send raw bytes to 127.0.0.1:port and parse one HTTP response (5 s guard against hangs)."""

    def send(port: int, data: bytes) -> RawResponse:
        try:
            return kit.raw_http(port, data, timeout=5)
        except TimeoutError:
            pytest.fail("no answer: the server is waiting for a body it should have refused")

    return send
