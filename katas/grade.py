"""Grading: run katas with services required, score them in points, and write three reports.

``grade.json`` follows GitHub Classroom's autograding result schema (version, status, max_score,
tests[name, status, score, max_score, message]); ``grade.md`` is a job summary; ``grade.xml`` is
pytest's JUnit XML. Grading runs in a temporary copy, so the learner's tree is never touched.
With a ``tests_from`` ref, everything a learner is not meant to edit (tests, fixtures, manifests,
the harness, pytest's configuration) is first laid over that copy from the ref, so an edited test
gains nothing; every file that differed is reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

from katas import catalog, gitops
from katas.catalog import STAGES, Kata
from katas.check import COPY_IGNORE
from katas.markers import MarkerError, find_regions

# Files pytest would read as configuration or plugins if a learner added them.
HIJACKS = ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "conftest.py", "sitecustomize.py")
UNAVAILABLE = "[--require-services]"  # the plugin's tag on a failure for want of a service


@dataclass
class Overlay:
    """What ``--tests-from`` changed in the graded copy: path -> replaced | restored | removed."""

    ref: str
    changes: dict[str, str] = field(default_factory=dict)


@dataclass
class KataGrade:
    kata: Kata
    outcomes: dict[str, str] = field(
        default_factory=dict
    )  # test -> passed | failed | error | skipped
    messages: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes.values() if o == "passed")

    @property
    def unavailable(self) -> bool:
        return any(UNAVAILABLE in m for m in self.messages)

    @property
    def score(self) -> float:
        if not self.outcomes or self.unavailable:
            return 0.0
        return round(self.kata.points * self.passed / len(self.outcomes), 2)

    @property
    def status(self) -> str:
        if self.unavailable:
            return "service unavailable"
        if not self.outcomes:
            return "no tests ran"
        return "passed" if self.passed == len(self.outcomes) else "failed"


def _learner_files(ref_root: Path, ref: str, paths: list[str]) -> set[str]:
    """Upstream files holding solution regions: the only ones a learner is meant to edit."""
    editable = set()
    for path in paths:
        if not path.startswith(STAGES) or PurePosixPath(path).name.startswith("test_"):
            continue
        try:
            if find_regions(Path(path), gitops.show(ref_root, ref, path)):
                editable.add(path)
        except (MarkerError, UnicodeDecodeError):
            continue
    return editable


def _protected(path: str) -> bool:
    return path.startswith((*STAGES, "katas/")) or path in ("pyproject.toml", "noxfile.py")


def lay_upstream(ref_root: Path, ref: str, copy: Path) -> Overlay:
    """Lay every non-learner file of ``ref`` over ``copy``; drop test files and hijacks ref lacks."""
    overlay = Overlay(ref)
    upstream = gitops.files_at(ref_root, ref)
    editable = _learner_files(ref_root, ref, upstream)
    for path in upstream:
        if not _protected(path) or path in editable:
            continue
        content = gitops.show_bytes(ref_root, ref, path)
        target = copy / path
        if not target.is_file():
            overlay.changes[path] = "restored"
        elif target.read_bytes() != content:
            overlay.changes[path] = "replaced"
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    known = set(upstream)
    for target in sorted(copy.rglob("*")):
        path = target.relative_to(copy).as_posix()
        if not target.is_file() or path in known:
            continue
        name = target.name
        in_stage = path.startswith(STAGES)
        if (in_stage and (fnmatch(name, "test_*.py") or name == "conftest.py")) or (
            "/" not in path and name in HIJACKS
        ):
            target.unlink()
            overlay.changes[path] = "removed"
    return overlay


def _kata_of(classname: str, name: str) -> tuple[str, str] | None:
    dotted = classname or name  # a collection error has no classname: the module is the name
    parts = dotted.replace("/", ".").split(".")
    return (parts[0], parts[1]) if len(parts) > 2 and parts[0] in STAGES else None


def read_junit(report: Path, grades: dict[tuple[str, str], KataGrade]) -> None:
    for case in ET.parse(report).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        key = _kata_of(classname, name)
        if key not in grades:
            continue
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.get("message", "") or (child.text or "")
                break
        grades[key].outcomes[f"{classname.rsplit('.', 1)[-1]}::{name}"] = outcome
        if first_line := message.strip().partition("\n")[0]:
            grades[key].messages.append(first_line[:300])


def grade(
    root: Path,
    choose: Callable[[list[Kata]], list[Kata]],
    out_dir: Path,
    *,
    tests_from: str | None = None,
) -> tuple[list[KataGrade], Overlay | None]:
    """Grade the katas ``choose`` picks, in a temporary copy of ``root``; write the reports.

    With ``tests_from``, the catalog itself (points, test files) is read after the overlay, so
    nothing the learner changed outside their solution files counts.
    """
    overlay = None
    with tempfile.TemporaryDirectory(prefix="katas-grade-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(root, copy, ignore=COPY_IGNORE, symlinks=True)
        if tests_from:
            overlay = lay_upstream(root, gitops.resolve(root, tests_from), copy)
            overlay.ref = tests_from
        katas = choose(catalog.load(copy))
        grades = {(k.stage, k.name): KataGrade(k) for k in katas}
        junit = Path(tmp) / "junit.xml"
        command = [
            sys.executable, "-m", "pytest", *(str(k.path.relative_to(copy)) for k in katas),
            "-c", "pyproject.toml", "--rootdir", ".", "-p", "no:cacheprovider",
            "--require-services", f"--junitxml={junit}", "-q", "--tb=line",
        ]  # fmt: skip
        subprocess.run(command, cwd=copy, capture_output=True, text=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        if junit.is_file():
            read_junit(junit, grades)
            shutil.copy(junit, out_dir / "grade.xml")
    results = list(grades.values())
    write_reports(results, overlay, out_dir)
    return results, overlay


def classroom_json(results: list[KataGrade]) -> dict[str, Any]:
    tests = []
    for g in results:
        detail = f"{g.passed}/{len(g.outcomes)} tests passed"
        if g.status != "passed" and g.messages:
            detail += f"; first problem: {g.messages[0]}"
        tests.append(
            {
                "name": f"{g.kata.stage}/{g.kata.name}",
                "status": {"passed": "pass", "failed": "fail"}.get(g.status, "error"),
                "score": g.score,
                "max_score": g.kata.points,
                "message": f"{g.status}: {detail}",
                "filename": f"{g.kata.stage}/{g.kata.name}",
                "line_no": 0,
                "execution_time": "",
            }
        )
    everything_passed = all(g.status == "passed" for g in results)
    return {
        "version": 1,
        "status": "pass" if everything_passed else "fail",
        "max_score": sum(g.kata.points for g in results),
        "tests": tests,
    }


def markdown(results: list[KataGrade], overlay: Overlay | None) -> str:
    total = sum(g.score for g in results)
    maximum = sum(g.kata.points for g in results)
    lines = [f"# Grade: {total:g} / {maximum} points", ""]
    for stage in STAGES:
        rows = [g for g in results if g.kata.stage == stage]
        if not rows:
            continue
        lines += [
            f"## {stage}",
            "",
            "| kata | tests passed | points | status |",
            "|---|---:|---:|---|",
        ]
        for g in rows:
            lines.append(
                f"| {g.kata.name} | {g.passed}/{len(g.outcomes)} | {g.score:g} / {g.kata.points} "
                f"| {g.status} |"
            )
        lines.append("")
    if overlay is not None:
        lines += [f"## Files laid from `{overlay.ref}`", ""]
        if overlay.changes:
            lines += [f"- `{path}`: {change}" for path, change in sorted(overlay.changes.items())]
        else:
            lines.append("None differed: the tests graded are the upstream ones.")
        lines.append("")
    return "\n".join(lines)


def write_reports(results: list[KataGrade], overlay: Overlay | None, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = classroom_json(results)
    if overlay is not None:
        report["overlay"] = {"ref": overlay.ref, "changes": overlay.changes}
    (out_dir / "grade.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "grade.md").write_text(markdown(results, overlay), encoding="utf-8")
