"""A request body the server cannot decode is the client's 400, not a 500 from ``get_json()``.

A malformed chunked body (a chunk size that is not hex, a missing CRLF, a truncated chunk) fails
inside the server's input stream when the app reads it, and ``request.get_json()`` lets that
error out: a 500. Both Flask katas read every body first, in a ``before_request`` hook.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest


def body_error() -> str | None:
    """Why the request body cannot be read, or None once it is read (and cached for get_json)."""
    try:
        request.get_data(cache=True)
    # Servers raise their own types: werkzeug an OSError, gunicorn its ParseException subclasses.
    except Exception as exc:
        return f"the request body could not be read: {exc}"
    return None


def read_body() -> None:
    """The hook for a Flask app: a body that cannot be read is werkzeug's 400 with the reason."""
    if (reason := body_error()) is not None:
        raise BadRequest(reason)
