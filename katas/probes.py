"""Hostile-input probes for the HTTP katas: a real server on an ephemeral port, raw bytes to it.

A test client calls the app directly, so it never shows what a server does with bytes no client
library would send (a malformed chunked body, a bogus Content-Length). These probes do.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

T = TypeVar("T")

#: Chunked bodies that break the framing rules of RFC 9112 section 7.1, by what is wrong.
MALFORMED_CHUNKED_BODIES: dict[str, bytes] = {
    "chunk size not hex": b"zz\r\n{}\r\n0\r\n\r\n",
    "negative chunk size": b"-5\r\n{}\r\n0\r\n\r\n",
    "missing CRLF after the data": b"2\r\n{}0\r\n\r\n",
    "truncated chunk": b"10\r\n{}",
}


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@contextmanager
def serve_wsgi(app: WSGIApplication) -> Iterator[int]:
    """Serve ``app`` with werkzeug's threaded server on 127.0.0.1; yield its port.

    Werkzeug decodes chunked request bodies itself, as gunicorn does, so a broken chunk surfaces
    inside the app when it reads the body: the case a test client cannot produce.
    """
    # Imported here: the kit is imported by every kata, and stage 1 has no werkzeug.
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serve_asgi(app: Any, *, startup_timeout: float = 10.0) -> Iterator[int]:
    """Serve ``app`` with uvicorn on 127.0.0.1, lifespan on; yield its port once started.

    Raises RuntimeError when the server does not start (for example a lifespan startup that
    fails) within ``startup_timeout`` seconds.
    """
    import uvicorn  # here: stage 1 has no uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start: did the lifespan startup complete?")
            time.sleep(0.01)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


def raw_http(
    port: int, data: bytes, *, timeout: float = 5.0, half_close: bool = False
) -> RawResponse:
    """Send ``data`` as it is to 127.0.0.1:``port`` and parse the one HTTP response.

    ``half_close`` shuts the sending side afterwards, so the server reads end-of-file where a
    truncated body stops instead of waiting for the rest. Raises TimeoutError naming the port
    when no answer comes within ``timeout`` seconds (a server still waiting for a body it
    should have refused).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            body = response.read()
        except TimeoutError:
            raise TimeoutError(f"127.0.0.1:{port} sent no answer within {timeout} s") from None
        return RawResponse(response.status, dict(response.getheaders()), body)


def chunked_request(method: str, path: str, body: bytes, content_type: str) -> bytes:
    """The raw bytes of one HTTP/1.1 request with ``Transfer-Encoding: chunked`` and ``body``."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def contract_settings(max_examples: int = 100) -> Callable[[T], T]:
    """Hypothesis settings for a schemathesis contract test that gives the same verdict each run.

    Derandomized (the same examples every run: no flakes), no deadline (a slow CI machine is not
    a failure), no example database on disk, and no health checks (schemathesis' strategies trip
    them on large schemas without anything being wrong).
    """
    from hypothesis import HealthCheck, settings

    configured: Callable[[T], T] = settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    return configured


class ContractSchema(Protocol):
    """What the contract tests use of a schemathesis schema."""

    def parametrize(self) -> Callable[[Callable[..., None]], Callable[..., None]]: ...

    def include(self, **criteria: Any) -> ContractSchema: ...

    def auth(self) -> Callable[[T], T]: ...


class _UnloadedSchema:
    """Stands in for a schema that could not be loaded: each test it parametrizes fails alone."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def parametrize(self) -> Callable[[Callable[..., None]], Callable[[], None]]:
        def replace(test: Callable[..., None]) -> Callable[[], None]:
            def unloaded() -> None:
                import pytest

                pytest.fail(self.reason)

            unloaded.__name__, unloaded.__qualname__ = test.__name__, test.__qualname__
            unloaded.__module__ = test.__module__
            return unloaded

        return replace

    def include(self, **criteria: Any) -> _UnloadedSchema:
        return self

    def auth(self) -> Callable[[T], T]:
        return lambda provider: provider


def load_contract(load: Callable[[], Any]) -> ContractSchema:
    """The schemathesis schema ``load()`` gives, for ``@schema.parametrize()`` at import time.

    Schemathesis needs the document when the test module is collected. When it cannot be had
    yet (a learner's app that does not build, or has no routes so far), an error there would
    stop the whole test run; instead each test the schema parametrizes fails on its own, with
    the reason.
    """
    try:
        schema = load()
        if not any(True for _ in schema.get_all_operations()):
            return _UnloadedSchema("the OpenAPI document lists no operations: no routes yet?")
    except Exception as exc:  # whatever the unfinished app raises
        return _UnloadedSchema(f"the OpenAPI document could not be loaded: {exc!r}")
    loaded: ContractSchema = schema
    return loaded


def bearer_auth(schema: ContractSchema, token: str) -> None:
    """Send ``Authorization: Bearer <token>`` on every call the document says needs a token.

    Schemathesis knows which operations those are from the security requirements, and still
    leaves the header off in the cases that test refusing a missing one.
    """

    @schema.auth()
    class Bearer:
        def get(self, case: Any, context: Any) -> str:
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers["Authorization"] = f"Bearer {data}"
