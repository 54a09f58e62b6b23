"""Chinese and English READMEs stay in step: same tasks, same code, same links into the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from katas import catalog

from .conftest import REPO

ZH = "README.zh-CN.md"
TASK_HEADINGS = {"README.md": "Tasks", ZH: "任务"}
FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```[ \t]*$", re.M | re.S)
LINK = re.compile(r"\]\(\s*([^)\s]+)")
LANGUAGE_LINKS = {"README.md", ZH}


def numbered_tasks(text: str, heading: str) -> list[str]:
    section = re.search(rf"^## {heading}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return re.findall(r"^(\d+)\.\s", section.group(1), re.M) if section else []


def code_blocks(text: str) -> list[str]:
    return [block.strip() for block in FENCE.findall(text)]


def repository_links(text: str) -> set[str]:
    """Links to files of the repository (not the web, not anchors, not the language switch)."""
    without_code = FENCE.sub("", text)
    targets = {t.split("#")[0] for t in LINK.findall(without_code)}
    return {
        t
        for t in targets
        if t and "://" not in t and not t.startswith("mailto:") and t not in LANGUAGE_LINKS
    }


def translated() -> list[Path]:
    """Every English README that has a Chinese edition beside it."""
    return sorted(
        p for p in REPO.rglob("README.md") if (p.parent / ZH).is_file() and ".nox" not in p.parts
    )


@pytest.mark.parametrize("english", translated(), ids=lambda p: str(p.parent.relative_to(REPO)))
def test_the_chinese_edition_matches_the_english_one(english: Path) -> None:
    chinese = english.parent / ZH
    en, zh = english.read_text(encoding="utf-8"), chinese.read_text(encoding="utf-8")
    assert f"]({ZH})" in en, f"{english}: link the Chinese edition: [中文]({ZH})"
    assert "](README.md)" in zh, f"{chinese}: link the English edition: [English](README.md)"
    en_tasks, zh_tasks = numbered_tasks(en, "Tasks"), numbered_tasks(zh, "任务")
    assert en_tasks == zh_tasks, f"{chinese}: '## 任务' must number the same tasks as '## Tasks'"
    assert code_blocks(en) == code_blocks(zh), f"{chinese}: code blocks differ from {english.name}"
    assert repository_links(en) == repository_links(zh), (
        f"{chinese}: links into the repository differ from {english.name}"
    )


def test_every_readme_has_its_chinese_edition() -> None:
    katas = catalog.load(REPO)
    stages = sorted({REPO / k.stage / "README.md" for k in katas})
    readmes = [REPO / "README.md", *stages, *(k.readme for k in katas)]
    missing = [str(p.relative_to(REPO)) for p in readmes if not (p.parent / ZH).is_file()]
    assert not missing, f"write {ZH} beside: {', '.join(missing)}"
    assert not [p for p in stages if not p.is_file()], "every stage folder has a README.md"


def test_the_drift_checks_can_fail() -> None:
    en = "# T\n\n## Tasks\n\n1. a\n2. b\n\n```bash\nkatas run x\n```\n\nSee [code](x.py).\n"
    zh = "# T\n\n## 任务\n\n1. 甲\n\n```bash\nkatas run y\n```\n\n见 [代码](y.py)。\n"
    assert numbered_tasks(en, "Tasks") == ["1", "2"] and numbered_tasks(zh, "任务") == ["1"]
    assert code_blocks(en) != code_blocks(zh)
    assert repository_links(en) == {"x.py"} and repository_links(zh) == {"y.py"}
