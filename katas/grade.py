"""Grading: the learner's files, judged by the tests of a trusted ref, each kata in a sandbox.

The grading tree is built from the trusted ref's files (read through git, never a work tree); the
only files taken from the learner are the ones with solution regions at that ref, each read as a
regular file (a missing, oversized or non-regular one is replaced by its stub). Which tests must
run, and which task each proves, come from collecting the pristine tree; a test that does not
report counts as failed, an unknown one is ignored. Each kata then runs in its own confined
process (``katas.runner``); a run that shows tampering, or whose files fail the static check, is
"flagged for review" and scores 0. Scores are per task: a task's points count when every one of
its tests passes, and each point is one entry of
``grade.json``, so GitHub Classroom's console and its posted total agree.

Reports: ``grade.json`` (Classroom's autograding schema, one entry per kata task), ``grade.md``
(a job summary with every learner-controlled text escaped) and ``grade.xml`` (JUnit, written by
the judge from the verified results).
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from katas import catalog, gitops
from katas.catalog import STAGES, Kata
from katas.markers import stub_text
from katas.runner import (
    Confinement,
    Limits,
    Run,
    container_engine,
    drops_privileges,
    run_pytest,
)
from katas.static_check import check_source

MAX_LEARNER_FILE = 1 << 20  # bytes; a larger "solution" is replaced by its stub
PYTEST_ARGS = (
    "-c", "pyproject.toml", "--rootdir", ".", "-q", "--require-services",
    "-W", "ignore::pytest.PytestAssertRewriteWarning",
)  # fmt: skip


class GradeError(RuntimeError):
    """Grading could not start; the message says why and how to fix it."""


@dataclass
class LearnerFiles:
    """Where the learner's files come from: a git commit of a repository, or a work tree."""

    root: Path
    commit: str | None = None  # None: the work tree under root

    def read(self, path: str) -> tuple[bytes | None, str]:
        """The file's bytes and how it was taken; None when it cannot be used."""
        if self.commit is not None:
            listed = gitops.tree_entry(self.root, self.commit, path)
            if listed is None:
                return None, "missing"
            mode, size = listed
            if mode not in ("100644", "100755"):
                return None, "not a regular file"
            if size > MAX_LEARNER_FILE:
                return None, "too large"
            return gitops.show_bytes(self.root, self.commit, path), "taken"
        target = self.root / path
        if not target.exists() and not target.is_symlink():
            return None, "missing"
        if os.path.realpath(target) != str(target.absolute()) or not stat.S_ISREG(
            target.lstat().st_mode
        ):
            return None, "not a regular file"
        if target.lstat().st_size > MAX_LEARNER_FILE:
            return None, "too large"
        return target.read_bytes(), "taken"


@dataclass
class KataGrade:
    kata: Kata
    expected: dict[str, int | None]  # test id -> task, from the trusted collection
    run: Run | None = None
    flags: list[str] = field(default_factory=list)  # static findings and evidence of tampering

    def outcome(self, test_id: str) -> str:
        result = self.run.tests.get(test_id) if self.run else None
        return result.outcome if result else "failed"

    @property
    def passed(self) -> int:
        return sum(self.outcome(t) == "passed" for t in self.expected)

    @property
    def unavailable(self) -> list[str]:
        tests = self.run.tests.values() if self.run else []
        return sorted({t.unavailable for t in tests if t.unavailable and t.outcome != "passed"})

    @property
    def status(self) -> str:
        if self.flags:
            return "flagged for review"
        if not self.expected:
            return "no tests"
        if self.run is None or not self.run.finished:
            return "error"
        if self.run.exit_status not in (0, 1):
            return "error"
        if self.unavailable:
            return "service unavailable"
        return "passed" if self.passed == len(self.expected) else "failed"

    @property
    def problem(self) -> str:
        """Why the kata scored what it did, in one line."""
        status = self.status
        if status == "flagged for review":
            return self.flags[0]
        if status == "error" and self.run is not None and not self.run.finished:
            return self.run.why_unfinished()
        if status == "error":
            return f"pytest stopped early (exit status {self.run.exit_status if self.run else '?'})"
        if status == "service unavailable":
            return f"no {', '.join(self.unavailable)} server for the tests"
        failing = [t for t in self.expected if self.outcome(t) != "passed"]
        if not failing:
            return ""
        result = self.run.tests.get(failing[0]) if self.run else None
        why = result.message if result and result.message else "no result reported"
        return f"{failing[0]}: {why}"

    def tasks(self) -> dict[int, list[str]]:
        """Task number -> its tests (tests without a task marker form task 0)."""
        grouped: dict[int, list[str]] = {}
        for test_id, task in self.expected.items():
            grouped.setdefault(task or 0, []).append(test_id)
        return dict(sorted(grouped.items()))

    def task_points(self) -> dict[int, int]:
        """The kata's points split over its tasks in whole points (largest remainder)."""
        tasks = list(self.tasks())
        if not tasks:
            return {}
        share, extra = divmod(self.kata.points, len(tasks))
        return {task: share + (1 if i < extra else 0) for i, task in enumerate(tasks)}

    def task_passed(self, task: int) -> bool:
        ok = self.status in ("passed", "failed")
        return ok and all(self.outcome(t) == "passed" for t in self.tasks()[task])

    @property
    def score(self) -> int:
        points = self.task_points()
        return sum(p for task, p in points.items() if self.task_passed(task))


@dataclass
class Grading:
    ref: str  # as given
    commit: str  # what it resolved to
    grades: list[KataGrade]
    learner_files: dict[str, str]  # path -> taken | missing | not a regular file | too large
    confinement: dict[str, list[str]] = field(default_factory=dict)  # kata -> what applied

    @property
    def total(self) -> int:
        return sum(g.score for g in self.grades)

    @property
    def maximum(self) -> int:
        return sum(g.kata.points for g in self.grades)


def _extract(root: Path, commit: str, tree: Path) -> None:
    """The files of ``commit``; links and anything but regular files are left out."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=root, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = [m for m in tar.getmembers() if m.isreg() or m.isdir()]
        tar.extractall(tree, members=members, filter="data")


def _collect(tree: Path, katas: list[Kata]) -> dict[str, dict[str, int | None]]:
    """Test id -> task for each kata, collected on the pristine trusted tree."""
    paths = [str(k.path.relative_to(tree)) for k in katas]
    run = run_pytest(tree, paths, *PYTEST_ARGS, "--collect-only")
    if not run.finished:
        raise GradeError(f"collecting the trusted tests failed: {run.output.strip()[-300:]}")
    expected: dict[str, dict[str, int | None]] = {k.name: {} for k in katas}
    for test_id, task in run.collected.items():
        parts = test_id.split("/")
        if len(parts) > 2 and parts[0] in STAGES and parts[1] in expected:
            expected[parts[1]][test_id] = task
    return expected


def _lay_learner_files(
    tree: Path, katas: list[Kata], learner: LearnerFiles
) -> tuple[dict[str, str], dict[str, list[Path]]]:
    """Replace every solution file in the tree by the learner's (or its stub)."""
    taken: dict[str, str] = {}
    by_kata: dict[str, list[Path]] = {}
    for kata in katas:
        for path in kata.solution_files:
            rel = path.relative_to(tree).as_posix()
            content, how = learner.read(rel)
            if content is None:
                content = stub_text(path, path.read_text(encoding="utf-8")).encode()
                how += ", stub used"
            path.write_bytes(content)
            taken[rel] = how
            by_kata.setdefault(kata.name, []).append(path)
    return taken, by_kata


def _static_flags(kata: Kata, files: list[Path]) -> list[str]:
    allow = frozenset(kata.sandbox_allow)
    flags = []
    for path in files:
        if path.suffix == ".py":
            text = path.read_bytes().decode("utf-8", errors="replace")
            flags += check_source(Path(path.relative_to(kata.path.parent.parent)), text, allow)
    return flags


def grade(
    root: Path,
    choose: Callable[[list[Kata]], list[Kata]],
    out_dir: Path,
    *,
    tests_from: str = "HEAD",
    learner: LearnerFiles | None = None,
    limits: Limits | None = None,
) -> Grading:
    """Grade the katas ``choose`` picks from ``tests_from`` (a ref of ``root``), with the learner's
    files from ``learner`` (default: the work tree of ``root``); write the reports."""
    commit = gitops.resolve_trusted(root, tests_from)
    container_engine()  # a sandbox asked for and not to be had stops grading before it starts
    learner = learner or LearnerFiles(root)
    with tempfile.TemporaryDirectory(prefix="katas-grade-") as tmp:
        tree = Path(tmp) / "repo"
        tree.mkdir()
        _extract(root, commit, tree)
        os.chmod(tmp, 0o755)  # the sandbox user reads the tree; nothing in it is writable to it
        all_katas = catalog.load(tree)
        katas = choose(all_katas)
        expected = _collect(tree, katas)
        taken, files = _lay_learner_files(tree, all_katas, learner)
        grading = Grading(tests_from, commit, [], taken)
        grades = [KataGrade(k, expected[k.name]) for k in katas]
        for g in grades:
            g.flags = _static_flags(g.kata, files.get(g.kata.name, []))

        def judge(g: KataGrade) -> None:
            if g.flags or not g.expected:
                return
            confine = Confinement(
                tuple(str(p) for p in files.get(g.kata.name, [])),
                g.kata.sandbox_allow,
                network=bool(g.kata.services) or g.kata.sandbox_network,
                container="docker" not in g.kata.services,  # it drives the engine itself
                limits=limits or Limits(),
            )
            target = str(g.kata.path.relative_to(tree))
            g.run = run_pytest(
                tree, [target], *PYTEST_ARGS, "--continue-on-collection-errors", confine=confine
            )
            g.flags = [f"tampering: {e}" for e in g.run.evidence]
            grading.confinement[g.kata.name] = g.run.confinement

        # Katas without services run side by side (unless each run ends by killing every process
        # of the sandbox user); those sharing a server run one at a time.
        one_user = drops_privileges() and container_engine() is None
        side_by_side = 1 if one_user else max(1, min(2, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=side_by_side) as pool:
            list(pool.map(judge, [g for g in grades if not g.kata.services]))
        for g in grades:
            if g.kata.services:
                judge(g)
        grading.grades = grades
    write_reports(grading, out_dir)
    return grading


# --- reports ---------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def plain(text: str, limit: int = 300) -> str:
    """One line of learner-controlled text, safe to print in a log: no control characters, no
    GitHub workflow command (``::``), no rich markup brackets that could be read as style."""
    line = _CONTROL.sub(" ", text).strip()[:limit]
    return line.replace("::", ":\u200b:")


def md(text: str, limit: int = 300) -> str:
    """``plain`` text escaped for a Markdown table cell."""
    escaped = plain(text, limit).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]()#+!|~-])", r"\\\1", escaped)


def classroom_json(grading: Grading) -> dict[str, Any]:
    tests = []
    for g in grading.grades:
        points = g.task_points()
        for task, task_tests in g.tasks().items():
            passed = g.task_passed(task)
            ok = sum(g.outcome(t) == "passed" for t in task_tests)
            detail = f"{ok}/{len(task_tests)} tests passed"
            if not passed and (why := g.problem):
                detail += f"; {why}"
            label = f"task {task}" if task else "tests"
            # One entry per point: Classroom's console counts entries passed, its total adds
            # scores; with every entry worth one point the two agree.
            for point in range(1, points[task] + 1):
                tests.append(
                    {
                        "name": plain(
                            f"{g.kata.stage}/{g.kata.name} {label} ({point}/{points[task]})"
                        ),
                        "status": "pass"
                        if passed
                        else ("fail" if g.status == "failed" else "error"),
                        "score": 1 if passed else 0,
                        "max_score": 1,
                        "message": plain(f"{g.status}: {detail}"),
                        "filename": f"{g.kata.stage}/{g.kata.name}",
                        "line_no": 0,
                        "execution_time": "",
                    }
                )
    return {
        "version": 1,
        "status": "pass" if all(g.status == "passed" for g in grading.grades) else "fail",
        "max_score": grading.maximum,
        "tests": tests,
    }


def markdown(grading: Grading) -> str:
    lines = [
        f"# Grade: {grading.total} / {grading.maximum} points",
        "",
        f"Tests and harness from `{md(grading.ref)}` ({grading.commit[:12]}).",
        "",
    ]
    for stage in STAGES:
        rows = [g for g in grading.grades if g.kata.stage == stage]
        if not rows:
            continue
        lines += [
            f"## {stage}",
            "",
            "| kata | tasks passed | tests passed | points | status |",
            "|---|---:|---:|---:|---|",
        ]
        for g in rows:
            tasks = g.tasks()
            done = sum(g.task_passed(t) for t in tasks)
            lines.append(
                f"| {g.kata.name} | {done}/{len(tasks)} | {g.passed}/{len(g.expected)} "
                f"| {g.score} / {g.kata.points} | {g.status} |"
            )
        lines.append("")
    flagged = [g for g in grading.grades if g.flags]
    if flagged:
        lines += ["## Flagged for review", ""]
        for g in flagged:
            lines.append(f"- **{g.kata.name}** (scored 0):")
            lines += [f"  - {md(flag)}" for flag in g.flags[:20]]
        lines.append("")
    problems = [g for g in grading.grades if g.status not in ("passed", "flagged for review")]
    if problems:
        lines += ["## First problem per kata", ""]
        lines += [f"- {g.kata.name}: {md(g.problem)}" for g in problems if g.problem]
        lines.append("")
    lines += ["## Files taken from the learner", ""]
    lines += [f"- `{md(path)}`: {how}" for path, how in sorted(grading.learner_files.items())]
    if grading.confinement:
        lines += ["", "## Sandbox"]
        alike: dict[tuple[str, ...], list[str]] = {}
        for name, applied in grading.confinement.items():
            alike.setdefault(tuple(applied), []).append(name)
        for confined, names in alike.items():
            lines += ["", f"{', '.join(names)}:", "", *[f"- {c}" for c in confined]]
    lines.append("")
    return "\n".join(lines)


def junit(grading: Grading) -> ET.ElementTree:
    suites = ET.Element("testsuites")
    for g in grading.grades:
        suite = ET.SubElement(suites, "testsuite", name=f"{g.kata.stage}/{g.kata.name}")
        for test_id in g.expected:
            case = ET.SubElement(suite, "testcase", name=test_id, classname=g.kata.name)
            outcome = g.outcome(test_id)
            result = g.run.tests.get(test_id) if g.run else None
            message = plain(result.message if result else "no result reported")
            if outcome in ("failed", "error", "skipped"):
                tag = {"failed": "failure"}.get(outcome, outcome)
                ET.SubElement(case, tag, message=message)
        suite.set("tests", str(len(g.expected)))
        suite.set("failures", str(len(g.expected) - g.passed))
    return ET.ElementTree(suites)


def _write(path: Path, text: str) -> None:
    """Write a report; a link left in its place is replaced, never followed."""
    if path.is_symlink() or path.exists():
        path.unlink()
    path.write_text(text, encoding="utf-8")


def write_reports(grading: Grading, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = classroom_json(grading)
    report["katas"] = {
        g.kata.name: {"status": g.status, "score": g.score, "max_score": g.kata.points,
                      "flags": [plain(f) for f in g.flags]}
        for g in grading.grades
    }  # fmt: skip
    report["learner_files"] = grading.learner_files
    report["trusted"] = {"ref": plain(grading.ref), "commit": grading.commit}
    _write(out_dir / "grade.json", json.dumps(report, indent=2) + "\n")
    _write(out_dir / "grade.md", markdown(grading))
    xml = io.BytesIO()
    junit(grading).write(xml, encoding="utf-8", xml_declaration=True)
    _write(out_dir / "grade.xml", xml.getvalue().decode())
