"""Proving the katas both ways: each solution passes, and each of its tests fails on the stub.

Runs in a temporary copy of the repository, so the working tree is never touched.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from katas.catalog import Kata
from katas.markers import stub_file
from katas.runner import Run, run_pytest

COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".nox", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    "bench-results", "mutate-results", ".katas", "build", "node_modules",
)  # fmt: skip


@dataclass
class CheckResult:
    kata: Kata
    solution: Run
    stub: Run
    stubbed_files: list[str]

    @property
    def unproven(self) -> list[str]:
        """Tests skipped with the solution in place (e.g. no real server here): not proven here."""
        return [t.id for t in self.solution.tests.values() if t.outcome == "skipped"]

    def task_problems(self) -> list[str]:
        """Every test names one README task, and every task has a test (so fails on the stub)."""
        tasks = len(self.kata.tasks)
        found = []
        for test_id, task in self.solution.collected.items():
            if task is None or not 1 <= task <= tasks:
                found.append(
                    f"{test_id}: mark it @pytest.mark.task(n) with n from 1 to {tasks} "
                    "(the README's numbered tasks)"
                )
        proven = {t for t in self.solution.collected.values() if t is not None}
        for task in range(1, tasks + 1):
            if task not in proven:
                found.append(f"README task {task} has no test: a stub could skip it unnoticed")
        return found

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.stubbed_files:
            found.append("no solution regions: nothing to stub ('# kata: begin <task>')")
        solution, stub = self.solution.tests, self.stub.tests
        if not solution:
            found.append(f"solution: no test ran (pytest exit {self.solution.returncode})")
        for test in solution.values():
            if test.outcome in ("failed", "error"):
                found.append(f"solution: {test.id} {test.outcome}")
        if solution and len(self.unproven) == len(solution):
            found.append("solution: every test skipped, so nothing is proven here")
        unproven = set(self.unproven)
        for test in stub.values():
            if test.outcome == "passed" or (test.outcome == "skipped" and test.id not in unproven):
                found.append(f"stub: {test.id} {test.outcome} on the stub; it must fail")
        for test_id in solution:
            if test_id not in stub and test_id not in unproven:
                found.append(f"stub: {test_id} did not run on the stub; it must fail")
        if solution and not stub:
            found.append(f"stub: no test ran (pytest exit {self.stub.returncode})")
        return found + self.task_problems()

    @property
    def ok(self) -> bool:
        return not self.problems


def check_katas(root: Path, katas: list[Kata], *pytest_args: str) -> list[CheckResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="katas-check-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(root, copy, ignore=COPY_IGNORE, symlinks=True)
        for kata in katas:
            folder = copy / kata.path.relative_to(root)
            target = [str(folder.relative_to(copy))]
            solution = run_pytest(copy, target, "-q", *pytest_args)
            stubbed = [
                str(path.relative_to(copy))
                for path in sorted(folder.rglob("*"))
                if path.is_file() and not path.name.startswith("test_") and stub_file(path)
            ]
            stub = run_pytest(copy, target, "-q", *pytest_args) if stubbed else Run(returncode=-1)
            results.append(CheckResult(kata, solution, stub, stubbed))
    return results
