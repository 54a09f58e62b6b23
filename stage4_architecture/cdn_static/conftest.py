"""Fixtures: the collected files, the origin under gunicorn, and the Varnish edge in front of it.

The origin and the edge are shared by the whole run (starting Varnish compiles its VCL, which
takes a while); each test reaches the edge through an ``Edge`` that adds a query string of its
own to every URL, so its cache keys are new and no test sees another's cache. The origin
ignores query strings. Tests that kill the origin or deploy start a stack of their own.
``fetch`` speaks HTTP with the standard library, so bodies arrive exactly as sent (still
compressed) and paths go out exactly as written (``..`` included).
"""

from __future__ import annotations

import http.client
import importlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import stack
from .stack import Server

ASSETS = stack.KATA / "assets"
GUARD_S = 30.0  # bounds a wrong solution's failure; a right one never waits this long
HASHED = re.compile(r"^(?P<stem>.+)\.[0-9a-f]{12}(?P<ext>\.\w+)$")


@dataclass
class Built:
    root: Path
    manifest: dict[str, str]

    def url(self, name: str) -> str:
        """The URL of ``name``'s hashed file."""
        return "/static/" + self.manifest[name]


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    @property
    def cache(self) -> str:
        return self.header("X-Cache")


def fetch(
    server: Server,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    source: str = "127.0.0.1",
) -> Reply:
    connection = http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=GUARD_S, source_address=(source, 0)
    )
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass
class Edge:
    server: Server
    tag: str = ""  # a query string that gives the test cache keys of its own

    def url(self, path: str) -> str:
        if not self.tag:
            return path
        return f"{path}{'&' if '?' in path else '?'}{self.tag}"

    def fetch(
        self,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        method: str = "GET",
        source: str = "127.0.0.1",
    ) -> Reply:
        return fetch(self.server, self.url(path), headers, method=method, source=source)


def unbrotli(data: bytes) -> bytes:
    """Brotli-decompress ``data`` (the brotli package ships no type information)."""
    plain: bytes = importlib.import_module("brotli").decompress(data)
    return plain


def directives(cache_control: str) -> dict[str, str | None]:
    """``public, max-age=60`` as ``{"public": None, "max-age": "60"}``."""
    parsed: dict[str, str | None] = {}
    for part in filter(None, (p.strip() for p in cache_control.split(","))):
        name, _, value = part.partition("=")
        parsed[name.strip().lower()] = value.strip() or None
    return parsed


def until(check: Callable[[], Reply | None], what: str) -> Reply:
    """Poll ``check`` until it returns a reply, for at most GUARD_S seconds."""
    deadline = time.monotonic() + GUARD_S
    while (reply := check()) is None:
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)
    return reply


def build(root: Path, assets: Path = ASSETS) -> Built:
    return Built(root, stack.collectstatic(root, assets))


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The kata's assets, collected once for the run."""
    return build(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="session")
def origin(built: Built) -> Iterator[Server]:
    with stack.origin(built.root, ASSETS) as server:
        yield server


@pytest.fixture
def varnishd(program: Callable[[str], str]) -> str:
    return program("varnishd")


@dataclass
class Shared:
    """What the run starts once, on first use, and stops at its end."""

    stack: ExitStack
    edge: Server | None = None


@pytest.fixture(scope="session")
def shared() -> Iterator[Shared]:
    with ExitStack() as stop_all:
        yield Shared(stop_all)


@pytest.fixture
def edge(varnishd: str, origin: Server, shared: Shared) -> Edge:
    """The run's edge in front of the run's origin, with cache keys of this test's own."""
    if shared.edge is None:
        shared.edge = shared.stack.enter_context(stack.edge(varnishd, origin.port))
    return Edge(shared.edge, f"t={uuid.uuid4().hex}")
