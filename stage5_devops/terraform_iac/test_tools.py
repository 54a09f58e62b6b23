"""Every task through real tools: ``terraform fmt``, ``terraform init``, and checkov's policies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import KATA, TF_FILES, CheckovReport, Terraform

IAM_DOCUMENT_CHECKS = (
    *("CKV_AWS_1", "CKV_AWS_49", "CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109"),
    *("CKV_AWS_110", "CKV_AWS_111", "CKV_AWS_356", "CKV2_AWS_40"),
)
# (checkov check, resource) pairs each task must pass; checkov skips what is not declared.
CHECKOV_PASSES = {
    2: {("CKV_AWS_41", "aws.default")},
    3: {
        ("CKV_AWS_28", "aws_dynamodb_table.notes"),
        ("CKV2_AWS_34", "aws_ssm_parameter.api_token"),
        ("CKV_AWS_66", "aws_cloudwatch_log_group.function"),
        ("CKV_AWS_66", "aws_cloudwatch_log_group.api"),
        ("CKV_AWS_115", "aws_lambda_function.api"),
        ("CKV_AWS_45", "aws_lambda_function.api"),
        ("CKV_AWS_76", "aws_apigatewayv2_stage.default"),
        ("CKV_AWS_364", "aws_lambda_permission.api"),
        ("CKV_AWS_301", "aws_lambda_permission.api"),
    },
    4: {
        ("CKV_AWS_60", "aws_iam_role.function"),
        ("CKV_AWS_61", "aws_iam_role.function"),
        ("CKV_AWS_274", "aws_iam_role.function"),
        ("CKV_AWS_62", "aws_iam_role_policy.function"),
        ("CKV_AWS_63", "aws_iam_role_policy.function"),
        *((check, "aws_iam_policy_document.function") for check in IAM_DOCUMENT_CHECKS),
    },
}


@pytest.mark.parametrize(
    ("name", "block"),
    [
        pytest.param("variables.tf", "variable", marks=pytest.mark.task(1)),
        pytest.param("main.tf", "terraform", marks=pytest.mark.task(2)),
        pytest.param("outputs.tf", "output", marks=pytest.mark.task(5)),
    ],
)
def test_terraform_fmt_finds_nothing_to_change(
    terraform: Terraform, tmp_path: Path, name: str, block: str
) -> None:
    shutil.copy(KATA / name, tmp_path / name)
    run = terraform(tmp_path, "fmt", "-check", "-diff", name)
    assert run.returncode == 0, f"terraform fmt would change {name}:\n{run.output}"
    # fmt passes a file of comments too: the file must hold its blocks.
    assert f"\n{block} " in (tmp_path / name).read_text(encoding="utf-8"), f"{name}: {block}"


@pytest.mark.task(2)
def test_terraform_init_reads_the_configuration_without_error(
    terraform: Terraform, tmp_path: Path
) -> None:
    for name in (*TF_FILES, "function/handler.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(KATA / name, tmp_path / name)
    run = terraform(tmp_path, "init", "-backend=false", "-input=false")
    # Terraform resolves the providers it read from the configuration; it finds them nowhere,
    # as no registry is reached: those are the only errors a valid configuration may show.
    assert sorted(re.findall(r'Finding (\S+) versions matching "([^"]+)"', run.output)) == [
        ("hashicorp/archive", "~> 2.7"),
        ("hashicorp/aws", "~> 6.0"),
    ], run.output
    errors = re.findall(r"^Error: (.+)$", run.output, flags=re.MULTILINE)
    assert set(errors) == {"Failed to query available provider packages"}, run.output


@pytest.mark.task(4)
def test_checkov_finds_no_failure(checkov: CheckovReport) -> None:
    assert checkov.failed == [], "\n".join(checkov.failed)
    assert checkov.passed, "checkov checked resources"


@pytest.mark.task(2)
def test_checkov_task_2(checkov: CheckovReport) -> None:
    assert CHECKOV_PASSES[2] <= checkov.passed, sorted(CHECKOV_PASSES[2] - checkov.passed)


@pytest.mark.task(3)
def test_checkov_task_3(checkov: CheckovReport) -> None:
    assert CHECKOV_PASSES[3] <= checkov.passed, sorted(CHECKOV_PASSES[3] - checkov.passed)


@pytest.mark.task(4)
def test_checkov_task_4(checkov: CheckovReport) -> None:
    assert CHECKOV_PASSES[4] <= checkov.passed, sorted(CHECKOV_PASSES[4] - checkov.passed)
