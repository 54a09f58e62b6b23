"""The web layer: one small FastAPI app that serves either variant, ``vulnerable`` or ``safe``.

Given code. The routes only move data between HTTP and the variant's functions, so the two
apps differ in nothing but those functions. A ValueError (a rejected sort column, table or URL)
is the client's mistake: 400 with the reason, never a 500.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Protocol

import psycopg
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from .store import Conn, add_comment, comments


class Defences(Protocol):
    """What both ``vulnerable`` and ``safe`` provide (a module satisfies a Protocol)."""

    def login(self, conn: Conn, username: str, password: str) -> int | None: ...
    def search_products(self, conn: Conn, term: str) -> list[tuple[str, Decimal]]: ...
    def sorted_products(self, conn: Conn, column: str, direction: str) -> list[str]: ...
    def table_rows(self, conn: Conn, table: str) -> list[tuple[int, str]]: ...
    def render_search(self, term: str, products: list[tuple[str, Decimal]], nonce: str) -> str: ...
    def render_profile(self, name: str, website: str, nonce: str) -> str: ...
    def render_comments(self, bodies: list[str], nonce: str) -> str: ...
    def security_headers(self, nonce: str) -> dict[str, str]: ...
    def session_cookie(self, token: str) -> str: ...


def create_app(defences: Defences, database_url: str) -> FastAPI:
    app = FastAPI()

    @contextmanager
    def connection() -> Iterator[Conn]:
        with psycopg.connect(database_url, autocommit=True) as conn:
            yield conn

    def page(render: str, nonce: str) -> HTMLResponse:
        return HTMLResponse(render, headers=defences.security_headers(nonce))

    @app.exception_handler(ValueError)
    async def bad_input(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/products")
    def search(q: str = "") -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        with connection() as conn:
            found = defences.search_products(conn, q)
        return page(defences.render_search(q, found, nonce), nonce)

    @app.get("/products/sorted")
    def sort(by: str = "name", dir: str = "asc") -> list[str]:
        with connection() as conn:
            return defences.sorted_products(conn, by, dir)

    @app.get("/tables/{table}")
    def rows(table: str) -> list[tuple[int, str]]:
        with connection() as conn:
            return defences.table_rows(conn, table)

    @app.post("/login")
    def login(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> JSONResponse:
        with connection() as conn:
            user_id = defences.login(conn, username, password)
        if user_id is None:
            return JSONResponse({"detail": "wrong username or password"}, status_code=401)
        cookie = defences.session_cookie(secrets.token_urlsafe(32))
        return JSONResponse({"user_id": user_id}, headers={"Set-Cookie": cookie})

    @app.get("/profile")
    def profile(name: str, website: str) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        return page(defences.render_profile(name, website, nonce), nonce)

    @app.post("/comments")
    def comment(body: Annotated[str, Form()]) -> RedirectResponse:
        with connection() as conn:
            add_comment(conn, body)
        return RedirectResponse("/comments", status_code=303)

    @app.get("/comments")
    def show_comments() -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        with connection() as conn:
            bodies = comments(conn)
        return page(defences.render_comments(bodies, nonce), nonce)

    return app
