"""The watch loop: re-run the current kata on every save, move on when it passes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from katas.catalog import Kata
from katas.progress import State


@dataclass(frozen=True)
class Outcome:
    passed: bool
    total: int
    failures: int
    first_failure: str  # "test_x: message" of the first failing test, or ""


def run_tests(root: Path, kata: Kata, *pytest_args: str) -> Outcome:
    """Run one kata's tests quietly; report the count and the first failure's message."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        command = [
            sys.executable, "-m", "pytest", str(kata.path.relative_to(root)),
            "-p", "no:cacheprovider", "-q", "--tb=short", f"--junitxml={report}", *pytest_args,
        ]  # fmt: skip
        proc = subprocess.run(command, cwd=root, capture_output=True, text=True)
        total, failures, first = 0, 0, ""
        if report.is_file():
            for case in ET.parse(report).iter("testcase"):
                total += 1
                problem = next((c for c in case if c.tag in ("failure", "error")), None)
                if problem is not None:
                    failures += 1
                    if not first:
                        message = (problem.get("message") or problem.text or "").strip()
                        first = f"{case.get('name')}: {message.splitlines()[0] if message else '?'}"
        if total == 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            first = f"no test ran (pytest exit {proc.returncode}): {tail[0]}"
        return Outcome(proc.returncode == 0 and total > 0, total, failures, first)


def watch_loop(
    root: Path,
    katas: list[Kata],
    current: Kata,
    changes: Iterable[set[Path]],
    emit: Callable[[str], None],
    run: Callable[[Path, Kata], Outcome] = run_tests,
) -> Kata | None:
    """Test ``current``, then again after each change inside it; on a pass move to the next
    pending kata. Returns the kata still pending when ``changes`` ends or the next kata is not
    started yet (None: every kata passed)."""
    state = State.load(root)
    pending: Kata | None = current
    changes_iter = iter(changes)
    while pending is not None:
        outcome = run(root, pending)
        if outcome.passed:
            state.mark_passed(pending.name)
            state.save(root)
            emit(f"✓ {pending.name}: all {outcome.total} tests pass")
            pending = state.next_pending(katas)
            if pending is None:
                emit("🎉 every kata passes")
                return None
            emit(f"→ next: {pending.name} ({pending.readme.relative_to(root)})")
            if pending.name not in state.started:  # its reference solution would pass unseen
                emit(
                    f"  run 'katas start {pending.name}' to turn it into an exercise, then watch again"
                )
                return pending
            continue
        emit(f"✗ {pending.name}: {outcome.failures} of {outcome.total} failing")
        emit(f"  {outcome.first_failure}")
        emit(f"  waiting for changes in {pending.path.relative_to(root)} … (Ctrl-C to stop)")
        for changed in changes_iter:
            if any(pending.path in p.parents for p in changed):
                break
        else:
            return pending
    return None
