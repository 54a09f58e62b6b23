"""The watch loop: re-run the current kata on every save, move on when it passes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from katas.catalog import Kata
from katas.progress import State, bar
from katas.runner import run_pytest


@dataclass(frozen=True)
class Outcome:
    passed: bool
    total: int
    failures: int
    first_failure: str  # "test_x: message" of the first failing test, or ""
    tasks_done: tuple[int, ...] = ()  # README tasks whose every test passes
    task_count: int = 0
    skipped: int = 0  # tests that did not run (a missing service): the kata is not done
    first_task: int | None = None  # the README task of the first failing test
    first_detail: str = ""  # its whole report: traceback, assertion, file and line


def run_tests(root: Path, kata: Kata, *pytest_args: str) -> Outcome:
    """Run one kata's tests quietly; report the count, the tasks done and the first failure."""
    run = run_pytest(root, [str(kata.path.relative_to(root))], "-q", "--tb=short", *pytest_args)
    tests = list(run.tests.values())
    failing = [t for t in tests if t.outcome in ("failed", "error")]
    first = f"{failing[0].id.rpartition('::')[2]}: {failing[0].message or '?'}" if failing else ""
    first_task = failing[0].task if failing else None
    first_detail = failing[0].detail if failing else ""
    skipped = [t for t in tests if t.outcome == "skipped"]
    if skipped and not failing:
        first = f"{skipped[0].id.rpartition('::')[2]} skipped: {skipped[0].message or '?'}"
    if not tests:
        tail = run.output.strip().splitlines()[-1:] or ["no output"]
        first = f"no test ran (pytest exit {run.returncode}): {tail[0]}"
    tasks: dict[int, bool] = {}
    for test in tests:
        if test.task is not None:
            tasks[test.task] = tasks.get(test.task, True) and test.outcome == "passed"
    done = sorted(task for task, ok in tasks.items() if ok)
    return Outcome(
        run.all_passed, len(tests), len(failing), first, tuple(done), len(tasks), len(skipped),
        first_task, first_detail,
    )  # fmt: skip


DETAIL_LINES = 40  # of the first failure's report shown under the verdict


def stage_progress(state: State, katas: list[Kata], current: Kata) -> str:
    in_stage = [k for k in katas if k.stage == current.stage]
    done = sum(state.is_done(k.name) for k in in_stage)
    return f"  {current.stage}: {bar(done, len(in_stage))} {done}/{len(in_stage)} katas done"


def watch_loop(
    root: Path,
    katas: list[Kata],
    current: Kata,
    changes: Iterable[set[Path]],
    emit: Callable[[str], None],
    run: Callable[[Path, Kata], Outcome] = run_tests,
    clear: Callable[[], None] = lambda: None,
) -> Kata | None:
    """Test ``current``, then again after each change inside it; on a pass move to the next
    pending kata. Returns the kata still pending when ``changes`` ends or the next kata is not
    started yet (None: every kata passed)."""
    state = State.load(root)
    pending: Kata | None = current
    changes_iter = iter(changes)
    while pending is not None:
        clear()  # a terminal is redrawn, not appended to
        emit(f"… running {pending.name}")
        outcome = run(root, pending)
        clear()
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
        if outcome.skipped and not outcome.failures:
            emit(f"✗ {pending.name}: {outcome.skipped} of {outcome.total} skipped, so not done yet")
        else:
            emit(f"✗ {pending.name}: {outcome.failures} of {outcome.total} failing")
        tasks = pending.tasks
        if outcome.first_task is not None and 1 <= outcome.first_task <= len(tasks):
            emit(f"  task {outcome.first_task}: {tasks[outcome.first_task - 1]}")
        emit(f"  {outcome.first_failure}")
        if outcome.task_count:
            done = ", ".join(map(str, outcome.tasks_done)) or "none yet"
            emit(f"  tasks done: {done} (of {outcome.task_count})")
        for line in outcome.first_detail.splitlines()[-DETAIL_LINES:]:
            emit(f"    {line}")
        emit(stage_progress(state, katas, pending))
        emit(f"  waiting for changes in {pending.path.relative_to(root)} … (Ctrl-C to stop)")
        for changed in changes_iter:
            if any(pending.path in p.parents for p in changed):
                break
        else:
            return pending
    return None
