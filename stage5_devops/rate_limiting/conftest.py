"""Fixtures: a Redis client on the test's own db, the apps in process on a test clock, and the
apps as real uvicorn processes sharing that Redis.

In-process requests go through ``httpx.ASGITransport`` with a chosen peer address, so a test
can be "203.0.113.7" or one of our proxies without network tricks.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from katas.kit import daemon, free_port, wait_until

from .app import USERS_BY_TOKEN, Settings, create_app
from .keys import KeyPolicy, networks
from .slowapi_app import create_slowapi_app

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = __package__ or "stage5_devops.rate_limiting"
TRUSTED_PROXIES = ("10.0.0.0/8", "2001:db8:aa::/48")
PROXY = "10.0.0.5"  # a trusted peer: our load balancer
CLIENT = "203.0.113.7"  # an untrusted peer: a client on the internet
T0 = 1_700_000_040_000  # a test time in ms, a multiple of every window used here
TIMEOUT = httpx.Timeout(20.0)  # bounds a failure only


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class ManualClock:
    """The app's clock in tests: ``now_ms`` is what every limiter sees; None means Redis TIME."""

    now_ms: int | None = T0

    def __call__(self) -> int | None:
        return self.now_ms


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(redis_url: str, unique_name: str, clock: ManualClock) -> Settings:
    return Settings(
        redis_url, unique_name, KeyPolicy(USERS_BY_TOKEN, networks(TRUSTED_PROXIES)), clock
    )


StartServers = Callable[[str, int], list[str]]
Connect = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


def _connector(app: FastAPI) -> Connect:
    @contextlib.asynccontextmanager
    async def connect(peer: str = CLIENT) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client

    return connect


@pytest.fixture
async def connect(settings: Settings) -> AsyncIterator[Connect]:
    """``async with connect(peer) as client``: the hand-written app, as seen from ``peer``."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield _connector(app)


@pytest.fixture
def connect_slowapi(settings: Settings) -> Connect:
    return _connector(create_slowapi_app(settings))


def _uvicorn(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"{PACKAGE}.app:app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def start_servers(redis_url: str, unique_name: str) -> Iterator[StartServers]:
    """``start_servers(kind, count)``: that many uvicorn processes of the ``kind`` app
    ("handmade" or "slowapi") on one Redis; their base URLs. Started together, awaited each."""
    with contextlib.ExitStack() as stack:

        def start(kind: str, count: int) -> list[str]:
            env = {
                "RATE_LIMIT_APP": kind,
                "RATE_LIMIT_REDIS_URL": redis_url,
                "RATE_LIMIT_PREFIX": unique_name,
                "RATE_LIMIT_TRUSTED_PROXIES": ",".join(TRUSTED_PROXIES),
                "PYTHONPATH": str(ROOT),
            }
            ports = [free_port() for _ in range(count)]
            servers = [
                stack.enter_context(
                    daemon(_uvicorn(port), name=f"{kind}-{port}", env=env, cwd=ROOT)
                )
                for port in ports
            ]
            for port, server in zip(ports, servers, strict=True):
                wait_until(functools.partial(_answers, port), f"uvicorn on {port}", server)
            return [f"http://127.0.0.1:{port}" for port in ports]

        yield start
