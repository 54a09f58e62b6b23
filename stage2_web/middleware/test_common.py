"""The rules both middlewares share, called directly: tokens, request ids, the access record."""

from __future__ import annotations

import logging
import re

import pytest

from .common import Rejection, authenticate, log_request, resolve_request_id
from .conftest import AccessLog

HEX_ID = re.compile(r"[0-9a-f]{32}")
TOKENS = {"alice-token": "alice", "bob-token": "bob"}
MISSING = Rejection("missing bearer token", "Bearer")
INVALID = Rejection("invalid token", 'Bearer error="invalid_token"')


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        ("Bearer alice-token", "alice"),
        ("bearer bob-token", "bob"),
        ("BEARER alice-token", "alice"),
        (None, MISSING),
        ("", MISSING),
        ("Bearer", MISSING),
        ("Bearer ", MISSING),
        ("Basic alice-token", MISSING),  # another scheme: no bearer token at all
        ("Token alice-token", MISSING),
        ("Bearerish alice-token", MISSING),  # the scheme is a whole word, not a prefix
        ("alice-token", MISSING),
        ("Bearer alice", INVALID),  # a user name is not a token
        ("Bearer alice-toke", INVALID),  # tokens compare whole, not by prefix
        ("Bearer alice-token2", INVALID),
        ("Bearer stolen", INVALID),
    ],
)
def test_authenticate(authorization: str | None, expected: str | Rejection) -> None:
    assert authenticate(authorization, TOKENS) == expected


@pytest.mark.task(2)
@pytest.mark.parametrize("safe", ["a", "A-1", "edge-7f3a-42", "a" * 64, "-" * 64, "0123456789"])
def test_safe_request_id_is_kept(safe: str) -> None:
    assert resolve_request_id(safe) == safe, "[A-Za-z0-9-]{1,64}: both ends of the range fit"


@pytest.mark.task(2)
@pytest.mark.parametrize(
    "unsafe",
    [
        None,
        "",
        "a" * 65,
        "abc\n",
        "\nabc",
        "abc\r\nX: 1",
        "a b",
        "a_b",
        "a.b",
        "caf\u00e9",
        "\u0663",
    ],
)
def test_unsafe_request_id_is_replaced(unsafe: str | None) -> None:
    fresh = resolve_request_id(unsafe)
    assert HEX_ID.fullmatch(fresh), f"{unsafe!r} is not [A-Za-z0-9-]{{1,64}}: a fresh uuid4().hex"
    assert resolve_request_id(unsafe) != fresh, "a fresh id for every request"


@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("status", "level"),
    [(200, "INFO"), (304, "INFO"), (404, "INFO"), (499, "INFO"), (500, "ERROR"), (503, "ERROR")],
)
def test_access_record_level_follows_the_status(
    status: int, level: str, access_log: AccessLog
) -> None:
    log_request(request_id="r-1", method="PUT", path="/x", status=status, duration_ms=1.5)
    assert access_log.fields() == [
        {"request_id": "r-1", "method": "PUT", "path": "/x", "status": status, "duration_ms": 1.5}
    ]
    [record] = access_log.records
    assert (record.levelname, record.exc_info) == (level, None), (
        "ERROR from status 500 on, INFO below it; a traceback only with an error"
    )


@pytest.mark.task(3)
def test_access_record_with_an_error_is_error_with_its_traceback(access_log: AccessLog) -> None:
    error = RuntimeError("mid-stream")
    log_request(request_id="r-2", method="GET", path="/y", status=200, duration_ms=2.0, error=error)
    [record] = access_log.records
    assert record.levelno == logging.ERROR, "an error is logged at ERROR, whatever the status"
    assert record.exc_info is not None and record.exc_info[1] is error
