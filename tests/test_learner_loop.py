"""The learner loop on a throwaway fork: start, run, watch, progress, next, hint, reset, solution."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from katas import catalog
from katas.cli import app
from katas.progress import State
from katas.watch import Outcome, run_tests, watch_loop

from .conftest import GOOD_SOLUTION, FakeRepo

runner = CliRunner()
README = (
    "# double\n\n## Tasks\n\n1. Return twice `n`,\n   for any int.\n2. Nothing else.\n\n## Run it\n"
)


def katas(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def two_katas(repo: FakeRepo) -> tuple[Path, Path]:
    first, second = repo.add_kata("double"), repo.add_kata("twice")
    (first / "README.md").write_text(README)
    repo.commit_all()
    return first, second


def test_progress_moves_as_katas_pass(fake_repo: FakeRepo) -> None:
    first, _ = two_katas(fake_repo)
    assert "0/2" in katas("progress")[1]
    katas("start", "double")
    assert katas("run", "double")[0] == 1
    (first / "solution.py").write_text("def double(n: int) -> int:\n    return n + n\n")
    assert katas("run", "double")[0] == 0
    code, output = katas("progress")
    assert code == 0 and "1/2" in output and "next: twice" in output
    assert State.load(fake_repo.root).is_done("double")


def test_a_reference_solution_passing_is_not_progress(fake_repo: FakeRepo) -> None:
    two_katas(fake_repo)
    assert katas("run", "double")[0] == 0
    assert "0/2" in katas("progress")[1], "only a started kata counts as done"


def test_next_names_the_readme_and_first_task(fake_repo: FakeRepo) -> None:
    two_katas(fake_repo)
    code, output = katas("next")
    assert code == 0
    assert "read: stage1_core/double/README.md" in output
    assert "task 1: Return twice `n`, for any int." in output
    assert "katas start double" in output


def test_hints_are_revealed_one_at_a_time(fake_repo: FakeRepo) -> None:
    two_katas(fake_repo)
    assert katas("hint", "double")[1] == "hint 1/2: multiply by two\n"
    assert katas("hint", "double")[1] == "hint 2/2: return 2 * n\n"
    assert katas("hint", "double")[1] == "hint 2/2: return 2 * n\n", "stays on the last"


def test_watch_reruns_on_change_and_moves_on(fake_repo: FakeRepo) -> None:
    first, _ = two_katas(fake_repo)
    katas("start", "stage1")
    root = fake_repo.root
    all_katas = catalog.load(root)
    lines: list[str] = []

    def saves() -> object:
        yield {root / "elsewhere.py"}  # not in the kata: ignored
        (first / "solution.py").write_text("def double(n: int) -> int:\n    return 2 * n\n")
        yield {first / "solution.py"}

    left = watch_loop(root, all_katas, all_katas[0], saves(), lines.append)  # type: ignore[arg-type]
    assert left is not None and left.name == "twice", "stopped on the next kata, still a stub"
    assert lines[:3] == [
        "… running double", "✗ double: 2 of 2 failing", "  task 1: Return twice `n`, for any int."
    ]  # fmt: skip
    assert "NotImplementedError: return twice n" in lines[3]
    assert "  stage1_core: ░░░░░░░░░░░░░░░░░░░░ 0/2 katas done" in lines
    assert "✓ double: all 2 tests pass" in lines
    assert any(line.startswith("✗ twice") for line in lines), "the next kata is run at once"
    assert State.load(root).is_done("double") and not State.load(root).is_done("twice")


def test_watch_loop_stops_before_an_unstarted_kata(fake_repo: FakeRepo) -> None:
    two_katas(fake_repo)
    katas("start", "double")
    root = fake_repo.root
    (root / "stage1_core" / "double" / "solution.py").write_text(GOOD_SOLUTION)
    lines: list[str] = []
    all_katas = catalog.load(root)
    left = watch_loop(root, all_katas, all_katas[0], iter(()), lines.append)
    assert left is not None and left.name == "twice"
    assert "katas start twice" in lines[-1]


def test_watch_refuses_a_kata_not_started(fake_repo: FakeRepo) -> None:
    two_katas(fake_repo)
    code, output = katas("watch", "double")
    assert code == 2 and "run 'katas start double' first" in output


def test_watch_loop_reports_when_every_kata_passes(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata("double")
    root = fake_repo.root
    lines: list[str] = []
    ok = Outcome(passed=True, total=2, failures=0, first_failure="")
    kata = catalog.load(root)[0]
    assert watch_loop(root, [kata], kata, iter(()), lines.append, run=lambda r, k: ok) is None
    assert lines == ["… running double", "✓ double: all 2 tests pass", "🎉 every kata passes"]


def test_watch_shows_a_syntax_error_with_its_file_and_line_and_redraws(
    fake_repo: FakeRepo,
) -> None:
    folder = fake_repo.add_kata("double")
    fake_repo.commit_all()
    katas("start", "double")
    (folder / "solution.py").write_text("def double(n: int) -> int:\n    return 2 * n)\n")
    lines: list[str] = []
    clears: list[None] = []
    kata = catalog.load(fake_repo.root)[0]
    watch_loop(
        fake_repo.root, [kata], kata, iter(()), lines.append, clear=lambda: clears.append(None)
    )
    text = "\n".join(lines)
    assert 'solution.py", line 2' in text and "SyntaxError: unmatched ')'" in text, text
    assert len(clears) == 2, "cleared before the run and before its verdict"


def test_reset_puts_the_stub_back_and_keeps_unsaved_work(fake_repo: FakeRepo) -> None:
    first, _ = two_katas(fake_repo)
    katas("start", "double")
    fake_repo.commit_all()
    mine = "def double(n: int) -> int:\n    return n << 1  # my work\n"
    (first / "solution.py").write_text(mine)
    code, output = katas("reset", "double")
    assert code == 2 and "uncommitted changes in stage1_core/double/solution.py" in output
    assert (first / "solution.py").read_text() == mine, "refused: nothing touched"
    code, output = katas("reset", "double", "--force")
    assert code == 0 and "back to the stub" in output
    assert "raise NotImplementedError('return twice n')" in (first / "solution.py").read_text()
    [saved] = (fake_repo.root / ".katas" / "backups").glob("*/stage1_core/double/solution.py")
    assert saved.read_text() == mine, "the learner's work is in the backup"


def test_solution_shows_and_applies_the_reference(fake_repo: FakeRepo) -> None:
    first, _ = two_katas(fake_repo)
    katas("start", "double")
    code, output = katas("solution", "double")
    assert code == 0 and "return 2 * n" in output
    code, output = katas("solution", "double", "--apply")
    assert code == 2 and "uncommitted changes" in output, "the stub is unsaved work: refuse"
    fake_repo.commit_all()
    assert katas("solution", "double", "--apply")[0] == 0
    assert (first / "solution.py").read_text() == GOOD_SOLUTION


def test_solution_without_history_says_how_to_get_it(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata("double")
    code, output = katas("solution", "double")
    assert code == 2 and "no committed reference solution found for double" in output


def test_commands_work_from_a_subfolder(fake_repo: FakeRepo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first, _ = two_katas(fake_repo)
    monkeypatch.chdir(first)
    assert katas("hint", "twice", "1")[0] == 0


def test_a_corrupt_progress_file_is_named(fake_repo: FakeRepo) -> None:
    two_katas(fake_repo)
    state = State.path(fake_repo.root)
    state.parent.mkdir()
    state.write_text("{not json")
    code, output = katas("progress")
    assert code == 2 and ".katas/state.json: unreadable progress file" in output
    assert "delete it to start afresh" in output


SKIPPING_TEST = """\
import pytest

from .solution import double

pytestmark = pytest.mark.task(1)


def test_double() -> None:
    assert double(21) == 42


def test_double_against_redis() -> None:
    pytest.skip("redis unavailable (KATAS_REDIS_URL unset): set KATAS_REDIS_URL")
"""


def test_a_kata_with_skipped_tests_is_not_done(fake_repo: FakeRepo) -> None:
    folder = fake_repo.add_kata("double", test=SKIPPING_TEST)
    fake_repo.commit_all()
    katas("start", "double")
    (folder / "solution.py").write_text("def double(n: int) -> int:\n    return n + n\n")

    outcome = run_tests(fake_repo.root, catalog.load(fake_repo.root)[0])
    assert not outcome.passed and outcome.skipped == 1 and outcome.failures == 0
    assert "skipped: redis unavailable" in outcome.first_failure

    code, output = katas("run", "double")
    assert code == 0, "pytest's own exit code: a skip is not a failure to pytest"
    assert "1 test(s) skipped, so it is not done yet: redis unavailable" in output
    assert not State.load(fake_repo.root).is_done("double")

    lines: list[str] = []
    watch_loop(
        fake_repo.root,
        catalog.load(fake_repo.root),
        catalog.load(fake_repo.root)[0],
        [],
        lines.append,
    )
    assert "✗ double: 1 of 2 skipped, so not done yet" in lines
    assert not State.load(fake_repo.root).is_done("double")
