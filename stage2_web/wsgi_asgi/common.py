"""What both apps share: the routes, the error type, the JSON payloads, the Content-Length rule.

Nothing here knows WSGI or ASGI; the protocol work lives in ``wsgi_app.py`` and ``asgi_app.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

MAX_BODY = 1 << 20  # 1 MiB: a larger request body is answered with 413
MAX_LINES = 100  # GET /stream?n= accepts 1..MAX_LINES

# path -> the one method it answers; anything else on a known path is a 405 with an Allow header
ROUTES: dict[str, str] = {"/hello": "GET", "/echo": "POST", "/stream": "GET"}


class HttpError(Exception):
    """A 4xx answer: ``status``, a small JSON ``body`` and extra response ``headers``."""

    def __init__(
        self, status: HTTPStatus, error: str, headers: Sequence[tuple[str, str]] = (), **extra: Any
    ) -> None:
        super().__init__(f"{status.value} {error}")
        self.status = status
        self.body: dict[str, Any] = {"error": error, **extra}
        self.headers = list(headers)


def status_line(status: HTTPStatus) -> str:
    """The WSGI status string, e.g. ``"404 Not Found"``."""
    return f"{status.value} {status.phrase}"


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def hello(query: str) -> dict[str, Any]:
    """GET /hello?name=ada -> {"message": "hello, ada"} (name defaults to "world")."""
    name = parse_qs(query).get("name", ["world"])[0]
    return {"message": f"hello, {name}"}


def echo(body: bytes) -> dict[str, Any]:
    """POST /echo -> {"length": <bytes>, "body": <the text>}; a body that is not UTF-8 is a 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(HTTPStatus.BAD_REQUEST, "body is not valid UTF-8") from None
    return {"length": len(body), "body": text}


def stream_count(query: str) -> int:
    """GET /stream?n=3 -> 3; n defaults to 3 and must be an integer from 1 to MAX_LINES."""
    raw = parse_qs(query, keep_blank_values=True).get("n", ["3"])[0]  # "?n=" is not "no n"
    digits = raw.lstrip("0")  # int() refuses over 4300 digits: measure before converting
    short = raw.isascii() and raw.isdigit() and len(digits) <= len(str(MAX_LINES))
    if not (short and 1 <= int(digits or "0") <= MAX_LINES):
        raise HttpError(HTTPStatus.BAD_REQUEST, f"n must be an integer from 1 to {MAX_LINES}")
    return int(digits)


def line(i: int) -> bytes:
    """The i-th line of a streamed response."""
    return f"chunk {i}\n".encode()


def content_length(raw: str | None, limit: int) -> int | None:
    """Parse a Content-Length header value.

    Returns None when the header is absent or empty (PEP 3333: CONTENT_LENGTH "may be empty or
    absent"). Raises HttpError 400 "invalid Content-Length" unless the value is ASCII digits only
    (RFC 9110: ``1*DIGIT`` — so no sign, no spaces, no underscores), and 413 "body too large" with
    ``limit=limit`` when it announces more than ``limit`` bytes.
    """
    # kata: begin return None for ""/None; 400 unless ASCII digits only; 413 (limit=limit) if > limit
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise HttpError(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
    digits = raw.lstrip("0") or "0"  # int() refuses over 4300 digits: compare lengths first
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large", limit=limit)
    return int(digits)
    # kata: end
