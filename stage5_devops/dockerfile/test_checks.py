"""Every check of dockerfile_checks.py, proven on a Dockerfile that has its flaw, then on yours.

A check that finds nothing on the article's Dockerfile would pass anything: each must first
report the flaw it is named after. The article got two things right (the dependency layer before
the code, an exec-form CMD); those two checks are proven on the article with the mistake added.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import KATA
from .dockerfile_checks import CHECKS, Dockerfile

ARTICLE = KATA / "Dockerfile.article"
YOURS = KATA / "Dockerfile"
# The article with one mistake it did not make, for the checks it passes.
MISTAKES = {
    "code-before-dependencies": ("COPY requirements.txt .", "COPY . ."),
    "shell-form": (
        'CMD ["gunicorn", "-k uvicorn.workers.UvicornWorker", "app:app"]',
        "CMD gunicorn -k uvicorn.workers.UvicornWorker app:app",
    ),
}


def flawed(name: str, folder: Path) -> Path:
    """The article's Dockerfile, or a copy of it with the mistake ``name`` checks for."""
    if name not in MISTAKES:
        return ARTICLE
    old, new = MISTAKES[name]
    text = ARTICLE.read_text()
    assert old in text
    copy = folder / "Dockerfile.article"
    copy.write_text(text.replace(old, new))
    return copy


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.task(c.task)) for name, c in CHECKS.items()]
)
def test_the_check_finds_the_flaw_and_your_dockerfile_has_none(name: str, tmp_path: Path) -> None:
    check = CHECKS[name]
    assert check.find(Dockerfile.read(flawed(name, tmp_path))), f"{name} finds no {check.flaw}"
    assert check.find(Dockerfile.read(YOURS)) is None


def hadolint(path: Path) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "hadolint"), "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found: list[dict[str, object]] = json.loads(done.stdout or "[]")
    return done.returncode, found


@pytest.mark.task(4)
def test_hadolint_passes_yours_and_sees_one_flaw_of_the_article() -> None:
    # hadolint is right about the article, and blind to everything else the checks find.
    code, found = hadolint(ARTICLE)
    assert (code, [f["code"] for f in found]) == (1, ["DL3045"])
    assert hadolint(YOURS) == (0, [])
    # It passes an empty Dockerfile too: the stages it checked must be there.
    stages = Dockerfile.read(YOURS).stages
    assert len(stages) >= 2 and all(len(stage) > 2 for stage in stages)
