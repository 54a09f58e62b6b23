"""Proving the katas both ways: each solution passes, and each of its tests fails on the stub.

Runs in a temporary copy of the repository, so the working tree is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from katas.catalog import Kata
from katas.markers import stub_file

COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".nox", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    "bench-results", ".katas", "build", "node_modules",
)  # fmt: skip


@dataclass
class Run:
    """Per-test outcomes of one pytest run: test id -> passed | failed | error | skipped."""

    exit_code: int
    outcomes: dict[str, str] = field(default_factory=dict)
    skip_reasons: list[str] = field(default_factory=list)
    output: str = ""

    def count(self, outcome: str) -> int:
        return Counter(self.outcomes.values())[outcome]


@dataclass
class CheckResult:
    kata: Kata
    solution: Run
    stub: Run
    stubbed_files: list[str]

    @property
    def unproven(self) -> list[str]:
        """Tests skipped with the solution in place (e.g. no real server here): not proven here."""
        return [test for test, outcome in self.solution.outcomes.items() if outcome == "skipped"]

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.stubbed_files:
            found.append("no solution regions: nothing to stub ('# kata: begin <task>')")
        if not self.solution.outcomes:
            found.append(f"solution: no test ran (pytest exit {self.solution.exit_code})")
        for test, outcome in self.solution.outcomes.items():
            if outcome in ("failed", "error"):
                found.append(f"solution: {test} {outcome}")
        if self.solution.outcomes and len(self.unproven) == len(self.solution.outcomes):
            found.append("solution: every test skipped, so nothing is proven here")
        unproven = set(self.unproven)
        for test, outcome in self.stub.outcomes.items():
            if outcome == "passed" or (outcome == "skipped" and test not in unproven):
                found.append(f"stub: {test} {outcome} on the stub; it must fail")
        if self.solution.outcomes and not self.stub.outcomes:
            found.append(f"stub: no test ran (pytest exit {self.stub.exit_code})")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems


def run_pytest(root: Path, target: Path, *extra: str) -> Run:
    """Run pytest on ``target`` inside ``root``; read per-test outcomes from JUnit XML."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        command = [
            sys.executable, "-m", "pytest", str(target.relative_to(root)),
            "-p", "no:cacheprovider", "-q", "-rs", f"--junitxml={report}", *extra,
        ]  # fmt: skip
        env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        run = Run(proc.returncode, output=proc.stdout + proc.stderr)
        if report.is_file():
            _read_junit(report, run)
        return run


def _read_junit(report: Path, run: Run) -> None:
    for case in ET.parse(report).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        test = f"{classname.rsplit('.', 1)[-1]}::{name}" if classname else f"collecting {name}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                if child.tag == "skipped":
                    run.skip_reasons.append(child.get("message", ""))
                break
        run.outcomes[test] = outcome


def check_katas(root: Path, katas: list[Kata], *pytest_args: str) -> list[CheckResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="katas-check-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(root, copy, ignore=COPY_IGNORE, symlinks=True)
        for kata in katas:
            folder = copy / kata.path.relative_to(root)
            solution = run_pytest(copy, folder, *pytest_args)
            stubbed = [
                str(path.relative_to(copy))
                for path in sorted(folder.rglob("*"))
                if path.is_file() and not path.name.startswith("test_") and stub_file(path)
            ]
            stub = run_pytest(copy, folder, *pytest_args) if stubbed else Run(exit_code=-1)
            results.append(CheckResult(kata, solution, stub, stubbed))
    return results
