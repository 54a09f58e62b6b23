"""The real repository: its catalog is valid, the syllabus is covered, the README links every kata."""

from __future__ import annotations

import re

import yaml

from katas import catalog

from .conftest import REPO

STAGE1_IDS = {bullet for bullet, b in catalog.syllabus().items() if b.stage == "stage1_core"}


def test_catalog_loads_and_covers_stage1() -> None:
    katas = catalog.load(REPO)
    covered = catalog.coverage(katas)
    missing = sorted(bullet for bullet in STAGE1_IDS if not covered[bullet])
    assert len(STAGE1_IDS) == 11
    assert missing == [], f"stage 1 ids with no kata: {missing}"


def test_readme_links_every_kata() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    unlinked = [k.name for k in catalog.load(REPO) if f"({k.stage}/{k.name}/)" not in readme]
    assert unlinked == [], f"add these katas to the README's stage map: {unlinked}"


def test_each_kata_readme_quotes_its_article_bullets() -> None:
    syllabus = catalog.syllabus()
    for kata in catalog.load(REPO):
        text = kata.readme.read_text(encoding="utf-8")
        for bullet in kata.covers:
            words = re.findall(r"[\u4e00-\u9fff]{2,}", syllabus[bullet].zh)
            missing = [w for w in words if w not in text]
            assert not missing, f"{kata.readme}: quote the article bullet '{syllabus[bullet].zh}'"
        assert "## Tasks" in text, f"{kata.readme}: needs a '## Tasks' section"


def test_workflows_parse_and_grading_is_tamper_proof() -> None:
    workflows = REPO / ".github" / "workflows"
    for path in [*workflows.glob("*.yml"), REPO / ".github" / "classroom" / "autograding.yml"]:
        assert isinstance(yaml.safe_load(path.read_text()), dict), f"{path} is not a YAML mapping"
    grade = yaml.safe_load((workflows / "grade.yml").read_text())
    assert set(grade[True]["workflow_call"]["inputs"]) >= {"upstream-repository", "upstream-ref"}
    steps = "\n".join(str(step.get("run", "")) for step in grade["jobs"]["grade"]["steps"])
    assert "katas grade" in steps and "--tests-from" in steps and "--learner" in steps
    for workflow in workflows.glob("*.yml"):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            for step in job.get("steps", []):
                assert "${{" not in str(step.get("run", "")), (
                    f"{workflow}: inputs reach run: via env"
                )
    caller = yaml.safe_load((REPO / ".github" / "classroom" / "autograding.yml").read_text())
    assert caller["jobs"]["grade"]["uses"].endswith(".github/workflows/grade.yml@v1")
