"""Task 4: the function's role allows what handler.py calls, on the module's own resources only."""

from __future__ import annotations

import pytest

from .conftest import Block, actions_the_app_calls, blocks, expression, module, one

# What Lambda itself needs to write the function's logs to the group this module creates.
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# Each service's actions on exactly this resource (an expression, as written in the policy).
RESOURCE_OF = {
    "dynamodb": "${aws_dynamodb_table.notes.arn}",
    "ssm": "${aws_ssm_parameter.api_token.arn}",
    "logs": "${aws_cloudwatch_log_group.function.arn}:*",
}


def statements() -> list[Block]:
    document = module().datum("aws_iam_policy_document", "function")
    found = blocks(document, "statement")
    assert found, "the policy document has statements"
    return found


@pytest.mark.task(4)
def test_the_role_is_assumable_by_lambda_alone() -> None:
    found = module()
    role = found.resource("aws_iam_role", "function")
    assert (
        expression(role.get("assume_role_policy"))
        == "data.aws_iam_policy_document.assume_lambda.json"
    )
    assert "managed_policy_arns" not in role, "no managed policy: their resources are *"
    assume = blocks(found.datum("aws_iam_policy_document", "assume_lambda"), "statement")
    assert len(assume) == 1
    assert assume[0].get("effect", "Allow") == "Allow"
    assert assume[0].get("actions") == ["sts:AssumeRole"]
    assert one(assume[0], "principals") == {
        "type": "Service",
        "identifiers": ["lambda.amazonaws.com"],
    }


@pytest.mark.task(4)
def test_the_policy_is_attached_inline_to_that_role() -> None:
    found = module()
    attachment = found.resource("aws_iam_role_policy", "function")
    assert expression(attachment.get("role")) in (
        "aws_iam_role.function.id",
        "aws_iam_role.function.name",
    )
    assert expression(attachment.get("policy")) == "data.aws_iam_policy_document.function.json"
    policies = [kind for kind, _ in found.resources if kind.startswith("aws_iam_")]
    assert sorted(policies) == ["aws_iam_role", "aws_iam_role_policy"], "one role, one policy"


@pytest.mark.task(4)
def test_no_wildcard_and_no_negation_anywhere() -> None:
    for statement in statements():
        assert statement.get("effect", "Allow") == "Allow"
        assert not {"not_actions", "not_resources", "not_principals"} & set(statement)
        for action in statement.get("actions", []):
            assert "*" not in action, f"{action}: name each action"
        for resource in statement.get("resources", []):
            assert resource not in ("*", "arn:aws:*") and not resource.startswith("arn:"), (
                f"{resource}: refer to the module's resource, never a pattern or a literal ARN"
            )


@pytest.mark.task(4)
def test_exactly_the_actions_the_handler_calls_and_the_log_writes() -> None:
    allowed = {action for statement in statements() for action in statement.get("actions", [])}
    assert actions_the_app_calls() == {"dynamodb:GetItem", "dynamodb:PutItem", "ssm:GetParameter"}
    assert allowed == actions_the_app_calls() | LOG_ACTIONS
    assert "logs:CreateLogGroup" not in allowed, "the group is Terraform's, not the function's"


@pytest.mark.task(4)
def test_each_action_only_on_its_own_resource() -> None:
    for statement in statements():
        resources = statement.get("resources", [])
        assert resources, "every statement names its resources"
        for action in statement.get("actions", []):
            service = action.split(":")[0]
            assert resources == [RESOURCE_OF[service]], f"{action} only on {RESOURCE_OF[service]}"
