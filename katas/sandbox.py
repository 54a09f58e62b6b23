"""The trusted side of a pytest run: started before any kata code is imported, it reports results.

Run as ``python -I -B -m katas.sandbox <channel fd or FIFO> <pytest args...>`` with a JSON settings object
on standard input (read, then closed, before pytest starts). It registers :class:`Reporter`, which
writes one signed JSON line per event to the channel: ``collected`` (every test id with its task),
``result`` (per test), ``evidence`` (a sign of tampering) and ``end`` (pytest's exit status).
Each line carries a sequence number and an HMAC with a key that only the judge and this bootstrap
know, so a line written by kata code straight to the descriptor fails verification.

With ``guard`` set (grading), the bootstrap also installs a PEP 578 audit hook that refuses, to
code in the learner's files, frame and garbage-collector introspection, ctypes, code objects made
by hand, new processes and signals (unless the kata's ``[sandbox] allow`` lists them), and it
snapshots pytest, pluggy and the harness so that patching them shows up as evidence. None of this
makes a process a security boundary: it is one layer of several (see README, "Threat model").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Audit events refused to learner code, unless its kata allows them (by name or prefix). Frame and
# code introspection is refused when the learner's code asks for it itself (the standard library
# asks for frames on everyone's behalf: typing, namedtuple, inspect); the rest also when it asks
# through a library (a subprocess started by a helper is still the learner's).
DIRECT_EVENTS = ("sys._getframe", "sys._current_frames", "code.__new__", "object.__getattr__",
                 "object.__setattr__")  # fmt: skip
INDIRECT_EVENTS = (
    "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.settrace", "sys.setprofile",
    "sys.addaudithook", "ctypes.", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec",
    "os.spawn", "os.system", "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill",
    "open /proc",
)  # fmt: skip
# Attribute reads and writes that hand out frames or rewrite functions.
GUARDED_ATTRIBUTES = frozenset(
    {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "ag_code", "f_code",
     "__code__"}
)  # fmt: skip
# Packages whose objects judge the run: patching them is tampering.
JUDGE_PACKAGES = ("_pytest", "pytest", "pluggy", "katas")


class Channel:
    """Signed, numbered JSON lines to the judge."""

    def __init__(self, fd: int, key: bytes) -> None:
        self._fd = fd
        self._signer = hmac.new(key, digestmod=hashlib.sha256)
        self._seq = 0
        self._lock = threading.Lock()

    def send(self, kind: str, **fields: Any) -> None:
        with self._lock:
            self._seq += 1
            body = json.dumps({"seq": self._seq, "kind": kind, **fields}, ensure_ascii=True)
            signer = self._signer.copy()
            signer.update(body.encode())
            line = f"{body}\t{signer.hexdigest()}\n".encode()
            while line:
                line = line[os.write(self._fd, line) :]


def verify(line: bytes, key: bytes) -> dict[str, Any] | None:
    """The message of one channel line, or None when its signature does not match."""
    body, _, signature = line.rstrip(b"\n").rpartition(b"\t")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if not body or not hmac.compare_digest(expected, signature):
        return None
    message = json.loads(body)
    return message if isinstance(message, dict) else None


def _task_of(item: Any) -> int | None:
    marker = item.get_closest_marker("task")
    if marker is None or len(marker.args) != 1 or not isinstance(marker.args[0], int):
        return None
    return int(marker.args[0])


DETAIL_LIMIT = 6000  # characters of a failure's full report sent to the judge


def _detail(longrepr: Any) -> str:
    """The whole failure report (traceback, assertion, file and line), capped."""
    if longrepr is None or isinstance(longrepr, tuple):
        return ""
    text = str(longrepr)
    return text if len(text) <= DETAIL_LIMIT else "…\n" + text[-DETAIL_LIMIT:]


def _first_line(longrepr: Any) -> str:
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[-1]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    return text.strip().partition("\n")[0][:300]


class Reporter:
    """A pytest plugin that reports each test's outcome over the channel."""

    def __init__(self, channel: Channel, integrity: Integrity | None) -> None:
        self.channel = channel
        self.integrity = integrity
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.details: dict[str, str] = {}

    def pytest_sessionstart(self, session: Any) -> None:
        if self.integrity is not None:
            self.integrity.snapshot(session.config)

    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
        if self.integrity is not None:  # before pytest's own clean-up undoes its configuration
            self.integrity.check(self.channel)
        self.channel.send("end", exit=int(exitstatus))

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        for item in items:
            self.channel.send("collected", id=item.nodeid, task=_task_of(item))

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.channel.send(
                "result", id=report.nodeid, outcome="error",
                message=_first_line(report.longrepr), detail=_detail(report.longrepr),
            )  # fmt: skip

    def pytest_runtest_logreport(self, report: Any) -> None:
        outcome, message = self.outcomes.get(report.nodeid, ("passed", ""))
        if report.failed and outcome in ("passed", "skipped"):
            outcome = "failed" if report.when == "call" else "error"
            message = _first_line(report.longrepr)
            self.details[report.nodeid] = _detail(report.longrepr)
        elif report.skipped and outcome == "passed":
            outcome, message = "skipped", _first_line(report.longrepr)
        self.outcomes[report.nodeid] = (outcome, message)
        if report.when == "teardown":
            unavailable = [str(v) for k, v in report.user_properties if k == "katas_unavailable"]
            self.channel.send(
                "result", id=report.nodeid, outcome=outcome, message=message,
                unavailable=unavailable[0] if unavailable else None,
                detail=self.details.get(report.nodeid, ""),
            )  # fmt: skip
            if self.integrity is not None:
                self.integrity.check(self.channel)


class Integrity:
    """Identity of every function and class in pytest, pluggy and the harness, taken before kata
    code is imported; any later difference is tampering, and so is a hook implemented in code
    that is not trusted."""

    def __init__(self, untrusted: Callable[[str], bool]) -> None:
        self.untrusted = untrusted
        self.before: list[tuple[Any, str, object, str]] = []  # (namespace, key, value, name)
        self.config: Any = None
        self.reported: set[str] = set()

    def snapshot(self, config: Any) -> None:
        self.config = config
        for name, module in list(sys.modules.items()):
            if not name.startswith(JUDGE_PACKAGES) or not isinstance(module, types.ModuleType):
                continue
            namespace = vars(module)
            for attr, value in list(namespace.items()):
                if isinstance(value, types.FunctionType | type):
                    self.before.append((namespace, attr, value, f"{name}.{attr}"))
                if isinstance(value, type) and value.__module__ == name:
                    members = value.__dict__  # a mappingproxy: live, so later patches show
                    for member, inner in list(members.items()):
                        self.before.append((members, member, inner, f"{name}.{attr}.{member}"))

    def _report(self, channel: Channel, what: str) -> None:
        if what not in self.reported:
            self.reported.add(what)
            channel.send("evidence", what=what)

    def check(self, channel: Channel) -> None:
        for namespace, key, value, name in self.before:
            if namespace.get(key, None) is not value:
                self._report(channel, f"{name} was replaced or removed during the run")
        for hook_name, caller in list(vars(self.config.hook).items()):
            for impl in caller.get_hookimpls() if hasattr(caller, "get_hookimpls") else []:
                function = getattr(impl.function, "__func__", impl.function)
                code = getattr(function, "__code__", None)
                if code is None or self.untrusted(code.co_filename):
                    where = code.co_filename if code is not None else repr(function)
                    self._report(channel, f"hook {hook_name} implemented by untrusted {where}")


class Guard:
    """The audit hook: refuse guarded events when the code asking is the learner's."""

    def __init__(
        self, channel: Channel, learner_files: set[str], trusted_roots: list[str], allow: list[str]
    ) -> None:
        self.channel = channel
        self.learner_files = learner_files
        self.trusted_roots = tuple(trusted_roots)
        self.judge_roots = tuple(
            str(Path(p).resolve()) + os.sep for p in _package_dirs(JUDGE_PACKAGES)
        )
        self.allow = tuple(a.removeprefix("event:") for a in allow if a.startswith("event:"))
        self.busy = threading.local()

    def untrusted(self, filename: str) -> bool:
        if filename in self.learner_files:
            return True
        if filename.startswith("<frozen "):
            return False
        return not filename.startswith(self.trusted_roots + self.judge_roots)

    def _library(self, filename: str) -> bool:
        """Standard library and third-party code: it acts for whoever called it."""
        return (
            filename.startswith(self.trusted_roots[1:]) or filename.startswith("<frozen ")
        ) and not filename.startswith(self.judge_roots)

    def culprit(self, direct: bool) -> str | None:
        """``file:line`` of the learner code behind the current event, or None."""
        frame: Any = sys._getframe(2)
        while frame is not None:
            code = frame.f_code
            filename = code.co_filename
            if direct or not self._library(filename):
                return f"{filename}:{frame.f_lineno}" if self.untrusted(filename) else None
            frame = frame.f_back
        return None

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if getattr(self.busy, "on", False):
            return
        if event == "object.__getattr__" or event == "object.__setattr__":
            if args[1] not in GUARDED_ATTRIBUTES:
                return
            event = f"{event} {args[1]}"
        elif event == "open":
            path = str(args[0])
            if not path.startswith("/proc/") or not ("/mem" in path or "/fd" in path):
                return
            event = f"open {path}"
        elif not event.startswith(DIRECT_EVENTS + INDIRECT_EVENTS):
            return
        if event.startswith(self.allow):
            return
        self.busy.on = True
        try:
            where = self.culprit(direct=event.startswith(DIRECT_EVENTS))
        finally:
            self.busy.on = False
        if where is not None:
            self.busy.on = True
            try:
                self.channel.send("evidence", what=f"{where}: refused '{event}'")
            finally:
                self.busy.on = False
            raise PermissionError(f"the grading sandbox refuses '{event}' to kata code ({where})")


def _package_dirs(names: tuple[str, ...]) -> list[str]:
    import importlib.util

    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found.extend(spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            found.append(spec.origin)
    return found


def _trusted_roots(tree: str) -> list[str]:
    """The graded tree first, then the interpreter's libraries (stdlib and site-packages)."""
    import sysconfig

    roots = [str(Path(tree).resolve()) + os.sep]
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        roots.append(str(Path(sysconfig.get_paths()[key]).resolve()) + os.sep)
    return list(dict.fromkeys(roots))


def main(argv: list[str]) -> int:
    settings = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    key = bytes.fromhex(settings.pop("key"))
    # the channel: a pipe's file descriptor, or a FIFO's path (a container's run)
    fd = int(argv[0]) if argv[0].isdigit() else os.open(argv[0], os.O_WRONLY)
    channel = Channel(fd, key)
    del key
    integrity: Integrity | None = None
    if settings.get("guard"):
        learner = {str(Path(f).resolve()) for f in settings["learner_files"]}
        guard = Guard(channel, learner, _trusted_roots(os.getcwd()), settings.get("allow", []))
        sys.addaudithook(guard)
        integrity = Integrity(guard.untrusted)
    import pytest

    reporter = Reporter(channel, integrity)
    return int(pytest.main(argv[1:], plugins=[reporter]))


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # no atexit handler of kata code runs after the judge has its results
