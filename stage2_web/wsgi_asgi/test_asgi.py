"""ASGI (HTTP + lifespan): the app called with a hand-written receive and a recording send, then
served by uvicorn."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from katas.kit import RawResponse

from .asgi_app import AsgiApp, Message, Resource
from .conftest import LIMIT, Served

JSON = b"application/json"


class Client:
    """Plays the server: hands the app ``chunks`` as http.request messages, records what it sends."""

    def __init__(self, chunks: Sequence[bytes] = (), *, disconnect_after: bool = False) -> None:
        self.messages: list[Message] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ] or [{"type": "http.request", "body": b"", "more_body": False}]
        if disconnect_after:
            self.messages[-1]["more_body"] = True
            self.messages.append({"type": "http.disconnect"})
        self.received = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        message = self.messages[self.received]
        self.received += 1
        return message

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def http_scope(
    method: str, path: str, query: bytes = b"", headers: Sequence[tuple[bytes, bytes]] = ()
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def json_messages(status: int, body: bytes, *extra: tuple[bytes, bytes]) -> list[Message]:
    headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode()), *extra]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


# --- the app called directly ---------------------------------------------------------------


@pytest.mark.task(5)
async def test_echo_reassembles_a_body_sent_in_several_messages() -> None:
    client = Client([b"hel", b"lo", b""])
    await AsgiApp()(http_scope("POST", "/echo"), client.receive, client.send)
    assert client.sent == json_messages(200, b'{"length": 5, "body": "hello"}'), (
        "keep receiving http.request messages while more_body is True, then answer once"
    )


@pytest.mark.task(5)
async def test_body_and_more_body_keys_are_optional() -> None:
    client = Client()
    client.messages = [
        {"type": "http.request", "body": b"hel", "more_body": True},
        {"type": "http.request", "more_body": True},  # "body" defaults to b""
        {"type": "http.request", "body": b"lo"},  # "more_body" defaults to False: the last one
        {"type": "http.request", "body": b"never read"},
    ]
    await AsgiApp()(http_scope("POST", "/echo"), client.receive, client.send)
    assert client.sent == json_messages(200, b'{"length": 5, "body": "hello"}'), (
        "the ASGI spec makes body (default b'') and more_body (default False) optional"
    )
    assert client.received == 3


@pytest.mark.task(8)
async def test_hello_reads_the_query_string_bytes() -> None:
    client = Client()
    await AsgiApp()(http_scope("GET", "/hello", b"name=J%C3%BCrgen"), client.receive, client.send)
    assert [json.loads(m["body"]) for m in client.sent[1:]] == [{"message": "hello, Jürgen"}]
    raw = Client()  # a raw non-ASCII byte: latin-1 decodes any byte, as WSGI's environ does
    await AsgiApp()(http_scope("GET", "/hello", b"name=\xe9"), raw.receive, raw.send)
    assert [json.loads(m["body"]) for m in raw.sent[1:]] == [{"message": "hello, \u00e9"}]


@pytest.mark.task(8)
async def test_disconnect_before_any_body_sends_nothing() -> None:
    client = Client()
    client.messages = [{"type": "http.disconnect"}]
    await AsgiApp()(http_scope("POST", "/echo"), client.receive, client.send)
    assert (client.sent, client.received) == ([], 1), "the client left: nobody to answer"


@pytest.mark.task(5)
async def test_413_as_soon_as_the_running_total_passes_the_limit() -> None:
    client = Client([b"x" * 5, b"x" * 5, b"x", b"never read"])
    await AsgiApp(max_body=10)(http_scope("POST", "/echo"), client.receive, client.send)
    assert client.sent == json_messages(413, b'{"error": "body too large", "limit": 10}')
    assert client.received == 3, (
        "stop at the first message that passes the limit: an attacker's gigabyte is never buffered"
    )


@pytest.mark.task(5)
async def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    client = Client([b"x" * 5, b"x" * 5])
    await AsgiApp(max_body=10)(http_scope("POST", "/echo"), client.receive, client.send)
    assert client.sent[0]["status"] == 200, "limit bytes are allowed; limit + 1 are not"


@pytest.mark.task(5)
async def test_announced_length_over_the_limit_is_413_before_receiving() -> None:
    client = Client([b"x" * 20])
    scope = http_scope("POST", "/echo", headers=[(b"content-length", b"20")])
    await AsgiApp(max_body=10)(scope, client.receive, client.send)
    assert client.sent == json_messages(413, b'{"error": "body too large", "limit": 10}')
    assert client.received == 0, "the header already says it is too large: receive nothing"


@pytest.mark.task(5)
async def test_invalid_content_length_header_is_400() -> None:
    client = Client([b"hello"])
    scope = http_scope("POST", "/echo", headers=[(b"content-length", b"+5")])
    await AsgiApp()(scope, client.receive, client.send)
    assert client.sent == json_messages(400, b'{"error": "invalid Content-Length"}')


@pytest.mark.task(5)
async def test_thousands_of_digits_are_4xx_not_500() -> None:
    client = Client([b"x" * 20])
    scope = http_scope("POST", "/echo", headers=[(b"content-length", b"9" * 5000)])
    await AsgiApp(max_body=10)(scope, client.receive, client.send)
    assert client.sent == json_messages(413, b'{"error": "body too large", "limit": 10}'), (
        "int() raises ValueError beyond 4300 digits: such a length is simply too large"
    )
    stream = Client()
    await AsgiApp()(http_scope("GET", "/stream", b"n=" + b"9" * 5000), stream.receive, stream.send)
    assert stream.sent == json_messages(400, b'{"error": "n must be an integer from 1 to 100"}')


@pytest.mark.task(8)
async def test_disconnect_mid_body_sends_nothing() -> None:
    client = Client([b"partial"], disconnect_after=True)
    await AsgiApp()(http_scope("POST", "/echo"), client.receive, client.send)
    assert client.sent == [], "after http.disconnect nobody is listening: send no response"


@pytest.mark.task(6)
async def test_stream_message_sequence() -> None:
    client = Client()
    await AsgiApp()(http_scope("GET", "/stream", b"n=3"), client.receive, client.send)
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
    }
    body = [
        {"type": "http.response.body", "body": f"chunk {i}\n".encode(), "more_body": True}
        for i in range(3)
    ]
    end = {"type": "http.response.body", "body": b"", "more_body": False}
    assert client.sent == [start, *body, end], (
        "a streamed response: start without content-length, one body message per chunk with "
        "more_body=True, and a final empty message that ends the response"
    )


@pytest.mark.task(8)
async def test_wrong_method_is_405_with_allow_and_unknown_path_404() -> None:
    client = Client()
    await AsgiApp()(http_scope("GET", "/echo"), client.receive, client.send)
    assert client.sent == json_messages(
        405, b'{"error": "method not allowed"}', (b"allow", b"POST")
    )
    client = Client()
    await AsgiApp()(http_scope("GET", "/nope"), client.receive, client.send)
    assert client.sent == json_messages(404, b'{"error": "not found"}')


@pytest.mark.task(7)
async def test_lifespan_opens_before_startup_complete_and_closes_before_shutdown_complete() -> None:
    events: list[str] = []
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        events.append(f"sent {message['type']}")

    app = AsgiApp(events=events)
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert events == [
        "resource opened",
        "sent lifespan.startup.complete",
        "resource closed",
        "sent lifespan.shutdown.complete",
    ], "ready only once the resource is open; shut down only once it is closed"


@pytest.mark.task(7)
async def test_lifespan_reports_a_failed_startup() -> None:
    class Broken(Resource):
        async def open(self) -> None:
            raise ConnectionError("database unreachable")

    sent: list[Message] = []
    incoming = iter([{"type": "lifespan.startup"}])

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message)

    app = AsgiApp(resource_factory=Broken)
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent == [{"type": "lifespan.startup.failed", "message": "database unreachable"}], (
        "tell the server startup failed (it then refuses to serve) instead of crashing"
    )


@pytest.mark.task(9)
async def test_a_websocket_is_refused_and_an_unknown_scope_raises() -> None:
    incoming: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "path": "/hello", "headers": []}
    await AsgiApp()(scope, receive, send)
    assert (sent, incoming) == ([{"type": "websocket.close", "code": 1008}], []), (
        "receive websocket.connect, then close without accepting: the server answers 403"
    )
    incoming, sent[:] = [{"type": "websocket.disconnect", "code": 1006}], []
    await AsgiApp()(scope, receive, send)
    assert (sent, incoming) == ([], []), "the client left before the handshake: nobody to refuse"
    with pytest.raises(RuntimeError, match="unsupported ASGI scope type"):
        await AsgiApp()({"type": "telepathy"}, receive, send)


# --- served by uvicorn, over real sockets ---------------------------------------------------


@pytest.mark.task(8)
def test_uvicorn_serves_hello_and_echo(asgi_server: Served) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{asgi_server.port}", timeout=5) as client:
        assert client.get("/hello", params={"name": "ada"}).json() == {"message": "hello, ada"}
        response = client.post("/echo", content=b"ping")
        assert (response.status_code, response.json()) == (200, {"length": 4, "body": "ping"})
        response = client.delete("/hello")
        assert (response.status_code, response.headers.get("allow")) == (405, "GET")


@pytest.mark.task(6)
def test_uvicorn_streams_with_chunked_encoding(asgi_server: Served) -> None:
    with (
        httpx.Client(timeout=5) as client,
        client.stream("GET", f"http://127.0.0.1:{asgi_server.port}/stream?n=4") as response,
    ):
        chunks = b"".join(response.iter_raw())
        assert response.headers.get("transfer-encoding") == "chunked", (
            "no content-length from the app: the server frames the stream with chunked encoding"
        )
        assert "content-length" not in response.headers
    assert chunks == b"chunk 0\nchunk 1\nchunk 2\nchunk 3\n"


@pytest.mark.task(5)
def test_uvicorn_chunked_upload_over_the_limit_is_413(
    asgi_server: Served, raw_http: Callable[[int, bytes], RawResponse]
) -> None:
    piece = b"x" * 600
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    response = raw_http(asgi_server.port, head + chunk * 3 + b"0\r\n\r\n")
    assert (response.status, json.loads(response.body)) == (
        413,
        {"error": "body too large", "limit": LIMIT},
    ), "a chunked body has no Content-Length: only the running total can enforce the limit"


@pytest.mark.task(5)
def test_uvicorn_refuses_an_announced_large_body_before_it_arrives(
    asgi_server: Served, raw_http: Callable[[int, bytes], RawResponse]
) -> None:
    head = f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {LIMIT * 5}\r\n\r\n".encode()
    response = raw_http(asgi_server.port, head)  # the body is never sent
    assert (response.status, json.loads(response.body)) == (
        413,
        {"error": "body too large", "limit": LIMIT},
    )


@pytest.mark.task(7)
def test_uvicorn_runs_startup_before_the_first_request_and_shutdown_after(
    asgi_server: Served,
) -> None:
    response = httpx.get(f"http://127.0.0.1:{asgi_server.port}/hello", timeout=5)
    assert response.status_code == 200
    asgi_server.stop()
    assert asgi_server.events == ["resource opened", "GET /hello", "resource closed"], (
        "lifespan.startup runs before the server accepts requests; lifespan.shutdown after"
    )


@pytest.mark.task(9)
def test_uvicorn_answers_a_websocket_upgrade_with_403_not_500(asgi_server: Served) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{asgi_server.port}/hello", open_timeout=5)
    assert refused.value.response.status_code == 403, (
        "a websocket.close before websocket.accept is a refusal (403); an exception would be a 500"
    )
