"""Private servers for tests: started, awaited, stopped whole, leaving nothing behind."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from pathlib import Path

import pytest

from katas.daemons import (
    PROGRAMS,
    daemon,
    find_program,
    free_port,
    port_open,
    program_path,
    wait_until,
)
from katas.services import ServiceUnavailable

# A server that also starts a child holding the same process group, as a master and its workers do.
SERVER = """
import http.server, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (a zombie waiting to be reaped does not)."""
    deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
    while time.monotonic() < deadline:
        running = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rpartition(")")[2].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    running.append(stat)
        if not running:
            return False
        time.sleep(0.05)
    return True


def test_a_daemon_answers_then_leaves_no_process_or_folder() -> None:
    port = free_port()
    with daemon([sys.executable, "-c", SERVER, str(port)], name="http", ready=port) as server:
        assert port_open(port)
        assert server.workdir.is_dir()
        pgid = server.pid
    assert not port_open(port)
    assert not group_alive(pgid), "a child of the server outlived it"
    assert not server.workdir.exists()
    assert server.process.returncode == -signal.SIGTERM


def test_argv_may_be_written_from_the_private_folder() -> None:
    def argv(workdir: Path) -> list[str]:
        (workdir / "config.txt").write_text("from the config\n")
        return [sys.executable, "-c", "print(open('config.txt').read(), flush=True)"]

    with daemon(argv, name="reader") as job:
        job.process.wait(10)
        assert job.output() == "from the config\n\n"


def test_a_server_that_dies_at_start_raises_with_its_output() -> None:
    argv = [sys.executable, "-c", "import sys; print('bad config line 3'); sys.exit(4)"]
    expected = r"(?s)broken exited with status 4 .*bad config line 3"
    with (
        pytest.raises(RuntimeError, match=expected),
        daemon(argv, name="broken", ready=free_port()),
    ):
        pass


def test_a_server_that_never_answers_times_out() -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    never = daemon(argv, name="silent", ready=lambda: False, timeout=1)
    with pytest.raises(RuntimeError, match="silent did not answer within 1 s"), never:
        pass


def test_kill_is_a_crash_of_the_whole_group() -> None:
    port = free_port()
    with daemon([sys.executable, "-c", SERVER, str(port)], name="http", ready=port) as server:
        server.kill()
        assert server.process.returncode == -signal.SIGKILL
        assert not group_alive(server.pid)


def test_a_missing_program_names_its_package() -> None:
    with pytest.raises(ServiceUnavailable, match="apt-get install etcd-server"):
        find_program("katas-no-such-etcd", PROGRAMS["etcd"])


def test_a_program_not_installed_has_no_path() -> None:
    assert program_path("katas-no-such-program") is None
    assert program_path("sh") is not None


def test_wait_until_returns_once_the_condition_holds() -> None:
    calls = iter([False, False, True])
    wait_until(lambda: next(calls), "the third poll", timeout=5)


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="timed out after 0 s waiting for the moon"):
        wait_until(lambda: False, "the moon", timeout=0.1)


def test_wait_until_stops_when_the_process_exits_and_shows_its_output() -> None:
    argv = [sys.executable, "-c", "print('config error on line 7', flush=True)"]
    exited = r"(?s)short-lived exited while waiting.*line 7"
    with daemon(argv, name="short-lived") as job, pytest.raises(AssertionError, match=exited):
        wait_until(lambda: False, "it to answer", job, timeout=30)
