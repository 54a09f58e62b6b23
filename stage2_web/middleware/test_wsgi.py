"""WSGI middleware: the Flask app through its test client, and raw WSGI calls by hand."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator

import pytest

from .conftest import AccessLog, Ticks
from .wsgi import WSGIAuthMiddleware, WSGIRequestLogMiddleware, create_flask_app

HEX_ID = re.compile(r"[0-9a-f]{32}")
ALICE = {"Authorization": "Bearer alice-token"}
# buffered=True: the test client reads the whole body and calls close(), as a server does.


def environ_for(path: str, **headers: str) -> dict[str, str]:
    """A minimal WSGI environ; headers as HTTP_* keys, the way a server passes them."""
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
    } | {f"HTTP_{name.upper()}": value for name, value in headers.items()}


class StartResponse:
    """Records what a WSGI app passes to start_response, and what it writes with write()."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]]]] = []
        self.exc_infos: list[object] = []
        self.written: list[bytes] = []

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> Callable[[bytes], None]:
        self.calls.append((status, headers))
        self.exc_infos.append(exc_info)
        return self.written.append  # PEP 3333: the legacy write() callable


@pytest.mark.task(6)
def test_missing_and_unknown_tokens_are_401_with_json_and_challenge(
    tokens: dict[str, str],
) -> None:
    client = create_flask_app(tokens).test_client()
    missing = client.get("/whoami", buffered=True)
    unknown = client.get("/whoami", headers={"Authorization": "Bearer stolen"}, buffered=True)
    assert (missing.status_code, missing.json) == (401, {"error": "missing bearer token"})
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.headers["Content-Type"] == "application/json", "the body is JSON: say so"
    assert missing.headers.get("Content-Length") == str(len(missing.data)), (
        "a WSGI app that answers by itself sets Content-Length, so the server need not chunk"
    )
    assert (unknown.status_code, unknown.json) == (401, {"error": "invalid token"})
    assert unknown.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.task(6)
def test_valid_token_puts_the_user_in_the_environ(tokens: dict[str, str]) -> None:
    client = create_flask_app(tokens).test_client()
    response = client.get("/whoami", headers=ALICE, buffered=True)
    assert response.status_code == 200, response.text
    assert response.json is not None and response.json["user"] == "alice", (
        'the handler reads environ["katas.user"]'
    )
    assert client.get("/health", buffered=True).status_code == 200, "/health is public"
    for lookalike in ("/healthz", "/health/admin"):
        response = client.get(lookalike, buffered=True)
        assert response.status_code == 401, (
            f"{lookalike}: public paths match exactly, not by prefix"
        )


@pytest.mark.task(6)
def test_rejected_request_never_reaches_the_app(tokens: dict[str, str]) -> None:
    reached: list[object] = []

    def app(environ: dict[str, object], start_response: StartResponse) -> list[bytes]:
        reached.append(environ.get("katas.user"))
        start_response("200 OK", [])
        return [b"secret"]

    wrapped = WSGIAuthMiddleware(app, tokens=tokens)  # type: ignore[arg-type]
    for headers in ({}, {"AUTHORIZATION": "Bearer stolen"}, {"AUTHORIZATION": "Basic alice-token"}):
        start_response = StartResponse()
        body = b"".join(wrapped(environ_for("/whoami", **headers), start_response))
        assert [status for status, _ in start_response.calls] == ["401 Unauthorized"], (
            "answer the 401 once, and do not go on to the app"
        )
        assert b"secret" not in body and reached == [], f"{headers}: the app must not run"
    start_response = StartResponse()
    body = b"".join(
        wrapped(environ_for("/whoami", AUTHORIZATION="Bearer bob-token"), start_response)
    )
    assert (body, reached) == (b"secret", ["bob"]), "a known token reaches the app, user set"


@pytest.mark.task(7)
def test_request_id_is_propagated_or_generated(
    tokens: dict[str, str], access_log: AccessLog
) -> None:
    client = create_flask_app(tokens).test_client()
    kept = client.get("/whoami", headers=ALICE | {"X-Request-ID": "edge-7f3a-42"}, buffered=True)
    fresh = client.get("/whoami", headers=ALICE, buffered=True)
    unsafe = client.get("/whoami", headers=ALICE | {"X-Request-ID": "a" * 65}, buffered=True)
    assert kept.headers["X-Request-ID"] == "edge-7f3a-42", "a safe upstream id is kept"
    assert kept.json is not None and kept.json["request_id"] == "edge-7f3a-42"
    assert HEX_ID.fullmatch(fresh.headers["X-Request-ID"]), "no id: a fresh uuid4().hex"
    assert HEX_ID.fullmatch(unsafe.headers["X-Request-ID"]), "an unsafe id is replaced"
    assert [f["request_id"] for f in access_log.fields()] == [
        "edge-7f3a-42",
        fresh.headers["X-Request-ID"],
        unsafe.headers["X-Request-ID"],
    ]


@pytest.mark.task(2)
def test_newline_in_request_id_is_replaced(tokens: dict[str, str], access_log: AccessLog) -> None:
    def app(environ: dict[str, object], start_response: StartResponse) -> list[bytes]:
        start_response("204 No Content", [])
        return []

    start_response = StartResponse()
    wrapped = WSGIRequestLogMiddleware(app)  # type: ignore[arg-type]
    body = wrapped(environ_for("/x", X_REQUEST_ID="abc\nforged=1"), start_response)
    list(body)
    body.close()  # type: ignore[attr-defined]
    echoed = dict(start_response.calls[0][1]).get("X-Request-ID", "")
    assert HEX_ID.fullmatch(echoed), f"a newline is how log lines get forged; got {echoed!r}"


@pytest.mark.task(7)
def test_one_structured_access_record_per_request(
    tokens: dict[str, str], ticks: Ticks, access_log: AccessLog
) -> None:
    client = create_flask_app(tokens, clock=ticks).test_client()
    ok = client.get("/whoami?token=secret", headers=ALICE, buffered=True)
    denied = client.post("/whoami", headers={"X-Request-ID": "probe-1"}, buffered=True)
    assert denied.headers.get("X-Request-ID") == "probe-1", "the log middleware is the outer one"
    assert access_log.fields() == [
        {
            "request_id": ok.headers["X-Request-ID"],
            "method": "GET",
            "path": "/whoami",
            "status": 200,
            "duration_ms": 250.0,
        },
        {
            "request_id": "probe-1",
            "method": "POST",
            "path": "/whoami",
            "status": 401,
            "duration_ms": 250.0,
        },
    ], "one record per request, 401s included; fields as `extra`; the path without the query"
    assert [r.levelname for r in access_log.records] == ["INFO", "INFO"]


@pytest.mark.task(3)
def test_flask_error_is_json_500_and_logged(
    tokens: dict[str, str], ticks: Ticks, access_log: AccessLog
) -> None:
    client = create_flask_app(tokens, clock=ticks).test_client()
    response = client.get("/boom", headers=ALICE | {"X-Request-ID": "oops-1"}, buffered=True)
    assert (response.status_code, response.json) == (500, {"error": "internal server error"})
    assert response.headers.get("X-Request-ID") == "oops-1"
    assert access_log.fields() == [
        {
            "request_id": "oops-1",
            "method": "GET",
            "path": "/boom",
            "status": 500,
            "duration_ms": 250.0,
        }
    ]
    assert access_log.records[0].levelname == "ERROR", "a 500 is logged at ERROR"


@pytest.mark.task(7)
def test_exception_escaping_the_app_is_logged_and_reraised(
    ticks: Ticks, access_log: AccessLog
) -> None:
    def crashing(environ: dict[str, object], start_response: StartResponse) -> list[bytes]:
        raise RuntimeError("no error handler caught this")

    wrapped = WSGIRequestLogMiddleware(crashing, clock=ticks)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="no error handler"):
        wrapped(environ_for("/crash", X_REQUEST_ID="c-1"), StartResponse())
    assert access_log.fields() == [
        {
            "request_id": "c-1",
            "method": "GET",
            "path": "/crash",
            "status": 500,
            "duration_ms": 250.0,
        }
    ], "the record is written even when the app raises (then the server answers 500)"
    record = access_log.records[0]
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert record.exc_info[0] is RuntimeError, "the traceback goes with the record"


@pytest.mark.task(7)
def test_an_app_that_never_starts_a_response_is_logged_as_500(
    ticks: Ticks, access_log: AccessLog
) -> None:
    def silent(environ: dict[str, object], start_response: StartResponse) -> list[bytes]:
        return []  # a broken app: no start_response at all (the server answers 500)

    wrapped = WSGIRequestLogMiddleware(silent, clock=ticks)  # type: ignore[arg-type]
    body = wrapped(environ_for("/silent", X_REQUEST_ID="s-1"), StartResponse())
    assert list(body) == []
    getattr(body, "close", lambda: None)()
    assert [f["status"] for f in access_log.fields()] == [500], (
        "no start_response, no status: the record says 500, what the server answers"
    )


class LazyBody:
    """A WSGI body that counts the chunks pulled from it and whether it was closed."""

    def __init__(self, start_response: StartResponse, now: list[float]) -> None:
        self.start_response, self.now = start_response, now
        self.pulled = 0
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        self.start_response("200 OK", [("Content-Type", "text/plain")])  # WSGI allows it here
        for chunk in (b"one", b"two", b"three"):
            self.pulled += 1
            yield chunk
        self.now[0] = 12.0  # the body took two seconds to produce

    def close(self) -> None:
        self.closed += 1


@pytest.mark.task(7)
def test_body_is_passed_through_lazily_and_closed(
    tokens: dict[str, str], access_log: AccessLog
) -> None:
    now = [10.0]
    bodies: list[LazyBody] = []

    def streaming(environ: dict[str, object], start_response: StartResponse) -> Iterable[bytes]:
        bodies.append(LazyBody(start_response, now))
        return bodies[-1]

    app = WSGIRequestLogMiddleware(
        WSGIAuthMiddleware(streaming, tokens=tokens),  # type: ignore[arg-type]
        clock=lambda: now[0],
    )
    start_response = StartResponse()
    environ = environ_for("/export", AUTHORIZATION="Bearer alice-token")
    body = app(environ, start_response)
    assert bodies[0].pulled == 0, "the middleware must not read the body: the server streams it"
    chunks = iter(body)
    assert next(chunks) == b"one" and bodies[0].pulled == 1, "one chunk at a time"
    assert start_response.calls[0][0] == "200 OK"
    assert ("X-Request-ID", environ["katas.request_id"]) in start_response.calls[0][1]
    assert list(chunks) == [b"two", b"three"]
    assert access_log.records == [], "the response is not done until the server calls close()"
    body.close()  # type: ignore[attr-defined]
    assert bodies[0].closed == 1, "PEP 3333: close() must reach the app's iterable (cleanup)"
    assert access_log.fields() == [
        {
            "request_id": environ["katas.request_id"],
            "method": "GET",
            "path": "/export",
            "status": 200,
            "duration_ms": 2000.0,
        }
    ], "logged at close(): the status set lazily and the time the whole body took"


@pytest.mark.task(7)
def test_wrapped_start_response_keeps_the_wsgi_call_shape(access_log: AccessLog) -> None:
    try:
        raise ValueError("the body failed after the headers were chosen")
    except ValueError:
        error = sys.exc_info()

    def legacy(environ: dict[str, object], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        # An error before any byte went out: replace the headers, passing exc_info (PEP 3333).
        write = start_response("500 Internal Server Error", [], error)
        write(b"written ")  # PEP 3333's write() callable, which old apps still use
        return [b"returned"]

    start_response = StartResponse()
    wrapped = WSGIRequestLogMiddleware(legacy)  # type: ignore[arg-type]
    body = wrapped(environ_for("/legacy", X_REQUEST_ID="w-1"), start_response)
    assert list(body) == [b"returned"]
    body.close()  # type: ignore[attr-defined]
    assert start_response.written == [b"written "], (
        "the wrapper returns what start_response returns: the app's write() callable"
    )
    assert start_response.exc_infos == [None, error], "exc_info is passed on, positionally or not"
    assert [("X-Request-ID", "w-1") in headers for _, headers in start_response.calls] == [
        True,
        True,
    ]
    assert [f["status"] for f in access_log.fields()] == [500], "the status that went out last"
