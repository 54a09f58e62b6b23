"""WSGI (PEP 3333): the app called directly with a hand-built environ, then served by wsgiref."""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from katas.kit import RawResponse

from .common import MAX_LINES, content_length
from .conftest import LIMIT, Served
from .wsgi_app import WsgiApp


class StrictInput:
    """A wsgi.input that behaves like a socket: read() without a size would block forever."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)
        self.reads: list[int] = []

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size >= 0, (
            "wsgi.input.read() without a size blocks on a real socket: read CONTENT_LENGTH bytes"
        )
        self.reads.append(size)
        return self.stream.read(size)


class Recorder:
    """A start_response that records what the app started."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]]]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.calls.append((status, headers))
        return lambda data: None


def environ_for(
    method: str, path: str, query: str = "", body: bytes | None = None, length: str | None = None
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
    }
    if body is not None:
        environ["wsgi.input"] = StrictInput(body)
        environ["CONTENT_TYPE"] = "application/octet-stream"
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    setup_testing_defaults(environ)
    return environ


def call(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Call the app like a server does: start_response, iterate the result, close() it."""
    recorder = Recorder()
    result: Iterable[bytes] = app(environ, recorder)
    try:
        body = b"".join(result)
    finally:
        close: Callable[[], None] | None = getattr(result, "close", None)
        if close is not None:
            close()
    assert len(recorder.calls) == 1, "start_response is called exactly once per response"
    status, headers = recorder.calls[0]
    return int(status.split()[0]), dict(headers), body


# --- Content-Length, the rule both apps share -----------------------------------------------


@pytest.mark.task(1)
def test_content_length_accepts_digits_and_treats_empty_as_absent() -> None:
    got = [content_length(v, 1000) for v in (None, "", "0", "12", "1000")]
    assert got == [None, None, 0, 12, 1000], "PEP 3333: CONTENT_LENGTH may be empty or absent"


@pytest.mark.task(1)
@pytest.mark.parametrize("raw", ["abc", "-1", "+5", "1_0", " 5", "5.0", "١٢"])
def test_content_length_rejects_anything_but_ascii_digits(raw: str) -> None:
    app = WsgiApp(max_body=LIMIT)
    status, _, body = call(app, environ_for("POST", "/echo", body=b"hello", length=raw))
    assert (status, json.loads(body)) == (400, {"error": "invalid Content-Length"}), (
        f"Content-Length {raw!r}: RFC 9110 allows digits only; int() alone accepts signs, "
        "spaces, underscores and non-ASCII digits"
    )


# --- the app called directly ---------------------------------------------------------------


@pytest.mark.task(4)
def test_hello_direct_call() -> None:
    status, headers, body = call(WsgiApp(), environ_for("GET", "/hello", "name=ada"))
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"message": "hello, ada"}
    assert call(WsgiApp(), environ_for("GET", "/hello"))[2] == b'{"message": "hello, world"}'


@pytest.mark.task(2)
def test_echo_reads_exactly_content_length_bytes() -> None:
    environ = environ_for(
        "POST", "/echo", body=b"hello, extra bytes of the next request", length="5"
    )
    status, headers, body = call(WsgiApp(), environ)
    assert (status, json.loads(body)) == (200, {"length": 5, "body": "hello"}), (
        "read CONTENT_LENGTH bytes and no more: the rest of the stream is not this body"
    )
    assert headers["Content-Length"] == str(len(body))


@pytest.mark.task(2)
def test_post_without_content_length_is_411() -> None:
    environ = environ_for("POST", "/echo", body=b"hello")
    status, _, body = call(WsgiApp(), environ)
    assert (status, json.loads(body)) == (411, {"error": "Content-Length required"})
    assert environ["wsgi.input"].reads == [], "without a length there is nothing safe to read"


@pytest.mark.task(2)
def test_post_with_an_empty_content_length_is_411() -> None:
    environ = environ_for("POST", "/echo", body=b"hello", length="")
    status, _, body = call(WsgiApp(), environ)
    assert (status, json.loads(body)) == (411, {"error": "Content-Length required"}), (
        "PEP 3333: CONTENT_LENGTH may be empty or absent; empty is no length either"
    )
    assert environ["wsgi.input"].reads == []


@pytest.mark.task(2)
def test_empty_body_with_content_length_0_is_echoed() -> None:
    status, _, body = call(WsgiApp(), environ_for("POST", "/echo", body=b"", length="0"))
    assert (status, json.loads(body)) == (200, {"length": 0, "body": ""}), (
        "Content-Length: 0 is a length (an empty body), not a missing one: only absent is 411"
    )


@pytest.mark.task(1)
def test_too_large_body_is_413_without_reading_it() -> None:
    environ = environ_for("POST", "/echo", body=b"x" * 50, length=str(LIMIT + 1))
    status, _, body = call(WsgiApp(max_body=LIMIT), environ)
    assert (status, json.loads(body)) == (413, {"error": "body too large", "limit": LIMIT})
    assert environ["wsgi.input"].reads == [], "refuse on the announced length: read nothing"


@pytest.mark.task(1)
def test_content_length_of_thousands_of_digits_is_413_not_500() -> None:
    environ = environ_for("POST", "/echo", body=b"x" * 50, length="9" * 5000)
    status, _, body = call(WsgiApp(max_body=LIMIT), environ)
    assert (status, json.loads(body)) == (413, {"error": "body too large", "limit": LIMIT}), (
        "int() raises ValueError beyond 4300 digits: count the digits before converting"
    )
    assert environ["wsgi.input"].reads == []
    padded = environ_for("POST", "/echo", body=b"hello", length="0" * 5000 + "5")
    status, _, body = call(WsgiApp(max_body=LIMIT), padded)
    assert (status, json.loads(body)) == (200, {"length": 5, "body": "hello"}), (
        "leading zeros are digits too: 000...05 is 5"
    )


@pytest.mark.task(1)
def test_body_at_the_limit_is_accepted() -> None:
    environ = environ_for("POST", "/echo", body=b"x" * LIMIT, length=str(LIMIT))
    status, _, body = call(WsgiApp(max_body=LIMIT), environ)
    assert (status, json.loads(body)["length"]) == (200, LIMIT), "the limit itself is allowed"


@pytest.mark.task(2)
def test_short_body_is_400() -> None:
    environ = environ_for("POST", "/echo", body=b"abcd", length="10")
    status, _, body = call(WsgiApp(), environ)
    assert (status, json.loads(body)) == (400, {"error": "incomplete body"}), (
        "the client announced 10 bytes and sent 4: do not echo a truncated body"
    )


@pytest.mark.task(4)
def test_non_utf8_echo_is_400() -> None:
    status, _, body = call(WsgiApp(), environ_for("POST", "/echo", body=b"\xff\xfe", length="2"))
    assert (status, json.loads(body)) == (400, {"error": "body is not valid UTF-8"})


@pytest.mark.task(4)
@pytest.mark.parametrize(
    ("method", "path", "allow"), [("DELETE", "/hello", "GET"), ("GET", "/echo", "POST")]
)
def test_wrong_method_is_405_with_allow(method: str, path: str, allow: str) -> None:
    status, headers, body = call(WsgiApp(), environ_for(method, path, body=b"", length="0"))
    assert (status, json.loads(body)) == (405, {"error": "method not allowed"})
    assert headers.get("Allow") == allow, "RFC 9110: a 405 must list the allowed methods in Allow"


@pytest.mark.task(4)
def test_absent_query_string_means_the_defaults() -> None:
    hello = environ_for("GET", "/hello")
    del hello["QUERY_STRING"]  # PEP 3333: QUERY_STRING "may be empty or absent"
    assert call(WsgiApp(), hello)[:3:2] == (200, b'{"message": "hello, world"}')
    stream = environ_for("GET", "/stream")
    del stream["QUERY_STRING"]
    assert call(WsgiApp(), stream)[:3:2] == (200, b"chunk 0\nchunk 1\nchunk 2\n"), "n is 3"


@pytest.mark.task(4)
def test_unknown_path_is_404() -> None:
    status, _, body = call(WsgiApp(), environ_for("GET", "/nope"))
    assert (status, json.loads(body)) == (404, {"error": "not found"})


@pytest.mark.task(4)
@pytest.mark.parametrize(
    "n", ["0", "abc", str(MAX_LINES + 1), pytest.param("9" * 5000, id="5000-digits")]
)
def test_bad_stream_count_is_400(n: str) -> None:
    status, _, body = call(WsgiApp(), environ_for("GET", "/stream", f"n={n}"))
    assert (status, json.loads(body)) == (
        400,
        {"error": f"n must be an integer from 1 to {MAX_LINES}"},
    )


@pytest.mark.task(3)
def test_stream_is_lazy_and_closed_by_the_server() -> None:
    events: list[str] = []
    recorder = Recorder()
    result = WsgiApp(events=events)(environ_for("GET", "/stream", "n=3"), recorder)
    assert recorder.calls == [("200 OK", [("Content-Type", "text/plain; charset=utf-8")])], (
        "a streamed response has no Content-Length: the server cannot know it in advance"
    )
    assert events == [], "nothing is produced before the server asks: return a generator"
    iterator = iter(result)
    assert next(iterator) == b"chunk 0\n"
    assert events == ["yield 0"], "one chunk per iteration, not the whole list up front"
    result.close()  # type: ignore[attr-defined]  # what a server does when the client goes away
    assert events == ["yield 0", "stream closed"], "close() runs the generator's finally block"


@pytest.mark.task(4)
def test_responses_pass_the_pep3333_validator() -> None:
    app = validator(WsgiApp())  # raises AssertionError on any protocol violation, on either side
    for method, path, query, body in [
        ("GET", "/hello", "name=ada", b""),
        ("POST", "/echo", "", b"hi"),
        ("GET", "/stream", "n=2", b""),
        ("GET", "/nope", "", b""),
    ]:
        environ = environ_for(method, path, query, length=str(len(body)))
        environ["wsgi.input"] = io.BytesIO(body)  # the validator wants a full file-like object
        recorder = Recorder()
        result = app(environ, recorder)
        b"".join(result)
        result.close()  # type: ignore[attr-defined]
        assert recorder.calls, "start_response must be called"


# --- served by wsgiref, over real sockets ---------------------------------------------------


def request(
    served: Served,
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
    try:
        conn.request(method, url, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.task(4)
def test_wsgiref_serves_hello_and_echo(wsgi_server: Served) -> None:
    status, _, body = request(wsgi_server, "GET", "/hello?name=J%C3%BCrgen")
    assert (status, json.loads(body)) == (200, {"message": "hello, Jürgen"})
    status, _, body = request(wsgi_server, "POST", "/echo", b"ping")
    assert (status, json.loads(body)) == (200, {"length": 4, "body": "ping"})


@pytest.mark.task(2)
def test_wsgiref_post_without_content_length_is_411(wsgi_server: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", wsgi_server.port, timeout=5)
    try:
        conn.putrequest("POST", "/echo")  # no Content-Length header at all
        conn.endheaders()
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (
            411,
            {"error": "Content-Length required"},
        )
    finally:
        conn.close()


@pytest.mark.task(1)
@pytest.mark.parametrize("bogus", ["abc", "-5"])
def test_wsgiref_bogus_content_length_is_400(wsgi_server: Served, bogus: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", wsgi_server.port, timeout=5)
    try:
        conn.putrequest("POST", "/echo")
        conn.putheader("Content-Length", bogus)
        conn.endheaders()
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (
            400,
            {"error": "invalid Content-Length"},
        )
    finally:
        conn.close()


@pytest.mark.task(2)
def test_wsgiref_refuses_a_large_body_before_it_arrives(
    wsgi_server: Served, raw_http: Callable[[int, bytes], RawResponse]
) -> None:
    head = f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {LIMIT * 5}\r\n\r\n".encode()
    response = raw_http(wsgi_server.port, head)  # the body is never sent
    assert (response.status, json.loads(response.body)) == (
        413,
        {"error": "body too large", "limit": LIMIT},
    ), "decide on the announced length: do not wait for (or buffer) a body you will refuse"


@pytest.mark.task(3)
def test_wsgiref_streams_and_closes(wsgi_server: Served) -> None:
    status, headers, body = request(wsgi_server, "GET", "/stream?n=3")
    assert (status, body) == (200, b"chunk 0\nchunk 1\nchunk 2\n")
    assert "Content-Length" not in headers, "the streamed length is not known up front"
    assert wsgi_server.events == ["yield 0", "yield 1", "yield 2", "stream closed"]


@pytest.mark.task(4)
def test_wsgiref_405_has_allow_header(wsgi_server: Served) -> None:
    status, headers, body = request(wsgi_server, "PUT", "/stream", b"")
    assert (status, headers.get("Allow"), json.loads(body)) == (
        405,
        "GET",
        {"error": "method not allowed"},
    )
