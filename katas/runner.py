"""The one way the harness runs pytest: check, watch and grade all use :func:`run_pytest`.

pytest runs in a child process started through the trusted bootstrap (``katas.sandbox``), which
reports every test over a signed channel; the result is one typed :class:`Run`. For grading, a
:class:`Confinement` adds the sandbox: the child gets its own session (killed whole when it ends
or overruns), resource limits, and the audit hook and integrity checks of ``katas.sandbox``.
Where a Docker engine answers, it runs in a container of its own (:func:`container_engine`):
uid 65534, no capabilities, its own process table, the host's programs read-only and nothing of
the host's files but what the run needs. Elsewhere, as root, it runs as uid 65534 and, without
services, with no network.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from katas.sandbox import verify

Outcome = Literal["passed", "failed", "error", "skipped"]
SANDBOX_UID = 65534  # nobody: owns nothing the grader reads or writes
# A container's image: no files but mount points; the host's programs come in read-only.
SANDBOX_IMAGE = "katas-sandbox:empty"
SANDBOX_VAR = "KATAS_SANDBOX"  # auto (a container where Docker answers), container, process
HOST_SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/opt")
CHANNEL_CAP = 32 << 20  # bytes of results read at most; a flood past it is evidence
OUTPUT_TAIL = 8192


@dataclass(frozen=True)
class TestResult:
    id: str  # pytest's node id, relative to the run's root
    outcome: Outcome
    message: str = ""  # first line of the failure, error or skip reason
    task: int | None = None  # the test's task(n) marker
    unavailable: str | None = None  # the service it lacked, when that is why it failed or skipped
    detail: str = ""  # the whole failure report (traceback, file and line), capped


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 900.0  # the whole pytest run
    test_seconds: int = 120  # one test (pytest-timeout)
    memory_bytes: int = 8 << 30  # address space of each process
    file_bytes: int = 256 << 20  # any one file written, output included
    processes: int = 256  # for the sandbox user
    disk_bytes: int = 1 << 30  # a container's home and /tmp (each; memory, within memory_bytes)


@dataclass(frozen=True)
class Confinement:
    """How to confine kata code while grading."""

    learner_files: tuple[str, ...]  # absolute paths of the files the learner wrote
    allow: tuple[str, ...] = ()  # the kata's [sandbox] allow-list
    network: bool = True  # False: a network namespace of its own (loopback only)
    container: bool = True  # False: never in a container (the kata drives the Docker engine)
    limits: Limits = field(default_factory=Limits)


@dataclass
class Run:
    returncode: int
    exit_status: int | None = None  # pytest's, from the channel; None: the run never finished
    collected: dict[str, int | None] = field(default_factory=dict)  # test id -> task
    tests: dict[str, TestResult] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)  # signs of tampering
    timed_out: bool = False
    output: str = ""  # the tail of what pytest printed
    confinement: list[str] = field(default_factory=list)  # what the sandbox applied

    @property
    def finished(self) -> bool:
        return self.exit_status is not None and not self.timed_out

    def count(self, outcome: Outcome) -> int:
        return Counter(t.outcome for t in self.tests.values())[outcome]

    @property
    def all_passed(self) -> bool:
        """Every test ran and passed: a skip (a missing service, say) is not done."""
        return (
            self.finished
            and self.exit_status == 0
            and bool(self.tests)
            and all(t.outcome == "passed" for t in self.tests.values())
        )

    @property
    def skip_reasons(self) -> list[str]:
        return [t.message for t in self.tests.values() if t.outcome == "skipped"]

    def why_unfinished(self) -> str:
        if self.timed_out:
            return "the run overran its time limit and was killed"
        if self.returncode < 0:
            return f"the run was killed by signal {signal.Signals(-self.returncode).name}"
        return f"the run ended without reporting its end (exit {self.returncode})"


def _python_reachable_by(uid: int) -> bool:
    """Whether ``uid`` can execute this interpreter (e.g. not under a 0700 home folder)."""
    path = Path(sys.executable).resolve()
    for folder in path.parents:
        mode = folder.stat().st_mode
        if folder.stat().st_uid != uid and not mode & 0o001:
            return False
    return bool(path.stat().st_mode & 0o005)


def drops_privileges() -> bool:
    """Whether confined runs switch to the sandbox user (as root, when it can run Python). Such
    runs go one at a time: the end of one kills every process of that user."""
    return os.geteuid() == 0 and _python_reachable_by(SANDBOX_UID)


class SandboxUnavailable(RuntimeError):
    """KATAS_SANDBOX asks for a container and none can be had; the message says why."""


def _empty_image() -> bytes:
    """A tar with the mount points a container needs and nothing else."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for folder in ("tmp", "proc", "dev", "sys"):
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(entry)
    return data.getvalue()


def container_engine() -> str | None:
    """The docker CLI, when confined runs get a container each: KATAS_SANDBOX is ``container``,
    or ``auto`` (the default) and a Docker engine answers. ``process`` never uses one."""
    return _engine()[0]


def _engine_env() -> dict[str, str]:
    """The environment the docker CLI runs in: the grader's, with the engine it first found (a
    kata's own DOCKER_HOST, for its testcontainers, is for the kata, not for the grader)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return env | _engine()[1]


@functools.cache
def _engine() -> tuple[str | None, dict[str, str]]:
    found = {k: v for k, v in os.environ.items() if k.startswith("DOCKER_")}
    mode = os.environ.get(SANDBOX_VAR, "auto")
    if mode not in ("auto", "container", "process"):
        raise SandboxUnavailable(f"{SANDBOX_VAR}={mode}: use auto, container or process")
    cli = shutil.which("docker")
    if mode == "process":
        return None, found
    try:
        answers = (
            cli is not None
            and subprocess.run(
                [cli, "version"], capture_output=True, timeout=30, check=False
            ).returncode
            == 0
        )
        if answers and cli is not None:
            inspect = [cli, "image", "inspect", SANDBOX_IMAGE]
            if subprocess.run(inspect, capture_output=True, check=False).returncode != 0:
                made = [cli, "import", "-", SANDBOX_IMAGE]
                subprocess.run(made, input=_empty_image(), capture_output=True, check=True)
            return cli, found
    except (OSError, subprocess.SubprocessError):
        pass
    if mode == "container":
        raise SandboxUnavailable(
            f"{SANDBOX_VAR}=container: no Docker engine answers 'docker version'; start dockerd, "
            f"or set {SANDBOX_VAR}=process"
        )
    return None, found


def _container_command(
    cli: str,
    name: str,
    command: list[str],
    root: Path,
    home: Path,
    env_file: Path,
    confine: Confinement,
) -> tuple[list[str], list[str]]:
    """``docker run`` of ``command`` confined, and what that applies (for the report)."""
    limits = confine.limits
    import katas

    harness = Path(katas.__file__).resolve().parent
    shared = [p for p in HOST_SYSTEM if Path(p).exists()]
    private = [Path(sys.base_prefix), Path(sys.prefix), harness, root]
    mounts = [f"--volume={p}:{p}:ro" for p in shared]
    for path in dict.fromkeys(p.resolve() for p in private):
        if not any(path.is_relative_to(p) for p in shared):
            mounts.append(f"--volume={path}:{path}:ro")
    # A FIFO can be written on a read-only mount; home and /tmp live in the container's memory,
    # bounded, so a run cannot fill the host's disk.
    channel = Path(command[command.index("katas.sandbox") + 1]).parent
    mounts.append(f"--volume={channel}:{channel}:ro")
    disk = f"rw,exec,size={limits.disk_bytes},mode=1777"
    mounts += [f"--tmpfs={home}:{disk}", f"--tmpfs=/tmp:{disk}"]
    cpu = int(limits.wall_seconds) + 30
    docker = [
        cli, "run", "--rm", "--interactive", f"--name={name}",
        f"--user={SANDBOX_UID}:{SANDBOX_UID}", "--cap-drop=ALL",
        "--security-opt=no-new-privileges", "--read-only",
        f"--network={'host' if confine.network else 'none'}",
        f"--pids-limit={limits.processes}",
        f"--memory={limits.memory_bytes}", f"--memory-swap={limits.memory_bytes}",
        f"--ulimit=fsize={limits.file_bytes}:{limits.file_bytes}", "--ulimit=core=0:0",
        f"--ulimit=cpu={cpu}:{cpu}", f"--workdir={root}",
        *mounts, f"--env-file={env_file}", SANDBOX_IMAGE, *command,
    ]  # fmt: skip
    applied = [
        f"a container of its own (uid {SANDBOX_UID}, no capabilities, own process table, "
        "read-only root)",
        "host files: system folders read-only, Python, the harness and the graded tree "
        f"read-only; home and /tmp in memory, {limits.disk_bytes >> 30} GiB each",
        "network: the host's (for its services)" if confine.network else "no network at all",
        f"{limits.processes} processes, {limits.memory_bytes >> 30} GiB memory, "
        f"{limits.file_bytes >> 20} MiB per file",
    ]
    return docker, applied


def _engine_groups(confine: Confinement) -> list[int]:
    """The Docker socket's group, for a kata that drives the engine itself."""
    socket = Path("/var/run/docker.sock")
    return [socket.stat().st_gid] if not confine.container and socket.exists() else []


def _child_env(home: Path) -> dict[str, str]:
    """The environment of a confined run: the parent's minus pytest's own hooks into it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    return env | {"HOME": str(home), "TMPDIR": str(home), "LANG": "C.UTF-8"}


def _set_limits(limits: Limits, drop: bool) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    cpu = int(limits.wall_seconds) + 30
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    if drop:  # counts every process of the sandbox user: meaningful only for a user of its own
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def _kill_all(pid: int, dropped: bool) -> None:
    """Kill the run's process group and, when it ran as the sandbox user, every process of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    if dropped:
        subprocess.run(
            ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
             "kill", "-KILL", "-1"],
            capture_output=True, check=False,
        )  # fmt: skip


def _remove_container(name: str) -> None:
    """Kill and remove a run's container (a no-op when it already ended and removed itself)."""
    cli = container_engine()
    if cli is not None:
        remove = [cli, "rm", "--force", name]
        subprocess.run(remove, capture_output=True, check=False, timeout=60, env=_engine_env())


class _Reader(threading.Thread):
    """Drains the channel while the run goes on (a full pipe would block the reporter)."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.data = bytearray()
        self.overflow = False
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return
            if len(self.data) + len(chunk) > CHANNEL_CAP:
                self.overflow = True
            else:
                self.data += chunk


def _read_channel(data: bytes, key: bytes, run: Run) -> None:
    expected_seq = 1
    for line in data.splitlines():
        message = verify(line, key)
        if message is None:
            run.evidence.append("a line on the result channel was not written by the reporter")
            continue
        if message.get("seq") != expected_seq:
            run.evidence.append("result channel messages out of sequence (replayed or dropped)")
        expected_seq = int(message.get("seq", expected_seq)) + 1
        if run.exit_status is not None:
            run.evidence.append("results arrived after the run reported its end")
            continue
        _apply(message, run)


def _apply(message: dict[str, Any], run: Run) -> None:
    kind = message.get("kind")
    if kind == "collected":
        run.collected[str(message["id"])] = message.get("task")
    elif kind == "result":
        test_id = str(message["id"])
        run.tests[test_id] = TestResult(
            test_id,
            message["outcome"],
            str(message.get("message") or ""),
            run.collected.get(test_id),
            message.get("unavailable"),
            str(message.get("detail") or ""),
        )
    elif kind == "evidence":
        run.evidence.append(str(message["what"]))
    elif kind == "end":
        run.exit_status = int(message["exit"])


def run_pytest(
    root: Path,
    targets: list[str],
    *pytest_args: str,
    confine: Confinement | None = None,
    wall_seconds: float | None = None,
    echo: bool = False,
) -> Run:
    """Run pytest on ``targets`` (paths relative to ``root``) and return what each test did.

    ``echo``: pytest prints to this process's terminal as it goes (``Run.output`` stays empty).
    """
    key = secrets.token_bytes(32)
    cli = container_engine() if confine is not None and confine.container else None
    settings: dict[str, Any] = {"key": key.hex(), "guard": confine is not None}
    applied: list[str] = []
    extra: dict[str, Any] = {}
    dropped = False
    container: str | None = None
    with tempfile.TemporaryDirectory(prefix="katas-run-") as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        if cli is not None:  # a pipe cannot cross into a container; a FIFO can
            (Path(scratch) / "channel").mkdir(mode=0o755)
            channel = str(Path(scratch) / "channel" / "results")
            os.mkfifo(channel, 0o600)
            read_end = os.open(channel, os.O_RDONLY | os.O_NONBLOCK)
            write_end = os.open(channel, os.O_WRONLY)  # ours: no end of file before the run's
            os.set_blocking(read_end, True)
        else:
            read_end, write_end = os.pipe()
            channel = str(write_end)
        command = [
            sys.executable, "-I", "-B", "-m", "katas.sandbox", channel, *targets,
            "-p", "no:cacheprovider", *pytest_args,
        ]  # fmt: skip
        env: dict[str, str] | None = None
        if confine is not None:
            limits = confine.limits
            wall_seconds = limits.wall_seconds
            settings |= {"learner_files": list(confine.learner_files), "allow": list(confine.allow)}
            command.append(f"--timeout={limits.test_seconds}")
            env = _child_env(home)
            applied += [
                f"own process group, killed whole after {limits.wall_seconds:g} s",
                f"{limits.test_seconds} s per test",
                "audit hook and integrity checks",
            ]
            dropped = cli is None and drops_privileges()
            if cli is not None:
                container = f"katas-sandbox-{secrets.token_hex(6)}"
                if os.geteuid() == 0:
                    os.chown(channel, SANDBOX_UID, SANDBOX_UID)
                else:
                    os.chmod(channel, 0o666)
                env_file = Path(scratch) / "env"  # outside the container's mounts
                env_file.write_text(
                    "".join(f"{k}={v}\n" for k, v in env.items() if "\n" not in k + v)
                )
                command, in_container = _container_command(
                    cli, container, command, root, home, env_file, confine
                )
                env = _engine_env()
                applied += in_container
            elif dropped:
                os.chown(home, SANDBOX_UID, SANDBOX_UID)
                applied.append(f"uid {SANDBOX_UID}, graded files read-only")
                isolate = not confine.network and shutil.which("unshare") and shutil.which("ip")
                if isolate:
                    command = [
                        "unshare", "--net", "--", "sh", "-c",
                        'ip link set lo up && exec setpriv --reuid="$0" --regid="$0" '
                        '--clear-groups -- "$@"', str(SANDBOX_UID), *command,
                    ]  # fmt: skip
                    applied.append("no network but loopback")
                else:
                    groups = _engine_groups(confine)
                    extra = {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": groups}
                    if groups:
                        applied.append("the Docker socket's group")
            else:
                applied.append(
                    "the grader's own user (not root, or Python out of uid 65534's reach)"
                )
            if cli is None and not confine.container:
                applied.append(
                    "not in a container: the kata drives the Docker engine, which can do what "
                    "root can, so it is not contained"
                )
            if cli is None:
                extra["preexec_fn"] = lambda: _set_limits(limits, dropped)
                applied.append(
                    f"{limits.memory_bytes >> 30} GiB address space, "
                    f"{limits.file_bytes >> 20} MiB per file"
                )
        reader = _Reader(read_end)
        reader.start()
        with tempfile.TemporaryFile() as output:
            proc = subprocess.Popen(
                command, cwd=root, stdin=subprocess.PIPE,
                stdout=None if echo else output, stderr=None if echo else subprocess.STDOUT,
                pass_fds=() if container else (write_end,), start_new_session=True, env=env,
                **extra,
            )  # fmt: skip
            if container is None:
                os.close(write_end)
            run = Run(returncode=0, confinement=applied)
            try:
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(settings).encode())
                proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                proc.wait(timeout=wall_seconds)
            except subprocess.TimeoutExpired:
                run.timed_out = True
            finally:
                if container is not None:
                    _remove_container(container)
                    os.close(write_end)
                _kill_all(proc.pid, dropped)
                run.returncode = proc.wait()
            reader.join(timeout=2)
            reader.stop.set()
            reader.join()
            os.close(read_end)
            size = output.seek(0, os.SEEK_END)
            output.seek(max(0, size - OUTPUT_TAIL))
            run.output = output.read().decode("utf-8", errors="replace")
    if reader.overflow:
        run.evidence.append(f"more than {CHANNEL_CAP >> 20} MiB on the result channel")
    _read_channel(bytes(reader.data), key, run)
    return run
