"""Task 5: the outputs, described, and sensitive exactly where a secret flows into them."""

from __future__ import annotations

import pytest

from .conftest import expression, module, references

OUTPUTS = {
    "api_url": {
        "aws_apigatewayv2_stage.default.invoke_url",
        "aws_apigatewayv2_api.http.api_endpoint",
    },
    "table_name": {"aws_dynamodb_table.notes.name"},
    "function_name": {"aws_lambda_function.api.function_name"},
    "api_token_parameter": {"aws_ssm_parameter.api_token.name"},
}


@pytest.mark.task(5)
def test_the_outputs_and_what_they_show() -> None:
    outputs = module().outputs
    assert set(outputs) == {*OUTPUTS, "authorization_header"}
    for name, accepted in OUTPUTS.items():
        assert expression(outputs[name].get("value")) in accepted, f"output {name}"
    header = str(outputs["authorization_header"].get("value"))
    assert header == "Bearer ${var.api_token}"


@pytest.mark.task(5)
def test_every_output_is_described() -> None:
    outputs = module().outputs
    assert outputs, "the module has outputs"
    for name, body in outputs.items():
        assert str(body.get("description", "")).strip(), f"output {name}: a description"


@pytest.mark.task(5)
def test_sensitive_exactly_where_a_secret_flows() -> None:
    found = module()
    secrets = {f"var.{n}" for n, body in found.variables.items() if body.get("sensitive") is True}
    secrets |= {"aws_ssm_parameter.api_token.value", "aws_ssm_parameter.api_token.insecure_value"}
    flagged = {name for name, body in found.outputs.items() if body.get("sensitive") is True}
    carrying = {name for name, body in found.outputs.items() if references(body) & secrets}
    assert carrying == {"authorization_header"}
    assert flagged == carrying, "sensitive = true on the secret one only: the rest stay readable"
