"""Task 1: the inputs. Their shape from the parsed file; their validation rules run by Terraform.

Terraform checks a variable's ``validation`` blocks during ``plan``. The module's resources need
the AWS provider, which cannot be installed here, so each sample value is planned against a copy
holding only variables.tf (and main.tf's locals): the same rules, run by the real Terraform.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import SAMPLE_INPUTS, Terraform, as_var_flags, blocks, inputs_only, module

VARIABLES = {
    "project",
    "environment",
    "region",
    "api_token",
    "log_retention_days",
    "max_concurrency",
    "tags",
}
SECRET_WORDS = ("token", "password", "secret", "private_key")


def plan(terraform: Terraform, folder: Path, **values: str) -> tuple[int, str]:
    inputs_only(folder)
    run = terraform(folder, "plan", "-input=false", *as_var_flags({**SAMPLE_INPUTS, **values}))
    return run.returncode, run.output


@pytest.mark.task(1)
def test_every_input_is_declared_typed_and_described() -> None:
    variables = module().variables
    assert set(variables) == VARIABLES
    for name, body in variables.items():
        assert str(body.get("description", "")).strip(), f"variable {name}: a description"
        assert body.get("type"), f"variable {name}: a type (it is `any` otherwise)"
    assert variables["tags"]["type"] == "${map(string)}"
    assert {variables[n]["type"] for n in ("log_retention_days", "max_concurrency")} == {"number"}


@pytest.mark.task(1)
def test_defaults_only_where_one_value_suits_every_environment() -> None:
    variables = module().variables
    defaults = {name: body["default"] for name, body in variables.items() if "default" in body}
    assert defaults == {
        "region": "eu-west-1",
        "log_retention_days": 30,
        "max_concurrency": 10,
        "tags": {},
    }


@pytest.mark.task(1)
def test_every_validation_says_which_input_is_wrong() -> None:
    variables = module().variables
    for name in VARIABLES:
        rules = blocks(variables[name], "validation")
        assert rules, f"variable {name}: a validation block"
        for rule in rules:
            assert f"var.{name}" in str(rule.get("condition", "")), f"{name}: test var.{name}"
            message = str(rule.get("error_message", ""))
            assert name in message and message.rstrip().endswith("."), (
                f"variable {name}: an error_message naming it, a sentence ending with a period"
            )


@pytest.mark.task(1)
def test_secrets_are_sensitive_and_never_defaulted() -> None:
    variables = module().variables
    secret = [name for name in variables if any(word in name for word in SECRET_WORDS)]
    assert secret == ["api_token"]
    for name in secret:
        body = variables[name]
        assert "default" not in body, f"{name}: a secret has no default (it would be in git)"
        assert body.get("sensitive") is True, f"{name}: sensitive = true keeps it out of plans"
        assert body.get("nullable") is False, f"{name}: nullable = false refuses null"
    for name, body in variables.items():
        if name not in secret:
            assert body.get("sensitive") is not True, f"{name} is no secret: keep plans readable"


ACCEPTED = [
    ("project", "abc"),
    ("project", "notes-api"),
    ("project", "n" + "0" * 21),
    ("environment", "dev"),
    ("environment", "staging"),
    ("environment", "prod"),
    ("region", "ap-southeast-2"),
    ("region", "us-gov-west-1"),
    ("api_token", "x" * 32),
    ("log_retention_days", "1"),
    ("log_retention_days", "3653"),
    ("max_concurrency", "1"),
    ("max_concurrency", "100"),
    ("tags", '{Owner = "team-notes", CostCenter = "42"}'),
]
REJECTED = [
    ("project", "ab"),
    ("project", "n" + "0" * 22),
    ("project", "Notes"),
    ("project", "1notes"),
    ("project", "notes-"),
    ("project", "notes_api"),
    ("environment", "Prod"),
    ("environment", "qa"),
    ("environment", ""),
    ("region", "EU-west-1"),
    ("region", "eu-west"),
    ("region", "eu_west_1"),
    ("api_token", "x" * 31),
    ("api_token", ""),
    ("log_retention_days", "0"),
    ("log_retention_days", "31"),
    ("log_retention_days", "3654"),
    ("max_concurrency", "0"),
    ("max_concurrency", "101"),
    ("max_concurrency", "2.5"),
    ("tags", '{"aws:owner" = "x"}'),
    ("tags", '{"AWS:Owner" = "x"}'),
]


@pytest.mark.task(1)
@pytest.mark.parametrize(("name", "value"), ACCEPTED)
def test_terraform_accepts(terraform: Terraform, tmp_path: Path, name: str, value: str) -> None:
    returncode, output = plan(terraform, tmp_path, **{name: value})
    assert returncode == 0, f"{name} = {value!r} should be accepted:\n{output}"


@pytest.mark.task(1)
@pytest.mark.parametrize(("name", "value"), REJECTED)
def test_terraform_rejects(terraform: Terraform, tmp_path: Path, name: str, value: str) -> None:
    returncode, output = plan(terraform, tmp_path, **{name: value})
    assert returncode == 1, f"{name} = {value!r} should be rejected:\n{output}"
    assert "Invalid value for variable" in output, output
    assert f'variable "{name}"' in output, f"rejected, but not by {name}'s validation:\n{output}"
