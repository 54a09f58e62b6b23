"""FastAPI's 422 for invalid requests, made safe to echo any input the JSON parser accepts.

``json.loads`` reads ``NaN``, ``Infinity``, ``1e400`` and lone surrogates (``"\\ud800"``), but
the default handler's ``JSONResponse`` cannot write them back: it answers such a body with a 500.
Both FastAPI katas install this handler instead.
"""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def json_safe(value: str | float) -> str | float:
    """What JSON can carry of a parsed value: NaN/Infinity as text, lone surrogates escaped."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return value.encode("utf-8", "backslashreplace").decode()


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422 body (``{"detail": [...]}`` with each error's input), never a 500."""
    detail = jsonable_encoder(exc.errors(), custom_encoder={str: json_safe, float: json_safe})
    return JSONResponse({"detail": detail}, status_code=422)


def install(app: FastAPI) -> None:
    """Answer request validation errors with :func:`validation_error`."""
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
