"""Task 3: the test job: a Python matrix, PostgreSQL as a service container, a cache keyed on the
lock file, and its test step run here against a real PostgreSQL."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from .conftest import (
    KATA,
    UNTRUSTED,
    Mapping,
    assert_pinned,
    env_of,
    job,
    permissions,
    run_script,
    steps,
    uses,
    working_directory,
)


def postgres() -> Mapping:
    services = job("test").get("services") or {}
    found = [s for s in services.values() if str(s.get("image", "")).startswith("postgres:")]
    assert len(found) == 1, "one service container from a postgres:<version> image"
    service: Mapping = found[0]
    return service


def pytest_step() -> Mapping:
    found = [s for s in steps(job("test")) if "pytest" in str(s.get("run", ""))]
    assert len(found) == 1, "one step runs pytest"
    return found[0]


@pytest.mark.task(3)
def test_the_matrix_runs_every_supported_python_quoted_as_strings() -> None:
    matrix = (job("test").get("strategy") or {}).get("matrix") or {}
    assert len(matrix) == 1, "one matrix dimension: the Python version"
    ((key, versions),) = matrix.items()
    # Unquoted, 3.10 is the float 3.1: the job would install Python 3.1.
    assert all(isinstance(v, str) for v in versions), f"quote the versions: {versions}"
    assert {"3.11", "3.12"} <= set(versions) and len(versions) >= 3, "3.11 up, at least three"
    setup = uses(job("test"), "actions/setup-python")
    wanted = (setup.get("with") or {}).get("python-version", "")
    assert re.fullmatch(rf"\$\{{\{{\s*matrix\.{re.escape(key)}\s*\}}\}}", str(wanted)), (
        "setup-python installs the matrix's version"
    )


@pytest.mark.task(3)
def test_postgres_is_a_service_container_with_a_health_check_and_a_port() -> None:
    service = postgres()
    assert "5432:5432" in [str(p) for p in service.get("ports") or []], "publish 5432 on the runner"
    options = str(service.get("options", ""))
    # Without it the steps start while PostgreSQL is still initialising: flaky connection errors.
    assert re.search(r"--health-cmd[ =]+[\"']?pg_isready", options), "a pg_isready health check"
    assert re.search(r"--health-retries[ =]+\d+", options), "and how often to try"
    assert (service.get("env") or {}).get("POSTGRES_PASSWORD"), "the image refuses to start without"


@pytest.mark.task(3)
def test_the_database_url_points_at_that_container() -> None:
    service, step = postgres(), pytest_step()
    url = urlsplit(env_of(job("test"), step).get("DATABASE_URL", ""))
    env = service.get("env") or {}
    user = env.get("POSTGRES_USER", "postgres")
    assert url.scheme in ("postgresql", "postgres"), "DATABASE_URL: postgresql://..."
    # The job runs on the runner, not in a container: the service is on localhost, not 'postgres'.
    assert (url.hostname, url.port) in (("localhost", 5432), ("127.0.0.1", 5432))
    assert (url.username, url.password) == (user, env.get("POSTGRES_PASSWORD"))
    assert url.path.lstrip("/") == env.get("POSTGRES_DB", user), "the database the image creates"


@pytest.mark.task(3)
def test_pip_downloads_are_cached_keyed_on_the_lock_file() -> None:
    test = job("test")
    setup = uses(test, "actions/setup-python").get("with") or {}
    caches = [s for s in steps(test) if str(s.get("uses", "")).startswith("actions/cache@")]
    if caches:
        key = str((caches[0].get("with") or {}).get("key", ""))
        assert re.search(r"hashFiles\(.*requirements\.txt", key), "key the cache on the lock file"
    else:
        assert setup.get("cache") == "pip", "setup-python's cache: pip (or actions/cache)"
        # Its default key is every requirements*.txt from the repository's root: name ours.
        assert "service/requirements.txt" in str(setup.get("cache-dependency-path", ""))


@pytest.mark.task(3)
def test_the_test_job_is_pinned_and_asks_for_no_extra_permission() -> None:
    test = job("test")
    assert_pinned(test)
    assert permissions(test) in (None, {"contents": "read"})
    assert not any(UNTRUSTED.search(str(s.get("run", ""))) for s in steps(test))


@pytest.mark.task(3)
def test_the_test_step_passes_here_against_a_real_postgres(postgres_url: str) -> None:
    test, step = job("test"), pytest_step()
    assert any("requirements.txt" in str(s.get("run", "")) for s in steps(test)), "install first"
    where = working_directory(test, step)
    assert where == KATA / "service", "the tests run in the service's folder"
    # The same step, here: this machine's PostgreSQL in place of the service container.
    done = run_script(str(step["run"]), where, {"DATABASE_URL": postgres_url})
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b3 passed\b", done.stdout), done.stdout
