"""What the ASGI and the WSGI middleware share: token check, request ids, the access record.

Both middlewares are thin protocol adapters around these three functions, so the rules
(who is authenticated, which request ids are trusted, what one log record holds) live once.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

ACCESS_LOG = logging.getLogger("katas.access")
REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class Rejection:
    """Why a request is not authenticated: the JSON error and the WWW-Authenticate challenge."""

    error: str
    challenge: str


def authenticate(authorization: str | None, tokens: Mapping[str, str]) -> str | Rejection:
    """Return the user that ``Authorization: Bearer <token>`` names, or why it is rejected."""
    # kata: begin parse "Bearer <token>" (scheme case-insensitive): no bearer token -> Rejection("missing bearer token", "Bearer"); unknown token -> Rejection("invalid token", 'Bearer error="invalid_token"'); else the user
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Rejection("missing bearer token", "Bearer")
    user = tokens.get(token)
    if user is None:
        return Rejection("invalid token", 'Bearer error="invalid_token"')
    return user
    # kata: end


def resolve_request_id(incoming: str | None) -> str:
    """Keep a client's request id only if it is a safe token; otherwise make a new one."""
    # kata: begin return incoming when SAFE_REQUEST_ID.fullmatch(incoming), else uuid.uuid4().hex
    if incoming is not None and SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
    # kata: end


def log_request(
    *,
    request_id: str,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    error: BaseException | None = None,
) -> None:
    """Write the one access record of a request on ACCESS_LOG, its fields as ``extra``."""
    # kata: begin log once on ACCESS_LOG: ERROR (with exc_info=error) for status >= 500 or an error, else INFO; extra = request_id, method, path, status, duration_ms
    level = logging.ERROR if status >= 500 or error is not None else logging.INFO
    ACCESS_LOG.log(
        level,
        "%s %s -> %d in %.1f ms",
        method,
        path,
        status,
        duration_ms,
        exc_info=error,
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
        },
    )
    # kata: end
