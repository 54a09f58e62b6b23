"""Mutation testing: how many plausible mistakes in a kata's solution do its tests reject?

cosmic-ray makes each mutant (a flipped comparison, an off-by-one number, a dropped ``break``...)
of the kata's Python solution files; only mutants inside ``kata:`` regions count, since that is
the code a learner writes. Each mutant is written into a temporary copy of the repository and the
kata's tests run against it: a failing run kills it, a passing one lets it survive. A survivor is
a wrong solution the tests accept, unless it behaves exactly like the reference: such equivalent
mutants are listed in kata.toml (``[[mutate.equivalent]]``) with the reason, and left out.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from cosmic_ray.commands.init import init as cosmic_init
from cosmic_ray.mutating import mutate_and_test, mutate_code
from cosmic_ray.plugins import get_operator
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome, WorkItem, WorkResult

from katas.catalog import EquivalentMutant, Kata
from katas.check import COPY_IGNORE
from katas.markers import find_regions

Outcome = Literal["killed", "timeout", "survived", "equivalent", "not run"]
MIN_TIMEOUT = 20.0  # seconds a mutant's test run gets at least; a hang counts as killed


@dataclass(frozen=True)
class Mutant:
    file: str  # relative to the kata folder
    line: int
    source: str  # the original line, stripped
    operator: str
    mutant: str  # the line as mutated, stripped
    outcome: Outcome
    diff: str = ""
    reason: str = ""  # why it is equivalent, or why it did not run


@dataclass
class KataMutation:
    kata: Kata
    baseline_error: str = ""  # the unmutated tests must pass, or nothing is measured
    mutants: list[Mutant] = field(default_factory=list)
    unused_equivalents: list[EquivalentMutant] = field(default_factory=list)

    def count(self, *outcomes: Outcome) -> int:
        return sum(m.outcome in outcomes for m in self.mutants)

    @property
    def scored(self) -> int:
        return self.count("killed", "timeout", "survived")

    @property
    def score(self) -> float | None:
        """Killed over killed plus survived; None when nothing could be scored."""
        return self.count("killed", "timeout") / self.scored if self.scored else None

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if m.outcome == "survived"]


def region_lines(path: Path) -> set[int]:
    """1-based lines strictly inside the file's kata regions (the fences themselves excluded)."""
    return {n for r in find_regions(path) for n in range(r.begin + 1, r.end)}


def _inside(mutation: MutationSpec, lines: set[int]) -> bool:
    (first, _), (last, column) = mutation.start_pos, mutation.end_pos
    if column == 0 and last > first:  # a span ending at the start of a line ends on the one before
        last -= 1
    return all(n in lines for n in range(first, last + 1))


def _equivalent(kata: Kata, mutant: Mutant) -> EquivalentMutant | None:
    return next(
        (
            e
            for e in kata.equivalent_mutants
            if (e.file, e.line, e.operator) == (mutant.file, mutant.source, mutant.operator)
            and e.mutant in (None, mutant.mutant)
        ),
        None,
    )


def _mutated_line(path: Path, mutation: MutationSpec) -> str:
    """The mutant's version of its line, stripped, as ``[[mutate.equivalent]]`` may name it."""
    operator = get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
    try:
        code = mutate_code(path.read_text(encoding="utf-8"), operator, mutation.occurrence)
    except Exception:  # an operator that fails on some syntax: the test run reports it too
        return ""
    lines = (code or "").splitlines()
    line = mutation.start_pos[0]
    return lines[line - 1].strip() if line <= len(lines) else ""


def _test_command(copy: Path, kata: Kata, root: Path) -> list[str]:
    # env -C: cosmic-ray runs the command without a shell, and the copy must be the working
    # directory so that its harness and kata packages are the ones imported.
    # With -x the first failure ends the run: the quick tests go first, the fuzzing (contract)
    # files last, so most mutants cost a fraction of the whole suite.
    tests = sorted(
        kata.path.rglob("test_*.py"), key=lambda f: (f.name.startswith("test_contract"), f)
    )
    targets = [str(f.relative_to(root)) for f in tests] or [str(kata.path.relative_to(root))]
    return ["env", "-C", str(copy), sys.executable, "-m", "pytest", "-x", "-q",
            "-p", "no:cacheprovider", *targets]  # fmt: skip


def _mutation_items(db: WorkDB, files: list[Path]) -> Iterator[WorkItem]:
    cosmic_init(files, db, {})
    yield from db.work_items


@contextmanager
def _copy_of(root: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="katas-mutate-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(root, copy, ignore=COPY_IGNORE, symlinks=True)
        yield copy


def mutate_kata(
    root: Path, copy: Path, kata: Kata, progress: Callable[[str], None] = lambda _: None
) -> KataMutation:
    """Run every in-region mutant of ``kata`` against its tests, in ``copy`` (a copy of root)."""
    result = KataMutation(kata)
    command = _test_command(copy, kata, root)
    started = time.monotonic()
    baseline = subprocess.run(command, capture_output=True, text=True, check=False)
    if baseline.returncode != 0:
        tail = (baseline.stdout + baseline.stderr).strip().splitlines()[-1:] or ["no output"]
        result.baseline_error = f"the reference solution fails its tests: {tail[0]}"
        return result
    timeout = max(MIN_TIMEOUT, 3 * (time.monotonic() - started) + 10)
    folder = copy / kata.path.relative_to(root)
    files = [f for f in sorted(folder.rglob("*.py")) if not f.name.startswith("test_")]
    files = [f for f in files if find_regions(f)]
    inside = {f: region_lines(f) for f in files}
    used: set[EquivalentMutant] = set()
    with tempfile.TemporaryDirectory(prefix="katas-mutants-") as tmp:
        with use_db(str(Path(tmp) / "session.sqlite")) as db:
            items = [i for i in _mutation_items(db, files) if len(i.mutations) == 1]
        for number, item in enumerate(items, 1):
            mutation = item.mutations[0]
            path = Path(mutation.module_path)
            if not _inside(mutation, inside[path]):
                continue
            line = mutation.start_pos[0]
            source = path.read_text(encoding="utf-8").splitlines()[line - 1].strip()
            relative = str(path.relative_to(folder))
            mutated = _mutated_line(path, mutation)
            base = Mutant(relative, line, source, mutation.operator_name, mutated, "not run")
            if same := _equivalent(kata, base):
                used.add(same)
                result.mutants.append(replace(base, outcome="equivalent", reason=same.reason))
                continue
            progress(f"{kata.name}: mutant {number}/{len(items)} {relative}:{line}")
            run = mutate_and_test(item.mutations, shlex.join(command), timeout)
            outcome, diff, reason = _outcome(run)
            result.mutants.append(replace(base, outcome=outcome, diff=diff, reason=reason))
    result.unused_equivalents = [e for e in kata.equivalent_mutants if e not in used]
    return result


def _outcome(run: WorkResult) -> tuple[Outcome, str, str]:
    """(outcome, diff, reason) of one mutant's test run."""
    diff = run.diff or ""
    if run.worker_outcome != WorkerOutcome.NORMAL:
        output = (run.output or str(run.worker_outcome)).strip().splitlines()
        return "not run", diff, output[-1] if output else str(run.worker_outcome)
    if run.test_outcome == TestOutcome.SURVIVED:
        return "survived", diff, ""
    return ("timeout" if run.output == "timeout" else "killed"), diff, ""


def mutate(
    root: Path, katas: list[Kata], progress: Callable[[str], None] = lambda _: None
) -> list[KataMutation]:
    """Mutation-test each kata in one temporary copy of ``root``; the working tree is untouched."""
    with _copy_of(root) as copy:
        return [mutate_kata(root, copy, kata, progress) for kata in katas]


def report(results: list[KataMutation], minimum: float) -> str:
    """A Markdown report: the score table, then every survivor with its diff."""
    lines = [
        "# Mutation scores",
        "",
        f"Killed / (killed + survived) over the mutants inside `kata:` regions; target {minimum:.0%}.",
        "",
        "| kata | mutants | killed | survived | equivalent | not run | score |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    killed = scored = 0
    for r in results:
        score = "baseline fails" if r.baseline_error else (
            "-" if r.score is None else f"{r.score:.0%}"
        )  # fmt: skip
        lines.append(
            f"| {r.kata.name} | {len(r.mutants)} | {r.count('killed', 'timeout')} | "
            f"{r.count('survived')} | {r.count('equivalent')} | {r.count('not run')} | {score} |"
        )
        killed += r.count("killed", "timeout")
        scored += r.scored
    total = f"{killed / scored:.1%}" if scored else "-"
    lines += [f"| **total** | | {killed} | {scored - killed} | | | **{total}** |", ""]
    for r in results:
        if r.baseline_error:
            lines += [f"## {r.kata.name}", "", r.baseline_error, ""]
        if not r.survivors and not r.unused_equivalents:
            continue
        lines += [f"## {r.kata.name}: {len(r.survivors)} survivor(s)", ""]
        for m in r.survivors:
            lines += [
                f"- `{m.file}:{m.line}` {m.operator}: `{m.mutant}`",
                "",
                "```diff",
                m.diff.strip(),
                "```",
                "",
            ]
        for e in r.unused_equivalents:
            lines.append(
                f"- kata.toml lists an equivalent mutant no longer made: {e.file} `{e.line}`"
            )
        lines.append("")
    return "\n".join(lines)
