"""Task 3: the resources, read from the parsed configuration.

Without the AWS provider's schema nothing here proves an attribute name is right (``terraform
validate`` does that in CI); these tests prove the wiring and the settings the README asks for.
"""

from __future__ import annotations

import re

import pytest

from .conftest import expression, module, one, references, routes_the_app_serves

RESOURCES = {
    ("aws_dynamodb_table", "notes"),
    ("aws_ssm_parameter", "api_token"),
    ("aws_cloudwatch_log_group", "function"),
    ("aws_cloudwatch_log_group", "api"),
    ("aws_lambda_function", "api"),
    ("aws_apigatewayv2_api", "http"),
    ("aws_apigatewayv2_integration", "function"),
    ("aws_apigatewayv2_route", "notes"),
    ("aws_apigatewayv2_stage", "default"),
    ("aws_lambda_permission", "api"),
}


@pytest.mark.task(3)
def test_the_module_declares_the_resources() -> None:
    declared = set(module().resources)
    assert declared >= RESOURCES, f"missing: {sorted(RESOURCES - declared)}"
    assert not any(kind == "aws_iam_role_policy_attachment" for kind, _ in declared)


@pytest.mark.task(3)
def test_every_reference_resolves() -> None:
    found = module()
    known = (
        {f"var.{name}" for name in found.variables}
        | {f"local.{name}" for name in found.locals}
        | {f"{kind}.{name}" for kind, name in found.resources}
        | {f"data.{kind}.{name}" for kind, name in found.data}
    )
    bodies = [*found.resources.values(), *found.data.values(), *found.outputs.values()]
    mentioned = set().union(*(references(body) for body in bodies), references(found.locals))
    assert len(mentioned) > 15, "the resources refer to one another"
    assert mentioned <= known, f"unknown: {sorted(mentioned - known)}"


@pytest.mark.task(3)
def test_the_table_is_on_demand_recoverable_and_protected_in_prod() -> None:
    table = module().resource("aws_dynamodb_table", "notes")
    assert table.get("billing_mode") == "PAY_PER_REQUEST"
    assert table.get("hash_key") == "id"
    assert one(table, "attribute") == {"name": "id", "type": "S"}
    assert one(table, "point_in_time_recovery").get("enabled") is True
    assert one(table, "server_side_encryption").get("enabled") is True
    protection = expression(table.get("deletion_protection_enabled"))
    assert re.fullmatch(r'var\.environment\s*==\s*"prod"', protection), protection
    assert "local.name" in str(table.get("name"))


@pytest.mark.task(3)
def test_the_token_is_a_secure_string_taken_from_the_variable() -> None:
    parameter = module().resource("aws_ssm_parameter", "api_token")
    assert parameter.get("type") == "SecureString"
    assert expression(parameter.get("value")) == "var.api_token"
    assert {"var.project", "var.environment"} <= references(parameter.get("name"))


@pytest.mark.task(3)
def test_logs_are_kept_for_the_chosen_days_in_the_groups_the_function_uses() -> None:
    found = module()
    for name in ("function", "api"):
        group = found.resource("aws_cloudwatch_log_group", name)
        assert expression(group.get("retention_in_days")) == "var.log_retention_days"
    assert str(found.resource("aws_cloudwatch_log_group", "function")["name"]).startswith(
        "/aws/lambda/"
    )
    function = found.resource("aws_lambda_function", "api")
    logging = one(function, "logging_config")
    assert expression(logging.get("log_group")) == "aws_cloudwatch_log_group.function.name"


@pytest.mark.task(3)
def test_the_function_runs_the_handler_with_its_own_role_and_a_ceiling() -> None:
    function = module().resource("aws_lambda_function", "api")
    assert expression(function.get("role")) == "aws_iam_role.function.arn"
    assert function.get("handler") == "handler.handler"
    assert re.fullmatch(r"python3\.1[2-9]", str(function.get("runtime"))), "a supported Python"
    assert expression(function.get("filename")) == "data.archive_file.function.output_path"
    assert (
        expression(function.get("source_code_hash"))
        == "data.archive_file.function.output_base64sha256"
    ), "without the hash a code change is not deployed"
    assert expression(function.get("reserved_concurrent_executions")) == "var.max_concurrency"
    variables = one(function, "environment")["variables"]
    assert {k: expression(v) for k, v in variables.items()} == {
        "TABLE_NAME": "aws_dynamodb_table.notes.name",
        "API_TOKEN_PARAMETER": "aws_ssm_parameter.api_token.name",
    }, "names in the environment, never the secret itself"


@pytest.mark.task(3)
def test_the_http_api_routes_exactly_what_the_handler_serves() -> None:
    found = module()
    assert found.resource("aws_apigatewayv2_api", "http").get("protocol_type") == "HTTP"
    integration = found.resource("aws_apigatewayv2_integration", "function")
    assert integration.get("integration_type") == "AWS_PROXY"
    assert expression(integration.get("integration_uri")) == "aws_lambda_function.api.invoke_arn"
    assert integration.get("payload_format_version") == "2.0"
    route = found.resource("aws_apigatewayv2_route", "notes")
    keys = set(re.findall(r'"([A-Z]+ /[^"]*)"', str(route.get("for_each", ""))))
    assert keys == routes_the_app_serves(), "for_each over the handler's route keys"
    assert expression(route.get("route_key")) in ("each.value", "each.key")
    assert "aws_apigatewayv2_integration.function.id" in str(route.get("target"))
    assert str(route.get("target")).startswith("integrations/")


@pytest.mark.task(3)
def test_the_stage_throttles_and_writes_access_logs() -> None:
    stage = module().resource("aws_apigatewayv2_stage", "default")
    assert stage.get("name") == "$default" and stage.get("auto_deploy") is True
    throttling = one(stage, "default_route_settings")
    assert throttling.get("throttling_rate_limit") == 10
    assert throttling.get("throttling_burst_limit") == 20
    access = one(stage, "access_log_settings")
    assert expression(access.get("destination_arn")) == "aws_cloudwatch_log_group.api.arn"
    assert "$context.requestId" in str(access.get("format"))


@pytest.mark.task(3)
def test_only_this_api_may_invoke_the_function() -> None:
    permission = module().resource("aws_lambda_permission", "api")
    assert permission.get("action") == "lambda:InvokeFunction"
    assert permission.get("principal") == "apigateway.amazonaws.com"
    assert expression(permission.get("function_name")) == "aws_lambda_function.api.function_name"
    source = str(permission.get("source_arn", ""))
    assert source.startswith("${aws_apigatewayv2_api.http.execution_arn}/"), (
        "source_arn: without it any API Gateway API in any account could invoke the function"
    )
