"""Pure ASGI middleware: the FastAPI app through httpx, and the raw ASGI protocol by hand."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .asgi import AuthMiddleware, RequestLogMiddleware, create_app
from .conftest import AccessLog, Ticks

HEX_ID = re.compile(r"[0-9a-f]{32}")
ALICE = {"Authorization": "Bearer alice-token"}


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def http_scope(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [],
        "server": ("test", 80),
        "client": ("127.0.0.1", 50000),
    }


def request_receiver() -> Receive:
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected until the app is done
        raise AssertionError("unreachable")

    return receive


async def call_raw(app: ASGIApp, scope: Scope) -> list[Message]:
    """Run one request through a raw ASGI app; return every message it sent."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async with asyncio.timeout(2):
        await app(scope, request_receiver(), send)
    return sent


def header(message: Message, name: bytes) -> list[bytes]:
    return [value for key, value in message.get("headers", []) if key.lower() == name]


@pytest.mark.task(1)
async def test_missing_token_is_401_with_json_error_and_challenge(tokens: dict[str, str]) -> None:
    async with client_for(create_app(tokens)) as client:
        for headers in (
            {},
            {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
            {"Authorization": "Bearer"},
        ):
            response = await client.get("/whoami", headers=headers)
            assert response.status_code == 401, f"{headers}: no bearer token means 401"
            assert response.json() == {"error": "missing bearer token"}, "a JSON body says why"
            assert response.headers["www-authenticate"] == "Bearer", (
                "RFC 6750: a 401 carries the challenge, so the client knows which scheme to use"
            )
            assert response.headers["content-type"] == "application/json"


@pytest.mark.task(1)
async def test_unknown_token_is_401_invalid_token(tokens: dict[str, str]) -> None:
    async with client_for(create_app(tokens)) as client:
        response = await client.get("/whoami", headers={"Authorization": "Bearer stolen"})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid token"}
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"', (
        "RFC 6750: a rejected token gets error=invalid_token in the challenge"
    )


@pytest.mark.task(1)
async def test_valid_token_puts_the_user_in_the_scope(tokens: dict[str, str]) -> None:
    async with client_for(create_app(tokens)) as client:
        response = await client.get("/whoami", headers=ALICE)
        lower = await client.get("/whoami", headers={"Authorization": "bearer bob-token"})
    assert response.status_code == 200, response.text
    assert response.json()["user"] == "alice", "the handler reads request.user (scope['user'])"
    assert lower.json()["user"] == "bob", "the auth scheme name is case-insensitive (RFC 7235)"


@pytest.mark.task(4)
async def test_public_path_needs_no_token(tokens: dict[str, str]) -> None:
    async with client_for(create_app(tokens)) as client:
        response = await client.get("/health")
        lookalike = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"}), (
        "health checks run without credentials: /health is public"
    )
    assert lookalike.status_code == 401, "public paths match exactly, not by prefix"


@pytest.mark.task(4)
async def test_user_is_set_in_scope_user_and_scope_state(tokens: dict[str, str]) -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = http_scope("/whoami", [(b"authorization", b"Bearer alice-token")])
    await call_raw(AuthMiddleware(app, tokens=tokens), scope)
    assert seen[0]["user"] == "alice", "Starlette's request.user reads scope['user']"
    assert seen[0]["state"]["user"] == "alice", "request.state.user reads scope['state']"


@pytest.mark.task(4)
async def test_lifespan_scope_passes_through_both_middlewares(tokens: dict[str, str]) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    wrapped = RequestLogMiddleware(AuthMiddleware(app, tokens=tokens))
    assert await call_raw(wrapped, {"type": "lifespan"}) == []
    assert seen == ["lifespan"], (
        "startup/shutdown events are not requests: no auth, no log, or the app never starts"
    )


@pytest.mark.task(4)
async def test_websocket_scope_passes_through_both_middlewares(tokens: dict[str, str]) -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    scope: Scope = {"type": "websocket", "path": "/chat", "headers": [], "subprotocols": []}
    wrapped = RequestLogMiddleware(AuthMiddleware(app, tokens=tokens))
    assert await call_raw(wrapped, scope) == []
    assert [s["type"] for s in seen] == ["websocket"], "every non-HTTP scope goes straight through"
    assert "user" not in seen[0], "the HTTP rules do not apply: the app authenticates websockets"


@pytest.mark.task(4)
async def test_rejected_request_never_reaches_the_app(tokens: dict[str, str]) -> None:
    reached: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"secret"})

    middleware = AuthMiddleware(app, tokens=tokens)
    for headers in ([], [(b"authorization", b"Bearer stolen")]):
        sent = await call_raw(middleware, http_scope("/whoami", headers))
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
        assert sent[0]["status"] == 401 and b"secret" not in sent[1]["body"]
    assert reached == [], "after the 401, return: the app must not run"
    sent = await call_raw(middleware, http_scope("/health"))
    assert sent[0]["status"] == 200 and "user" not in reached[0], "public: no user, no check"


@pytest.mark.task(5)
async def test_request_id_is_generated_and_echoed(tokens: dict[str, str]) -> None:
    async with client_for(create_app(tokens)) as client:
        first = await client.get("/whoami", headers=ALICE)
        second = await client.get("/whoami", headers=ALICE)
    ids = [first.headers.get("x-request-id"), second.headers.get("x-request-id")]
    assert all(i is not None and HEX_ID.fullmatch(i) for i in ids), f"uuid4().hex ids, got {ids}"
    assert ids[0] != ids[1], "every request gets its own id"
    assert first.json()["request_id"] == ids[0], "the handler sees the id in request.state"


@pytest.mark.task(5)
async def test_incoming_request_id_is_propagated(
    tokens: dict[str, str], access_log: AccessLog
) -> None:
    async with client_for(create_app(tokens)) as client:
        response = await client.get("/whoami", headers=ALICE | {"X-Request-ID": "edge-7f3a-42"})
    assert response.headers["x-request-id"] == "edge-7f3a-42", "a safe upstream id is kept"
    assert response.json()["request_id"] == "edge-7f3a-42"
    assert [f["request_id"] for f in access_log.fields()] == ["edge-7f3a-42"], (
        "one id across proxy, app and logs is what makes tracing a request possible"
    )


@pytest.mark.task(2)
@pytest.mark.parametrize(
    "bad",
    [
        b"abc\n",
        b"abc\r\nfake=record",
        b"a" * 65,
        b"",
        b"id with spaces",
        b"caf\xc3\xa9",
        b"<script>",
    ],
)
async def test_unsafe_incoming_request_id_is_replaced(
    bad: bytes, tokens: dict[str, str], access_log: AccessLog
) -> None:
    headers = [(b"x-request-id", bad)]  # raw ASGI: httpx itself would refuse some of these
    sent = await call_raw(create_app(tokens), http_scope("/health", headers))
    echoed = header(sent[0], b"x-request-id")
    assert len(echoed) == 1 and HEX_ID.fullmatch(echoed[-1].decode()), (
        f"{bad!r} is not a safe token: replace it with a fresh id (log and header injection), "
        f"got {echoed}"
    )
    assert access_log.fields()[-1]["request_id"] == echoed[-1].decode()


@pytest.mark.task(3)
async def test_one_structured_access_record_per_request(
    tokens: dict[str, str], ticks: Ticks, access_log: AccessLog
) -> None:
    async with client_for(create_app(tokens, clock=ticks)) as client:
        response = await client.get("/whoami?debug=1", headers=ALICE)
    assert access_log.fields() == [
        {
            "request_id": response.headers["x-request-id"],
            "method": "GET",
            "path": "/whoami",
            "status": 200,
            "duration_ms": 250.0,
        }
    ], "one record, its fields as `extra`; the path without the query string (it may hold secrets)"
    assert access_log.records[0].levelname == "INFO"


@pytest.mark.task(5)
async def test_401_is_logged_and_carries_the_request_id(
    tokens: dict[str, str], ticks: Ticks, access_log: AccessLog
) -> None:
    async with client_for(create_app(tokens, clock=ticks)) as client:
        response = await client.get("/whoami", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 401
    assert response.headers.get("x-request-id") == "probe-1", (
        "the log middleware is outermost, so even the 401 that auth answers gets the id"
    )
    assert access_log.fields() == [
        {
            "request_id": "probe-1",
            "method": "GET",
            "path": "/whoami",
            "status": 401,
            "duration_ms": 250.0,
        }
    ], "rejected requests are exactly the ones you want in the access log"


@pytest.mark.task(5)
async def test_handler_exception_becomes_json_500_and_is_logged_with_traceback(
    tokens: dict[str, str], ticks: Ticks, access_log: AccessLog
) -> None:
    async with client_for(create_app(tokens, clock=ticks)) as client:
        response = await client.get("/boom", headers=ALICE | {"X-Request-ID": "oops-1"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "request_id": "oops-1"}, (
        "no traceback to the client, but an id it can quote to support"
    )
    assert response.headers.get("x-request-id") == "oops-1"
    assert access_log.fields() == [
        {
            "request_id": "oops-1",
            "method": "GET",
            "path": "/boom",
            "status": 500,
            "duration_ms": 250.0,
        }
    ], "the record is written even when the app raises"
    record = access_log.records[0]
    assert record.levelname == "ERROR", "a 500 is logged at ERROR"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError, (
        "log the traceback once, with the request id, where it happened"
    )


@pytest.mark.task(5)
async def test_exception_after_the_response_started_is_reraised(
    tokens: dict[str, str], ticks: Ticks, access_log: AccessLog
) -> None:
    async def half_then_crash(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("crash mid-stream")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = RequestLogMiddleware(half_then_crash, clock=ticks)
    with pytest.raises(RuntimeError, match="crash mid-stream"):
        await app(http_scope("/export"), request_receiver(), send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"], (
        "once the start is sent no second response may follow: re-raise so the server aborts"
    )
    assert access_log.fields()[0]["status"] == 200, "log the status the client really got"
    assert access_log.records[0].levelname == "ERROR"


@pytest.mark.task(5)
async def test_app_that_returns_without_a_response_is_logged_as_500(
    ticks: Ticks, access_log: AccessLog
) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None  # a bug: no http.response.start at all; the server answers 500 for it

    sent = await call_raw(RequestLogMiddleware(silent, clock=ticks), http_scope("/silent"))
    assert sent == [], "the app raised nothing: the middleware adds no response of its own"
    assert [(f["status"], f["duration_ms"]) for f in access_log.fields()] == [(500, 250.0)], (
        "no status was sent, so the server's 500 is what the client got"
    )
    assert access_log.records[0].levelname == "ERROR"


@pytest.mark.task(5)
async def test_cancellation_is_not_swallowed(tokens: dict[str, str]) -> None:
    entered = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        entered.set()
        await asyncio.Event().wait()  # until the server cancels it: the client went away

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = RequestLogMiddleware(slow)
    task = asyncio.create_task(app(http_scope("/slow"), request_receiver(), send))
    waiter = asyncio.create_task(entered.wait())
    await asyncio.wait({task, waiter}, timeout=2, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # the middleware ended before the app was waiting: raise its error
    assert entered.is_set(), "the middleware never called the app"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task
    assert sent == [], (
        "CancelledError is not an app error: catch Exception, not BaseException, and no 500"
    )


@pytest.mark.task(5)
async def test_streaming_response_streams_through_both_middlewares(
    tokens: dict[str, str], access_log: AccessLog
) -> None:
    now = [10.0]
    release = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first"
        await release.wait()  # the test decides when the second chunk may exist
        now[0] = 10.5
        yield b"second"

    endpoint = StreamingResponse(chunks(), media_type="text/plain")
    app = RequestLogMiddleware(AuthMiddleware(endpoint, tokens=tokens), clock=lambda: now[0])
    sent: asyncio.Queue[Message] = asyncio.Queue()
    scope = http_scope("/stream", [(b"authorization", b"Bearer alice-token")])
    task = asyncio.create_task(app(scope, request_receiver(), sent.put))
    try:
        try:
            async with asyncio.timeout(2):
                start = await sent.get()
                first = await sent.get()
        except TimeoutError:
            pytest.fail("the first chunk never came out while the second was pending: buffering")
        assert start["type"] == "http.response.start" and header(start, b"x-request-id")
        assert (first["body"], first["more_body"]) == (b"first", True), (
            "the first chunk must reach the client before the second exists: no buffering"
        )
        assert access_log.records == [], "the request is not over while the body still streams"
        release.set()
        async with asyncio.timeout(2):
            await task
        rest = [sent.get_nowait() for _ in range(sent.qsize())]
    finally:
        task.cancel()
    assert [(m["body"], m.get("more_body", False)) for m in rest] == [
        (b"second", True),
        (b"", False),
    ], "chunks arrive one message each, in order"
    assert access_log.fields()[0]["duration_ms"] == 500.0, (
        "the duration covers the whole body, so it is measured after the app returns"
    )
