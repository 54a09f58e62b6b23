"""Fixtures for the harness's own tests: a throwaway backend-katas checkout to break at will."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

GOOD_SOLUTION = """\
def double(n: int) -> int:
    # kata: begin return twice n
    return 2 * n
    # kata: end
"""

GOOD_TEST = """\
import pytest

from .solution import double

pytestmark = pytest.mark.task(1)


def test_double() -> None:
    assert double(21) == 42


def test_double_negative() -> None:
    assert double(-2) == -4
"""

KATA_TOML = """\
title = "Double it"
covers = ["s1-decorators"]
level = "junior"
services = []
points = 10
hints = ["multiply by two", "return 2 * n"]
"""


class FakeRepo:
    """A minimal checkout: the real harness, one stage, katas written on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(
            REPO / "katas", root / "katas", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        (root / "stage1_core").mkdir()
        (root / "stage1_core" / "__init__.py").write_text("")
        self.slugs: list[str] = []
        self.write_manifest()

    def write_manifest(self) -> None:
        listed = ", ".join(f'"{slug}"' for slug in self.slugs)
        (self.root / "stage1_core" / "stage.toml").write_text(
            f'title = "core"\nkatas = [{listed}]\n'
        )

    def add_kata(
        self,
        slug: str = "double",
        *,
        toml: str = KATA_TOML,
        solution: str = GOOD_SOLUTION,
        test: str | None = GOOD_TEST,
        readme: bool = True,
    ) -> Path:
        folder = self.root / "stage1_core" / slug
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        (folder / "kata.toml").write_text(toml)
        (folder / "solution.py").write_text(solution)
        if test is not None:
            (folder / "test_solution.py").write_text(test)
        if readme:
            (folder / "README.md").write_text(f"# {slug}\n\n## Tasks\n\n1. Return twice n.\n")
        self.slugs.append(slug)
        self.write_manifest()
        return folder

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout

    def commit_all(self) -> None:
        if not (self.root / ".git").exists():
            self.git("init", "-q", "-b", "main")
            self.git("config", "user.email", "learner@example.invalid")
            self.git("config", "user.name", "Learner")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "snapshot")


@pytest.fixture
def fake_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeRepo:
    repo = FakeRepo(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    return repo
