"""The student edition: one commit, stubs in place, no answer anywhere in its history."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from typer.testing import CliRunner

from katas import catalog
from katas.cli import app
from katas.markers import TODO_TAG, comment_prefix, find_regions, stub_text
from katas.progress import State
from katas.release import AUTHOR, MARKER, ReleaseError, ReleaseResult, is_release, release
from katas.watch import Outcome, watch_loop

from .conftest import REPO, FakeRepo

runner = CliRunner()

SOLUTION = """\
def double(n: int) -> int:
    # kata: begin return twice n
    shifted_left_once = n << 1
    return shifted_left_once
    # kata: end
"""
ANSWER = ("shifted_left_once", "n << 1")
UNTRACKED, UNCOMMITTED = "notes never added to git", "an edit never committed"
HIDDEN_TEST = (
    "from .solution import double\n\n\ndef test_zero() -> None:\n    assert double(0) == 0\n"
)
STUB = stub_text(Path("solution.py"), SOLUTION)


def katas(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def every_blob(repo: Path) -> dict[str, str]:
    """Every file of every commit of ``repo``, as ``<commit>:<path>`` -> text."""
    found: dict[str, str] = {}
    oids: dict[str, str] = {}
    for commit in git(repo, "rev-list", "--all").split():
        for entry in git(repo, "ls-tree", "-r", "-z", commit).split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                oids[f"{commit[:12]}:{path}"] = meta.split()[2]
    batch = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input="".join(f"{oid}\n" for oid in oids.values()).encode(),
        check=True,
        capture_output=True,
    ).stdout
    offset = 0
    for name in oids:
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split()[2])
        found[name] = batch[header_end + 1 : header_end + 1 + size].decode(errors="replace")
        offset = header_end + 1 + size + 1
    return found


@pytest.fixture
def source(fake_repo: FakeRepo) -> FakeRepo:
    """A kata with a hidden test and a symlink, committed; then uncommitted work on top."""
    folder = fake_repo.add_kata("double", solution=SOLUTION)
    (folder / "test_heldback_double.py").write_text(HIDDEN_TEST)
    (folder / "alias.py").symlink_to("solution.py")
    fake_repo.commit_all()
    (folder / "notes.py").write_text(f"NOTES = {UNTRACKED!r}\n")
    (folder / "solution.py").write_text(f"{SOLUTION}# {UNCOMMITTED}\n")
    return fake_repo


@pytest.fixture
def student(source: FakeRepo, tmp_path: Path) -> ReleaseResult:
    return release(source.root, "HEAD", tmp_path / "student")


def test_release_is_one_commit_with_stubs_and_no_answer(
    source: FakeRepo, student: ReleaseResult
) -> None:
    out = student.out
    assert git(out, "rev-list", "--all").split() == [student.commit]
    assert student.source == git(source.root, "rev-parse", "HEAD").strip()
    kata = "stage1_core/double"
    assert student.stubbed == (f"{kata}/solution.py",)
    assert student.held_back == (f"{kata}/test_heldback_double.py",)
    assert student.skipped == (f"{kata}/alias.py",), "a symlink is not followed"
    tracked = set(git(out, "ls-tree", "-r", "--name-only", "HEAD").split())
    assert tracked == set(student.files)
    assert MARKER in tracked and f"{kata}/test_solution.py" in tracked
    assert f"{kata}/notes.py" not in tracked, "an untracked file is not released"
    assert f"{kata}/test_heldback_double.py" not in tracked
    assert f"{kata}/alias.py" not in tracked
    assert (out / kata / "solution.py").read_text() == STUB, "the committed text, stubbed"
    for name, text in every_blob(out).items():
        for secret in (*ANSWER, UNTRACKED, UNCOMMITTED, "assert double(0) == 0"):
            assert secret not in text, f"{secret!r} leaked into {name}"
    assert git(out, "status", "--porcelain") == "", "everything written is committed"


def test_the_marker_names_the_source_and_makes_a_release(
    source: FakeRepo, student: ReleaseResult
) -> None:
    marker = tomllib.loads((student.out / MARKER).read_text())
    assert marker == {"source": student.source, "kind": "student edition"}
    assert is_release(student.out) and not is_release(source.root)


def test_the_commit_identity_is_neutral_without_any_git_identity(
    source: FakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Whoever Runs It")
    made = release(source.root, "HEAD", tmp_path / "student")
    who = git(made.out, "log", "-1", "--format=%an <%ae>|%cn <%ce>")
    assert who.strip() == "|".join([f"{AUTHOR[0]} <{AUTHOR[1]}>"] * 2)


def test_release_refuses_a_folder_that_is_not_empty(source: FakeRepo, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine\n")
    with pytest.raises(ReleaseError, match="not an empty folder"):
        release(source.root, "HEAD", tmp_path / "taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    code, output = katas("release", str(tmp_path / "taken"))
    assert code == 2 and len(output.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert release(source.root, "HEAD", tmp_path / "empty").stubbed


def test_release_command_says_what_it_wrote_and_how_to_use_it(
    source: FakeRepo, tmp_path: Path
) -> None:
    code, output = katas("release", str(tmp_path / "student"), "--ref", "HEAD")
    assert code == 0, output
    assert "stubbed: stage1_core/double/solution.py" in output
    assert "held back: stage1_core/double/test_heldback_double.py" in output
    assert "skipped (a symlink or submodule, not followed): stage1_core/double/alias.py" in output
    assert "not in it" in output, "uncommitted work here is called out"
    assert "GitHub Classroom template repository" in output
    assert katas("release", str(tmp_path / "other"), "--ref", "no-such-ref")[0] == 2


def test_in_a_release_every_kata_is_an_exercise_without_a_solution(
    student: ReleaseResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = student.out
    monkeypatch.chdir(out)
    code, output = katas("solution", "double")
    assert code == 2 and "student edition" in output and "no reference solutions" in output
    assert not any(secret in output for secret in ANSWER)
    assert katas("solution", "double", "--apply")[0] == 2
    code, output = katas("start", "double")
    assert code == 0 and "already an exercise" in output
    assert katas("start", "--all")[0] == 0
    assert katas("start", "no_such_kata")[0] == 2
    assert git(out, "status", "--porcelain") == "", "start changed nothing"
    assert "double" in State.load(out).started
    code, output = katas("next")
    assert code == 0 and "next: double" in output and "katas start" not in output
    assert "0/1" in katas("progress")[1]


def test_reset_in_a_release_puts_back_the_first_commits_stub(
    student: ReleaseResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = student.out
    monkeypatch.chdir(out)
    solution = out / "stage1_core" / "double" / "solution.py"
    solution.write_text("def double(n: int) -> int:\n    return n + n\n")
    code, output = katas("reset", "double")
    assert code == 2 and "uncommitted changes" in output, "the usual guard"
    identity = ("-c", "user.name=Learner", "-c", "user.email=learner@example.invalid")
    git(out, *identity, "commit", "-qam", "my attempt")
    code, output = katas("reset", "double")
    assert code == 0, output
    assert solution.read_text() == STUB
    solution.write_text("def double(n: int) -> int:\n    return 2 * n\n")
    assert katas("reset", "double", "--force")[0] == 0
    assert solution.read_text() == STUB
    assert list((out / ".katas" / "backups").iterdir()), "forced work is backed up first"


def test_a_release_of_a_release_has_no_regions_and_a_fresh_marker(
    student: ReleaseResult, tmp_path: Path
) -> None:
    again = release(student.out, "HEAD", tmp_path / "again")
    assert again.stubbed == () and again.source == student.commit
    assert f'source = "{student.commit}"' in (again.out / MARKER).read_text()


def test_applying_the_solution_is_not_progress(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata("double")
    fake_repo.add_kata("twice")
    fake_repo.commit_all()
    katas("start", "--all")
    fake_repo.git("commit", "-qam", "start")
    (fake_repo.root / "stage1_core" / "double" / "solution.py").write_text(
        "def double(n: int) -> int:\n    return n + n\n"
    )
    assert katas("run", "double")[0] == 0
    fake_repo.git("commit", "-qam", "solved double")
    assert "1/2" in katas("progress")[1]

    code, output = katas("solution", "double", "--apply")
    assert code == 0 and "no longer counts as done" in output
    state = State.load(fake_repo.root)
    assert "double" in state.solution_applied and not state.is_done("double")
    assert katas("run", "double")[0] == 0, "the reference solution passes..."
    code, output = katas("progress")
    assert "0/2" in output and "revealed: 1" in output, "...but earns nothing"
    code, output = katas("next")
    assert "next: double" in output and "katas start double" in output

    # watch moves past a passing kata and stops at the revealed one instead of looping on it
    root = fake_repo.root
    all_katas = catalog.load(root)
    lines: list[str] = []
    passing = Outcome(passed=True, total=2, failures=0, first_failure="")
    twice = all_katas[1]
    left = watch_loop(root, all_katas, twice, iter([]), lines.append, lambda *_: passing)
    assert left == all_katas[0]
    assert any("katas start double" in line for line in lines)

    assert katas("reset", "double", "--force")[0] == 0
    state = State.load(root)
    assert "double" in state.started and "double" not in state.solution_applied
    assert "revealed" not in katas("progress")[1]


def test_an_old_progress_file_still_loads(fake_repo: FakeRepo) -> None:
    path = State.path(fake_repo.root)
    path.parent.mkdir()
    old = {"started": {"double": "2024-01-01T00:00:00+00:00"}, "passed": {}, "hints_shown": {}}
    path.write_text(json.dumps(old))
    state = State.load(fake_repo.root)
    assert state.started == old["started"] and state.solution_applied == {}
    state.save(fake_repo.root)
    assert json.loads(path.read_text())["solution_applied"] == {}


# ---- the real repository ----------------------------------------------------------------------

# Harness files whose 'kata:' fences are examples inside strings (docstrings, test fixtures), not
# solution regions; the release leaves them alone, and the test below asserts exactly that.
HARNESS = ("katas/", "tests/")
# A body line shorter than 25 characters that is only structure: punctuation and brackets, a bare
# keyword, an except clause, a plain decorator, `return name`, a call or literal opened on one line
# and filled on the next, a lone argument, a field annotation, or a signature's closing line.
# A line of 25 characters or more is never treated as generic.
GENERIC = re.compile(
    r"""^(?:
        [\W_]*
      | pass | \.\.\. | else: | try: | finally: | return | break | continue | yield | raise
      | except (\ [\w.(), ]+? (\ as\ \w+)? )? :
      | @\w+
      | (return | yield) \ [\w.]+
      | (return\ | yield\ | await\ | [\w.]+\ =\ )? [\w.]* [(\[{]
      | [\w.]+ ,
      | \w+ :\ [\w.\[\], |]+
      | \) \ ->\ [\w.\[\], |]+ :
    )$""",
    re.X,
)
PROSE = (".md", ".toml", ".txt", ".rst")


def _without_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def _answer_lines(text: str, begin: int, end: int) -> list[str]:
    body = (_without_comment(line) for line in text.splitlines()[begin : end - 1])
    return [line for line in body if line and not (len(line) < 25 and GENERIC.match(line))]


def _without_tasks(text: str) -> str:
    """A blob without the stubs' own TODO lines: a task is the exercise's statement, by design."""
    kept, after_todo = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if TODO_TAG in stripped:
            after_todo = True
            continue
        if not (after_todo and stripped.startswith("raise NotImplementedError(")):
            kept.append(line)
        after_todo = False
    return "\n".join(kept)


def _decoded(name: str, text: str) -> str:
    """A TOML blob plus its decoded strings: an escaped quote must not hide an answer line."""
    if not name.endswith(".toml"):
        return text
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return text
    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return "\n".join([text, *strings])


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> ReleaseResult:
    return release(REPO, "HEAD", tmp_path_factory.mktemp("edition") / "student")


def test_no_answer_line_of_the_real_repository_is_anywhere_in_its_release(
    real: ReleaseResult,
) -> None:
    """Every solution region's answer lines, checked against every blob of every commit.

    Checked: each region body line, stripped, unless it is blank or GENERIC, or the source hands
    it out anyway as code: a whole line (its trailing comment aside) outside every region of a
    code file (the naive version beside a region, another kata's given code, a test's oracle).
    A line of 25+ characters must not occur anywhere, even inside a longer line (though not as
    the tail of a longer name); a shorter one must not occur as a whole line. Every region with a line of 25+ characters keeps at least one such line
    to check, so none is waved through as given code.
    """
    paths = git(REPO, "ls-tree", "-r", "--name-only", real.source).splitlines()
    texts: dict[str, str] = {}
    for path in paths:
        try:
            texts[path] = git(REPO, "show", f"{real.source}:{path}")
        except (subprocess.CalledProcessError, UnicodeDecodeError):
            continue
    regions = {path: find_regions(Path(path), text) for path, text in texts.items()}
    exercises = {p for p, found in regions.items() if found and not p.startswith(HARNESS)}
    assert set(real.stubbed) == exercises, "exactly the katas' files with regions are stubbed"
    for path in {p for p, found in regions.items() if found} - exercises:
        assert (real.out / path).read_text() == texts[path], f"{path}: examples stay as they are"

    given: set[str] = set()
    for path, text in texts.items():
        suffix = PurePosixPath(path).suffix
        if comment_prefix(Path(path)) and suffix not in PROSE and path not in real.held_back:
            inside = {n for r in regions[path] for n in range(r.begin, r.end + 1)}
            numbered = enumerate(text.splitlines(), 1)
            given |= {_without_comment(line) for n, line in numbered if n not in inside}

    blobs = {
        name: _without_tasks(_decoded(name, text)) for name, text in every_blob(real.out).items()
    }
    whole_lines = {
        name: {line.strip() for line in text.splitlines()} for name, text in blobs.items()
    }
    problems = []
    for path in sorted(exercises):
        for region in regions[path]:
            lines = _answer_lines(texts[path], region.begin, region.end)
            secret = [
                line
                for line in lines
                if line not in given
                and not (line[-1] in "([{" and any(g.startswith(line) for g in given))
            ]
            if any(len(line) >= 25 for line in lines) and not any(len(s) >= 25 for s in secret):
                problems.append(f"{path}:{region.begin}: every long line is given code elsewhere")
            for line in secret:
                # not inside a longer name: 'status: int' is not in 'exit_status: int'
                pattern = re.compile(rf"(?<![\w.]){re.escape(line)}(?!\w)")
                for name in blobs:
                    long_hit = len(line) >= 25 and pattern.search(blobs[name])
                    if long_hit or line in whole_lines[name]:
                        problems.append(f"{path}:{region.begin}: {line!r} is in {name}")
    assert not problems, f"{len(problems)} answer line(s) leak:\n" + "\n".join(problems)


def test_the_real_release_lists_and_collects(
    real: ReleaseResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(real.out)
    code, output = katas("list")
    assert code == 0, output
    assert f"{len(catalog.load(real.out))} katas" in output
    env = {key: value for key, value in os.environ.items() if not key.startswith("KATAS_")}
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=real.out,
        env=env,
        capture_output=True,
        text=True,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "error" not in collected.stdout.splitlines()[-1]
