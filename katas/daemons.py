"""Private server processes for a test: a program found or explained, started, awaited, stopped.

Stage-4 katas run real programs (nginx, pgbouncer, etcd, varnish, a Celery worker, an app under
gunicorn) on ephemeral ports. :func:`daemon` starts one in its own session with its output in a
log file, waits until it answers, and on exit stops the whole process group (SIGTERM, then
SIGKILL) and removes what it wrote, so a test leaves no process or temporary folder behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from katas.services import ServiceUnavailable

# Debian keeps daemons in sbin folders, which a non-root PATH often lacks.
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
LOG_TAIL_CHARS = 3000
# Programs a kata may list under 'services' in kata.toml, with the Debian package that has each;
# the ``program`` fixture finds one or skips (fails where required) naming that package.
PROGRAMS = {
    "nginx": "nginx",
    "pgbouncer": "pgbouncer",
    "etcd": "etcd-server",
    "varnishd": "varnish",
    "haproxy": "haproxy",
    "docker": "docker.io",
    "prometheus": "prometheus",
    "promtool": "prometheus",
}


def program_path(name: str) -> str | None:
    """Where program ``name`` is: on PATH, else in an sbin folder; None if not installed."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))


def find_program(name: str, package: str | None = None) -> str:
    """The path of program ``name``, or ServiceUnavailable saying how to install ``package``
    (by default the Debian package PROGRAMS names, else ``name`` itself)."""
    package = package or PROGRAMS.get(name, name)
    found = program_path(name)
    if found is None:
        raise ServiceUnavailable(
            f"{name}: program not found on PATH or in {', '.join(_SBIN)}; install it "
            f"(Debian/Ubuntu: sudo apt-get install {package}; macOS: brew install {package})"
        )
    return found


def wait_until(
    condition: Callable[[], bool],
    what: str,
    process: Daemon | None = None,
    timeout: float = 60.0,
) -> None:
    """Poll ``condition`` until it holds, or raise AssertionError naming ``what``.

    With ``process``, its exit ends the wait at once, and its output's tail is in the message.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.process.poll() is not None:
            raise AssertionError(
                f"{process.name} exited while waiting for {what}:\n{process.output()[-LOG_TAIL_CHARS:]}"
            )
        if time.monotonic() > deadline:
            tail = process.output()[-LOG_TAIL_CHARS:] if process else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")
        time.sleep(0.05)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@dataclass
class Daemon:
    """A started server process; its process group is the unit that is signalled and stopped."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    workdir: Path  # a private folder for config files, sockets and caches; removed on exit

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """Everything the process has written to stdout and stderr so far."""
        return self.log.read_text(errors="replace")

    def send(self, sig: int) -> None:
        """Send ``sig`` to the main process only (e.g. SIGHUP for a reload)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the whole process group at once: a crash, not a shutdown."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM the process group, SIGKILL what is left after ``grace`` s; the exit status."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Children that outlived their parent still hold the group id: leave none behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return int(self.process.returncode)


@contextlib.contextmanager
def daemon(
    argv: Sequence[str] | Callable[[Path], Sequence[str]],
    *,
    name: str,
    ready: int | Callable[[], bool] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 30.0,
    grace: float = 10.0,
) -> Iterator[Daemon]:
    """Run a server until the block ends; a start failure raises with the end of its log.

    ``argv`` may be a function of the private work folder (to put config files there first).
    ``ready`` is a TCP port to wait for, or a check that returns True once the server answers;
    None waits for nothing. ``env`` is added to this process's environment.
    """
    safe_name = re.sub(r"[^\w.-]", "-", name)  # a name may be a path, e.g. /usr/sbin/nginx
    workdir = Path(tempfile.mkdtemp(prefix=f"katas-{safe_name}-"))
    try:
        command = [str(a) for a in (argv(workdir) if callable(argv) else argv)]
        log = workdir / "output.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=cwd or workdir,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = Daemon(name, process, log, workdir)
        try:
            _await_ready(running, ready, timeout)
            yield running
        finally:
            running.stop(grace)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _await_ready(running: Daemon, ready: int | Callable[[], bool] | None, timeout: float) -> None:
    if ready is None:
        return
    port = ready if isinstance(ready, int) else None
    check = ready if callable(ready) else lambda: port_open(port or 0)
    deadline = time.monotonic() + timeout
    while not check():
        if running.process.poll() is not None:
            problem = f"exited with status {running.process.returncode} before it answered"
        elif time.monotonic() > deadline:
            problem = f"did not answer within {timeout:.0f} s"
        else:
            time.sleep(0.05)
            continue
        tail = running.output()[-LOG_TAIL_CHARS:]
        raise RuntimeError(f"{running.name} {problem}; its output:\n{tail}")
