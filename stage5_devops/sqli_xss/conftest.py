"""Fixtures and judges of the SQL injection / XSS kata.

- ``shop_url``: a fresh database with the shop's tables and seed rows, and a *sleep recorder*:
  a ``probe.pg_sleep`` function placed before ``pg_catalog`` on the database's search_path, so
  a payload's unqualified ``pg_sleep(5)`` logs the call instead of sleeping. A time-based blind
  injection is then proven by the call it made, not by a stopwatch.
- ``attack(variant, conn, payload)``: runs one SQL payload at its entry point and says whether
  it worked, each class by its own evidence (see the README's table).
- ``parse_page(html, nonce)``: the rendered page through a real HTML parser (html.parser), with
  every place a browser would run script: script elements without the page's nonce,
  event-handler attributes, javascript:/vbscript:/data:text/html URLs, srcdoc, meta refresh.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Protocol

import psycopg
import pytest
from django.db import DatabaseError as DjangoDatabaseError
from fastapi.testclient import TestClient
from psycopg import sql

from . import safe, vulnerable
from .app import Defences, create_app
from .payloads import SqlPayload
from .store import USERS, Conn, create_schema, password_hash

SLEEP_RECORDER = """
CREATE SCHEMA probe;
CREATE TABLE probe.sleeps (seconds double precision NOT NULL);
CREATE FUNCTION probe.pg_sleep(seconds double precision) RETURNS void
    LANGUAGE sql AS 'INSERT INTO probe.sleeps VALUES (seconds)';
"""

WRONG_PASSWORD = "not the password"
SECRET_PRODUCT = "Prototype X"
HASHES = {password_hash(salt, password) for _, _, salt, password, _ in USERS}
ADMIN_HASH = password_hash(USERS[0][2], USERS[0][3])


class Variant(Defences, Protocol):
    """A variant module: the web functions plus the Django ones."""

    def django_users_named(self, username: str) -> list[str]: ...
    def django_users_starting(self, prefix: str) -> list[str]: ...


VARIANTS: dict[str, Variant] = {"vulnerable": vulnerable, "safe": safe}


@pytest.fixture
def shop_url(postgres_url: str) -> str:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        create_schema(conn)
        conn.execute(SLEEP_RECORDER)
        database = conn.info.dbname
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET search_path = public, probe, pg_catalog").format(
                sql.Identifier(database)
            )
        )
    return postgres_url


@pytest.fixture
def conn(shop_url: str) -> Iterator[Conn]:
    with psycopg.connect(shop_url, autocommit=True) as conn:
        yield conn


def client_for(variant: Defences, url: str) -> TestClient:
    # A 500 must come back as a response, to be asserted on, not raised in the test.
    return TestClient(create_app(variant, url), raise_server_exceptions=False)


# --- SQL injection: run a payload, judge the outcome -------------------------------------------


def shop(db: Conn | None) -> Conn:
    assert db is not None, "this entry point needs the shop's connection"
    return db


@dataclass(frozen=True)
class Outcome:
    result: object  # what the function returned, None when it raised
    error: Exception | None


def run(variant: Variant, db: Conn | None, entry: str, text: str) -> Outcome:
    """Call the entry point's function with ``text`` where the attacker controls input.

    ``db`` is the shop's connection; the Django entries use Django's own (pass None).
    """
    calls: dict[str, Callable[[], object]] = {
        "search": lambda: variant.search_products(shop(db), text),
        "login": lambda: variant.login(shop(db), text, WRONG_PASSWORD),
        "sort-column": lambda: variant.sorted_products(shop(db), text, "asc"),
        "sort-direction": lambda: variant.sorted_products(shop(db), "name", text),
        "table": lambda: variant.table_rows(shop(db), text),
        "django-raw": lambda: variant.django_users_named(text),
        "django-extra": lambda: variant.django_users_starting(text),
    }
    try:
        return Outcome(calls[entry](), None)
    except (psycopg.Error, DjangoDatabaseError, ValueError) as exc:  # Django wraps psycopg's
        return Outcome(None, exc)


def leaked(entry: str, result: object) -> bool:
    """Did a classic or UNION payload get what it was after?"""
    if result is None:
        return False
    if entry == "login":  # logged in with a wrong password
        return True
    if entry.startswith("django"):  # the superuser, whose name nobody asked for
        return "root" in {str(name) for name in result}  # type: ignore[attr-defined]
    shown = {str(row[0 if entry == "search" else 1]) for row in result}  # type: ignore[attr-defined]
    return SECRET_PRODUCT in shown or any(h in s for s in shown for h in HASHES)


def sleeps(conn: Conn) -> list[float]:
    return [float(s) for (s,) in conn.execute("SELECT seconds FROM probe.sleeps")]


def mallory_is_admin(conn: Conn) -> bool:
    row = conn.execute("SELECT is_admin FROM users WHERE username = 'mallory'").fetchone()
    return bool(row and row[0])


def observed(outcome: Outcome) -> object:
    """What an attacker sees of one response: the data, or that it failed and how."""
    return outcome.result if outcome.error is None else type(outcome.error).__name__


def attack(variant: Variant, db: Conn | None, payload: SqlPayload) -> bool:
    """Whether ``payload`` worked against ``variant``, judged by its class's own evidence."""
    if payload.kind == "boolean-blind":
        yes = run(variant, db, payload.entry, payload.asking("1=1"))
        no = run(variant, db, payload.entry, payload.asking("1=2"))
        return observed(yes) != observed(no)
    outcome = run(variant, db, payload.entry, payload.text)
    if payload.kind == "time-blind":
        return any(seconds > 0 for seconds in sleeps(shop(db)))
    if payload.kind == "stacked":
        return mallory_is_admin(shop(db))
    return leaked(payload.entry, outcome.result)


# --- XSS: where would a browser run script? ----------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


def runs_script(url: str) -> bool:
    """A URL a browser would execute: it drops tabs and newlines, and leading controls/spaces."""
    normalised = re.sub(r"[\t\n\r]", "", url).lstrip("".join(map(chr, range(33)))).lower()
    return normalised.startswith(SCRIPT_SCHEMES)


@dataclass
class Page(HTMLParser):
    """One rendered page, parsed: its executable spots, text and attributes."""

    nonce: str
    executable: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str, str | None]] = field(default_factory=list)
    scripts: list[tuple[str | None, str]] = field(default_factory=list)  # (nonce, code)
    _script: dict[str, str | None] | None = None

    def __post_init__(self) -> None:
        HTMLParser.__init__(self)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            self.attributes.append((tag, name, value))
            script_url = name in URL_ATTRIBUTES and value is not None and runs_script(value)
            if name.startswith("on") or script_url:
                self.executable.append(f"<{tag} {name}={value!r}>")
            elif name == "srcdoc":
                self.executable.append(f"<{tag} srcdoc={value!r}>")
        found = dict(attrs)
        if tag == "meta" and (found.get("http-equiv") or "").lower() == "refresh":
            target = (found.get("content") or "").partition("=")[2]
            if runs_script(target):
                self.executable.append(f"<meta refresh to {target!r}>")
        if tag == "script":
            self._script = found

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            nonce = self._script.get("nonce")
            self.scripts.append((nonce, data))
            if nonce != self.nonce or "src" in self._script:
                self.executable.append(f"<script>{data}</script>")
            self._script = None
        else:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:  # an empty script: <script src=...>
            self.handle_data("")


def parse_page(html: str, nonce: str) -> Page:
    page = Page(nonce)
    page.feed(html)
    page.close()
    return page


NONCE = "bm9uY2Utb2YtdGhlLXRlc3Q"
