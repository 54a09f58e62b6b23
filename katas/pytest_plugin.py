"""The pytest plugin every kata shares: service fixtures, per-test isolation, and a report.

Fixtures: ``postgres_url`` (a fresh database per test), ``django_db`` and
``django_transactional_db`` (Django with every kata's apps, see ``katas.django_project``),
``make_postgres_database`` (as many fresh databases as a test needs, e.g. shards),
``postgis_url`` (a fresh database with PostGIS), ``redis_url`` (a database index leased to one
test, flushed), ``amqp_url`` with ``unique_name`` (RabbitMQ; isolate by naming queues uniquely),
``program`` (a server program a kata starts, e.g. nginx), ``docker`` (the Docker CLI, for
katas that build images), and the session-wide
``<service>_service`` endpoints behind them. A service nothing can provide skips its tests with a
reason, or fails them when required: ``--require-services`` requires every service,
``--require-services=postgres,redis`` those named (grading requires all; a machine without some
servers requires what it has). An endpoint that is a stand-in library rather than a server
(``Endpoint.stand_in``) counts as unavailable where the service is required.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

from katas.catalog import STAGES
from katas.containers import Docker, base_image, docker_problem
from katas.daemons import PROGRAMS, find_program
from katas.services import (
    SPECS,
    Endpoint,
    ServiceUnavailable,
    provide,
    scratch_database,
    sweep_stale_databases,
)


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
            if name == "postgres":
                try:
                    sweep_stale_databases(self.endpoints[name].url)
                except Exception as exc:  # a sweep is housekeeping: it never fails a test
                    warnings.warn(f"sweeping stale katas databases failed: {exc}", stacklevel=1)
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
sigterm_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("katas").addoption(
        "--require-services",
        nargs="?",
        const="all",
        default=os.environ.get("KATAS_REQUIRE_SERVICES", ""),
        metavar="all|NAME,NAME",
        help="fail, rather than skip, tests whose service cannot be provided: all services, or "
        "those named (grading, CI); default from KATAS_REQUIRE_SERVICES (1 or all: every one)",
    )


def required(config: pytest.Config, name: str) -> bool:
    """Whether ``name`` must be served by a real server in this run."""
    value = str(config.getoption("require_services") or "").strip().lower()
    if value in ("", "0", "no", "false"):
        return False
    return value in ("1", "all", "yes", "true") or name in {v.strip() for v in value.split(",")}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[broker_key] = ServiceBroker()
    # A cancelled CI job gets SIGTERM, which would end the run without teardown: as an interrupt,
    # pytest still runs every fixture's teardown, so scratch databases are dropped.
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _interrupt)
        config.stash[sigterm_key] = True
    config.addinivalue_line(
        "markers", "task(n): the README task (from 1) this test proves; grading scores per task"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(sigterm_key, False):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if broker_key in config.stash:
        config.stash[broker_key].close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Mark, in the report's properties, a test that lacked a service (grading reads them)."""
    report = yield
    broker = item.config.stash[broker_key]
    fixtures = getattr(item, "fixturenames", ())
    for name in broker.unavailable:
        if (
            f"{name}_service" in fixtures
            and ("katas_unavailable", name) not in report.user_properties
        ):
            report.user_properties.append(("katas_unavailable", name))
    return report


def _dependency_group(path: Path) -> str | None:
    """'stage3' for a file under stage3_data/: the dependency group its libraries come from."""
    stage = next((part for part in path.parts if part in STAGES), None)
    return stage.split("_")[0] if stage else None


def pytest_exception_interact(
    node: pytest.Item | pytest.Collector,
    call: pytest.CallInfo[Any],
    report: pytest.CollectReport | pytest.TestReport,
) -> None:
    """A kata whose library is not installed says which group to install, in one line."""
    if not (isinstance(report, pytest.CollectReport) and call.excinfo is not None):
        return
    error = call.excinfo.value
    error = error.__cause__ or error  # pytest wraps an import error in a CollectError
    group = _dependency_group(Path(node.path))
    if not isinstance(error, ModuleNotFoundError) or not error.name or group is None:
        return
    if error.name.split(".")[0] in (*STAGES, "katas"):  # the kata's own code: a real mistake
        return
    report.longrepr = (
        f"{node.nodeid}: needs the library '{error.name}', which is in the '{group}' "
        f"dependency group: run 'nox -s {group}', or install it: pip install -e . --group {group}"
    )


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


def unavailable(request: pytest.FixtureRequest, name: str, reason: str) -> NoReturn:
    """Skip the test, or fail it where ``name`` is required, with ``reason``."""
    if isinstance(request.node, pytest.Item):  # session fixtures: see pytest_runtest_makereport
        request.node.user_properties.append(("katas_unavailable", name))
    if required(request.config, name):
        pytest.fail(f"{reason} [--require-services]", pytrace=False)
    pytest.skip(reason)


def _endpoint(request: pytest.FixtureRequest, name: str) -> Endpoint:
    try:
        endpoint = request.config.stash[broker_key].get(name)
    except ServiceUnavailable as exc:
        unavailable(request, name, str(exc))
    if endpoint.stand_in and required(request.config, name):
        request.config.stash[broker_key].unavailable.setdefault(name, f"{name}: only a stand-in")
        pytest.fail(
            f"{name}: only {endpoint.provider} is available, and a real server is required "
            f"[--require-services]",
            pytrace=False,
        )
    return endpoint


def _service_fixture(name: str) -> Callable[[pytest.FixtureRequest], Endpoint]:
    def endpoint(request: pytest.FixtureRequest) -> Endpoint:
        return _endpoint(request, name)

    endpoint.__doc__ = (
        f"The {name} endpoint of this test session (provided once, stopped at the end)."
    )
    return pytest.fixture(scope="session", name=f"{name}_service")(endpoint)


# postgres_service, redis_service, rabbitmq_service, mongodb_service, elasticsearch_service, ...
for _name in SPECS:
    globals()[f"{_name}_service"] = _service_fixture(_name)


@pytest.fixture
def make_postgres_database(postgres_service: Endpoint) -> Iterator[Callable[[], str]]:
    """Create fresh databases on the PostgreSQL server (e.g. one per shard); all dropped after."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(scratch_database(postgres_service.url))


@pytest.fixture
def postgres_url(make_postgres_database: Callable[[], str]) -> str:
    """A database of this test's own, dropped afterwards: tests never see each other's rows."""
    return make_postgres_database()


@pytest.fixture
def postgis_url(
    request: pytest.FixtureRequest, postgres_service: Endpoint, postgres_url: str
) -> str:
    """A fresh database with the PostGIS extension; unavailable where the server lacks PostGIS."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            return postgres_url
        except psycopg.Error as exc:
            missing = f"postgis unavailable: {postgres_service.provider} has no PostGIS"
            reason = exc.diag.message_primary
            major = conn.info.server_version // 10000
    elsewhere = "set KATAS_POSTGRES_URL to a server that has it (the postgis/postgis image)"
    if postgres_service.provider.startswith("environment"):
        fix = f"install it there (apt-get install postgresql-{major}-postgis-3) or {elsewhere}"
    else:  # an embedded or container server cannot be given an extension from here
        fix = elsewhere
    unavailable(request, "postgis", f"{missing} ({reason}); {fix}")


REDIS_DBS = range(1, 16)  # db 0 holds the leases and stays free for whatever else runs there
REDIS_LEASE_SECONDS = 900  # a lease left by a killed run expires on its own
REDIS_LEASE_WAIT = 120.0  # seconds a test waits for a database another run holds
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def with_redis_db(url: str, index: int) -> str:
    """``url`` selecting database ``index`` (redis://host/N, or unix://path?db=N)."""
    if url.startswith("unix://"):  # urlunsplit would drop the empty host of unix:///path
        return f"{url.partition('?')[0]}?db={index}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{index}"))


@contextmanager
def leased_redis_db(server_url: str) -> Iterator[int]:
    """A database index no other test, here or in another run on the same server, is using.

    Each index is leased with SET NX (and an expiry) in db 0, so two runs sharing one Redis
    (a learner's watch and a nox session, two CI jobs) never flush each other's keys.
    """
    import redis

    leases = redis.Redis.from_url(with_redis_db(server_url, 0))
    token = uuid.uuid4().hex
    deadline = time.monotonic() + REDIS_LEASE_WAIT
    try:
        while True:
            for index in REDIS_DBS:
                key = f"katas:lease:{index}"
                if leases.set(key, token, nx=True, ex=REDIS_LEASE_SECONDS):
                    try:
                        yield index
                    finally:
                        leases.eval(_RELEASE, 1, key, token)
                    return
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"redis: all {len(REDIS_DBS)} databases are leased by other runs "
                    f"(keys katas:lease:* in db 0) for over {REDIS_LEASE_WAIT:.0f} s; wait for "
                    "them, or delete stale keys with: redis-cli --scan --pattern 'katas:lease:*'"
                )
            time.sleep(0.1)
    finally:
        leases.close()


@pytest.fixture
def redis_url(redis_service: Endpoint) -> Iterator[str]:
    """A Redis database index of this test's own (leased), flushed before and after."""
    import redis

    with leased_redis_db(redis_service.url) as index:
        url = with_redis_db(redis_service.url, index)
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


@pytest.fixture(scope="session")
def django_test_database(postgres_service: Endpoint) -> Iterator[None]:
    """Django configured with every kata's apps, on a migrated test database of this run's own."""
    from katas.django_project import test_database

    yield from test_database(postgres_service.url)


@pytest.fixture
def django_db(django_test_database: None) -> Iterator[None]:
    """Database access for a Django test; everything it writes is rolled back afterwards."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def django_transactional_db(django_test_database: None) -> Iterator[None]:
    """Real commits (for row locks seen from other connections); the tables are emptied after."""
    from django.core.management import call_command

    yield
    call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="session")
def _docker_session() -> Iterator[dict[str, Any]]:
    """What a run learnt about the engine (asked once), and the tags its tests built."""
    session: dict[str, Any] = {"built": []}
    yield session
    if "docker" in session:
        session["docker"].remove_built()


@pytest.fixture
def docker(
    request: pytest.FixtureRequest, program: Callable[[str], str], _docker_session: dict[str, Any]
) -> Docker:
    """The Docker CLI, with an engine that answers and the base image at hand (see
    ``katas.containers``); else the test skips, or fails where ``docker`` is required."""
    if "docker" not in _docker_session:
        found = Docker(program("docker"), base_image(), _docker_session["built"])
        _docker_session["problem"] = docker_problem(found)
        _docker_session["docker"] = found
    if _docker_session["problem"]:
        unavailable(request, "docker", _docker_session["problem"])
    engine: Docker = _docker_session["docker"]
    return engine


@pytest.fixture
def program(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Find a program a kata starts (``nginx``, ``pgbouncer``, ``etcd``, ...; see PROGRAMS).

    ``program("nginx")`` is its path; where it is not installed the test skips, or fails where
    ``--require-services`` names it, saying which package to install.
    """

    def find(name: str) -> str:
        try:
            return find_program(name, PROGRAMS.get(name, name))
        except ServiceUnavailable as exc:
            unavailable(request, name, str(exc))

    return find


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses: for queues, exchanges, key prefixes and topics."""
    return f"katas.{request.node.name[:40]}.{uuid.uuid4().hex[:8]}"
