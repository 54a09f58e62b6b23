"""Task 4: the alerting rules, checked and unit-tested by promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import HERE

RULES = HERE / "alerts.yml"
UNIT_TESTS = HERE / "alert_tests"
ALERTS = {"HighErrorRatio": "page", "LatencySLOBreach": "ticket"}


def promtool_run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def alerting_rules(path: Path = RULES) -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(path.read_text())["groups"]
    return {
        rule["alert"]: rule for group in groups for rule in group["rules"] or [] if "alert" in rule
    }


def unit_test(promtool: str, test_file: str, root: Path = HERE) -> subprocess.CompletedProcess[str]:
    """promtool's unit test ``test_file`` run against ``root``/alerts.yml."""
    return promtool_run(promtool, "test", "rules", test_file, cwd=root / UNIT_TESTS.name)


@pytest.mark.task(4)
def test_promtool_check_rules(promtool: str) -> None:
    checked = promtool_run(promtool, "check", "rules", RULES.name, cwd=HERE)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout
    rules = alerting_rules()
    assert set(rules) == set(ALERTS)
    for name, severity in ALERTS.items():
        assert rules[name]["labels"] == {"severity": severity}
        assert rules[name]["annotations"]["summary"]


@pytest.mark.task(4)
@pytest.mark.parametrize("test_file", ["error_ratio_test.yml", "latency_test.yml"])
def test_promtool_unit_tests(promtool: str, test_file: str) -> None:
    tested = unit_test(promtool, test_file)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.task(4)
@pytest.mark.parametrize(
    ("alert", "test_file", "wrong_for"),
    [
        ("HighErrorRatio", "error_ratio_test.yml", "4m"),
        ("HighErrorRatio", "error_ratio_test.yml", "6m"),
        ("LatencySLOBreach", "latency_test.yml", "9m"),
        ("LatencySLOBreach", "latency_test.yml", "11m"),
    ],
)
def test_a_wrong_for_duration_fails_the_unit_tests(
    promtool: str, tmp_path: Path, alert: str, test_file: str, wrong_for: str
) -> None:
    # The rules as written pass; the same rules one minute off do not: the tests pin `for:`.
    assert unit_test(promtool, test_file).returncode == 0
    document = yaml.safe_load(RULES.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["for"] = wrong_for
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(document))
    shutil.copytree(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    tested = unit_test(promtool, test_file, tmp_path)
    assert tested.returncode != 0, f"{alert} with for: {wrong_for} passed {test_file}"
