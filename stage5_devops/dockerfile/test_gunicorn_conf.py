"""Task 2: gunicorn_conf.py as gunicorn reads it, with the CMD's own arguments.

``gunicorn --print-config`` resolves every setting without starting a server; the environment is
only what each test sets, as in a container where the image's ENV and ``docker run -e`` decide.
"""

from __future__ import annotations

import pytest

from .conftest import KATA
from .dockerfile_checks import Dockerfile, gunicorn_settings


def settings(**env: str) -> dict[str, str]:
    found = gunicorn_settings(Dockerfile.read(KATA / "Dockerfile"), **env)
    assert not isinstance(found, str), found
    return found


@pytest.mark.task(2)
def test_defaults_listen_on_every_interface_with_two_workers() -> None:
    found = settings()
    assert (found["bind"], found["workers"]) == ("['0.0.0.0:8000']", "2")


@pytest.mark.task(2)
def test_port_and_web_concurrency_come_from_the_environment() -> None:
    found = settings(PORT="9001", WEB_CONCURRENCY="3")
    assert (found["bind"], found["workers"]) == ("['0.0.0.0:9001']", "3")


@pytest.mark.task(2)
def test_the_container_settings() -> None:
    found = settings()
    assert 3 <= float(found["graceful_timeout"]) <= 8, "drain within docker stop's 10 s"
    assert found["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert (found["accesslog"], found["worker_tmp_dir"]) == ("-", "/dev/shm")
    assert found["control_socket_disable"] == "True"
