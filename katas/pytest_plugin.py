"""The pytest plugin every kata shares: service fixtures, per-test isolation, and a report.

Fixtures: ``postgres_url`` (a fresh database per test), ``redis_url`` (a flushed database index
per test), ``amqp_url`` with ``unique_name`` (RabbitMQ; isolate by naming queues uniquely), and
the session-wide ``<service>_service`` endpoints behind them. A service nothing can provide skips
its tests with a reason, or fails them under ``--require-services`` (grading and CI).
"""

from __future__ import annotations

import itertools
import os
import uuid
import warnings
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from katas.services import Endpoint, ServiceUnavailable, provide


class ServiceBroker:
    """Provides each service once per test session and stops what it started at the end."""

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.unavailable: dict[str, str] = {}

    def get(self, name: str) -> Endpoint:
        if name in self.unavailable:
            raise ServiceUnavailable(self.unavailable[name])
        if name not in self.endpoints:
            try:
                self.endpoints[name] = provide(name)
            except ServiceUnavailable as exc:
                self.unavailable[name] = str(exc)
                raise
        return self.endpoints[name]

    def close(self) -> None:
        """Stop everything started, in reverse order; one failure does not leak the rest."""
        for endpoint in reversed(list(self.endpoints.values())):
            if endpoint.stop is not None:
                try:
                    endpoint.stop()
                except Exception as exc:
                    warnings.warn(f"stopping {endpoint.provider} failed: {exc}", stacklevel=1)
        self.endpoints.clear()


broker_key = pytest.StashKey[ServiceBroker]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("katas").addoption(
        "--require-services",
        action="store_true",
        default=os.environ.get("KATAS_REQUIRE_SERVICES", "") not in ("", "0"),
        help="fail, rather than skip, tests whose service cannot be provided (grading, CI); "
        "also on when KATAS_REQUIRE_SERVICES=1",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[broker_key] = ServiceBroker()


def pytest_unconfigure(config: pytest.Config) -> None:
    if broker_key in config.stash:
        config.stash[broker_key].close()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    broker = config.stash[broker_key]
    if not broker.endpoints and not broker.unavailable:
        return
    terminalreporter.section("katas services")
    for name, endpoint in broker.endpoints.items():
        terminalreporter.write_line(f"{name}: {endpoint.provider} ({endpoint.safe_url})")
    for reason in broker.unavailable.values():
        terminalreporter.write_line(reason)


def _endpoint(request: pytest.FixtureRequest, name: str) -> Endpoint:
    try:
        return request.config.stash[broker_key].get(name)
    except ServiceUnavailable as exc:
        if request.config.getoption("require_services"):
            pytest.fail(f"{exc} [--require-services]", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres_service(request: pytest.FixtureRequest) -> Endpoint:
    return _endpoint(request, "postgres")


@pytest.fixture(scope="session")
def redis_service(request: pytest.FixtureRequest) -> Endpoint:
    return _endpoint(request, "redis")


@pytest.fixture(scope="session")
def rabbitmq_service(request: pytest.FixtureRequest) -> Endpoint:
    return _endpoint(request, "rabbitmq")


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same PostgreSQL server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@pytest.fixture
def postgres_url(postgres_service: Endpoint) -> Iterator[str]:
    """A database of this test's own, dropped afterwards: tests never see each other's rows."""
    import psycopg

    name = f"katas_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_service.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(postgres_service.url, name)
    finally:
        with psycopg.connect(postgres_service.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_redis_db_index = itertools.cycle(range(1, 16))  # db 0 stays free for whatever else runs there


def with_redis_db(url: str, index: int) -> str:
    """``url`` selecting database ``index`` (redis://host/N, or unix://path?db=N)."""
    if url.startswith("unix://"):  # urlunsplit would drop the empty host of unix:///path
        return f"{url.partition('?')[0]}?db={index}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{index}"))


@pytest.fixture
def redis_url(redis_service: Endpoint) -> Iterator[str]:
    """A Redis database index of this test's own, flushed before and after."""
    import redis

    url = with_redis_db(redis_service.url, next(_redis_db_index))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        yield url
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def amqp_url(rabbitmq_service: Endpoint) -> str:
    """The broker URL; isolate a test by naming its queues and exchanges with ``unique_name``."""
    return rabbitmq_service.url


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses: for queues, exchanges, key prefixes and topics."""
    return f"katas.{request.node.name[:40]}.{uuid.uuid4().hex[:8]}"
