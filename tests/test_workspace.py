"""Guarding the learner's work: refuse uncommitted changes unless forced, back up before writing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from katas.workspace import Backup, DirtyWorkspace, backup, guard


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout with one committed kata file."""
    root = tmp_path / "repo"
    (root / "stage1_core" / "double").mkdir(parents=True)
    (root / "stage1_core" / "double" / "solution.py").write_text("committed\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "learner@example.invalid")
    git(root, "config", "user.name", "Learner")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "snapshot")
    return root


def solution(root: Path) -> Path:
    return root / "stage1_core" / "double" / "solution.py"


def test_backup_copies_the_files_that_exist_and_returns_the_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.py").write_text("one\n")
    folder = backup(tmp_path, ["a/one.py", "a/gone.py"], "start")
    assert folder.parent == tmp_path / ".katas" / "backups"
    assert folder.name.endswith("-start")
    assert (folder / "a" / "one.py").read_text() == "one\n"
    assert not (folder / "a" / "gone.py").exists()


def test_a_clean_checkout_needs_no_backup(checkout: Path) -> None:
    assert guard(checkout, [solution(checkout)], False, "start", "stub") is None
    assert not (checkout / ".katas").exists()


def test_uncommitted_changes_raise_one_line_and_touch_nothing(checkout: Path) -> None:
    solution(checkout).write_text("mine\n")
    with pytest.raises(DirtyWorkspace) as info:
        guard(checkout, [solution(checkout)], False, "start", "stub")
    assert str(info.value) == (
        "uncommitted changes in stage1_core/double/solution.py; commit them first, or pass "
        "--force to stub anyway (your files are backed up to .katas/backups/ first)"
    )
    assert info.value.files == ["stage1_core/double/solution.py"]
    assert solution(checkout).read_text() == "mine\n"
    assert not (checkout / ".katas").exists(), "no backup without --force"


def test_force_backs_up_the_changed_files_first(checkout: Path) -> None:
    solution(checkout).write_text("mine\n")
    saved = guard(checkout, [solution(checkout)], True, "reset-double", "reset")
    assert isinstance(saved, Backup)
    assert saved.files == ("stage1_core/double/solution.py",)
    assert saved.folder.name.endswith("-reset-double")
    assert (saved.folder / "stage1_core" / "double" / "solution.py").read_text() == "mine\n"


def test_outside_git_every_file_is_backed_up(tmp_path: Path) -> None:
    (tmp_path / "solution.py").write_text("unknown\n")
    files = [tmp_path / "solution.py", tmp_path / "missing.py"]
    saved = guard(tmp_path, files, False, "start", "stub")
    assert saved is not None and saved.files == ("solution.py",)
    assert (saved.folder / "solution.py").read_text() == "unknown\n"
