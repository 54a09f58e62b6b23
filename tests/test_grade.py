"""Grading a throwaway fork: points, the three reports, tamper-proofing and missing services."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from katas.cli import app

from .conftest import KATA_TOML, FakeRepo

runner = CliRunner()
BROKER_TEST = "def test_publish(amqp_url: str) -> None:\n    assert amqp_url\n"


def katas(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def grade(repo: FakeRepo, *args: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    code, output = katas("grade", "--out", "out", *args)
    assert code == 0, output
    report = json.loads((repo.root / "out" / "grade.json").read_text())
    return report, output


@pytest.fixture
def fork(fake_repo: FakeRepo) -> FakeRepo:
    """An upstream commit tagged 'upstream', then a learner who started the kata."""
    fake_repo.add_kata("double")
    fake_repo.commit_all()
    fake_repo.git("tag", "upstream")
    assert katas("start", "double")[0] == 0
    fake_repo.commit_all()
    return fake_repo


def test_a_stub_scores_zero_and_a_solution_full_points(fork: FakeRepo) -> None:
    report, output = grade(fork, "double")
    assert report["version"] == 1 and report["status"] == "fail" and report["max_score"] == 10
    [test] = report["tests"]
    assert (test["name"], test["status"], test["score"], test["max_score"]) == (
        "stage1_core/double", "fail", 0, 10,
    )  # fmt: skip
    assert test["message"].startswith("failed: 0/2 tests passed; first problem:")
    assert "double: 0/10 (failed)" in output

    assert katas("solution", "double", "--apply")[0] == 0
    report, _ = grade(fork, "double")
    assert (report["status"], report["tests"][0]["score"]) == ("pass", 10)
    markdown = (fork.root / "out" / "grade.md").read_text()
    assert markdown.startswith("# Grade: 10 / 10 points")
    assert "| double | 2/2 | 10 / 10 | passed |" in markdown
    cases = list(ET.parse(fork.root / "out" / "grade.xml").iter("testcase"))
    assert len(cases) == 2, "grade.xml is pytest's JUnit report of the graded tests"


def test_partial_credit_is_the_fraction_of_tests_passing(fork: FakeRepo) -> None:
    folder = fork.root / "stage1_core" / "double"
    (folder / "solution.py").write_text("def double(n: int) -> int:\n    return 42\n")
    report, _ = grade(fork)
    assert report["tests"][0]["score"] == 5, "one of two tests passes: half the points"


def test_an_edited_test_gains_nothing_with_tests_from(fork: FakeRepo) -> None:
    test_file = fork.root / "stage1_core" / "double" / "test_solution.py"
    cheat = "def test_double() -> None:\n    assert True\n"
    test_file.write_text(cheat)
    report, _ = grade(fork)
    assert report["tests"][0]["score"] == 10, "without --tests-from the edit would pay"
    report, output = grade(fork, "--tests-from", "upstream")
    assert report["tests"][0]["score"] == 0
    assert report["overlay"]["changes"] == {"stage1_core/double/test_solution.py": "replaced"}
    assert "laid from upstream: stage1_core/double/test_solution.py (replaced)" in output
    assert (
        "`stage1_core/double/test_solution.py`: replaced"
        in (fork.root / "out" / "grade.md").read_text()
    )
    assert test_file.read_text() == cheat, "grading never touches the learner's tree"


def test_a_deleted_test_is_restored_and_reported(fork: FakeRepo) -> None:
    (fork.root / "stage1_core" / "double" / "test_solution.py").unlink()
    report, _ = grade(fork, "--tests-from", "upstream")
    assert report["overlay"]["changes"] == {"stage1_core/double/test_solution.py": "restored"}
    assert report["tests"][0]["message"].startswith("failed: 0/2")


def test_added_conftest_and_pytest_config_are_removed(fork: FakeRepo) -> None:
    folder = fork.root / "stage1_core" / "double"
    (folder / "conftest.py").write_text(
        "import pytest\n\n@pytest.hookimpl(wrapper=True)\ndef pytest_runtest_call(item):\n"
        "    try:\n        return (yield)\n    except Exception:\n        return None\n"
    )
    (fork.root / "pytest.ini").write_text("[pytest]\naddopts = -p no:katas\n")
    (fork.root / "stage1_core" / "double" / "kata.toml").write_text(KATA_TOML.replace("10", "99"))
    report, _ = grade(fork, "--tests-from", "upstream")
    assert report["overlay"]["changes"] == {
        "pytest.ini": "removed",
        "stage1_core/double/conftest.py": "removed",
        "stage1_core/double/kata.toml": "replaced",
    }
    assert report["tests"][0]["score"] == 0 and report["max_score"] == 10


def test_a_missing_service_is_reported_never_passed(
    fake_repo: FakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KATAS_AMQP_URL", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no container either
    fake_repo.add_kata("broker", test=BROKER_TEST, toml=KATA_TOML.replace("[]", '["rabbitmq"]'))
    report, output = grade(fake_repo)
    [test] = report["tests"]
    assert (test["status"], test["score"]) == ("error", 0)
    assert test["message"].startswith("service unavailable")
    assert "rabbitmq unavailable" in test["message"]
    assert "broker: 0/10 (service unavailable)" in output


def test_min_score_makes_a_low_score_fail(fork: FakeRepo) -> None:
    code, output = katas("grade", "--out", "out", "--min-score", "5")
    assert code == 1 and "score 0 is below --min-score 5" in output
    assert (fork.root / "out" / "grade.json").is_file(), "the reports are written all the same"


def test_an_unknown_ref_says_how_to_fetch_it(fork: FakeRepo) -> None:
    code, output = katas("grade", "--out", "out", "--tests-from", "upstream/v9")
    assert code == 2 and "--tests-from upstream/v9" in output and "git fetch" in output


def test_reports_land_where_asked(fork: FakeRepo, tmp_path: Path) -> None:
    assert katas("grade", "--out", str(tmp_path / "reports"))[0] == 0
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "grade.json", "grade.md", "grade.xml",
    ]  # fmt: skip
