"""The application this module deploys: a tiny notes API on AWS Lambda behind an HTTP API.

GET /notes/{id} reads one item, PUT /notes/{id} (with a bearer token) writes one. Its DynamoDB
and SSM calls are the whole of what its IAM role may do: the tests derive the allowed actions
from this file.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

import boto3  # type: ignore[import-not-found,unused-ignore]  # the Lambda runtime ships it

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
SSM = boto3.client("ssm")
_token: list[str] = []  # read once per container, not once per request


def api_token() -> str:
    if not _token:
        found = SSM.get_parameter(Name=os.environ["API_TOKEN_PARAMETER"], WithDecryption=True)
        _token.append(found["Parameter"]["Value"])
    return _token[0]


def respond(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """API Gateway HTTP API payload 2.0 in, a proxy response out."""
    route = event.get("routeKey", "")
    note_id = (event.get("pathParameters") or {}).get("id", "")
    if route == "GET /notes/{id}":
        item = TABLE.get_item(Key={"id": note_id}).get("Item")
        return respond(200, item) if item else respond(404, {"error": "no such note"})
    if route == "PUT /notes/{id}":
        sent = (event.get("headers") or {}).get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {api_token()}".encode()):
            return respond(401, {"error": "a valid bearer token is required"})
        text = str(json.loads(event.get("body") or "{}").get("text", ""))[:10_000]
        TABLE.put_item(Item={"id": note_id, "text": text})
        return respond(200, {"id": note_id, "text": text})
    return respond(404, {"error": f"no route {route!r}"})
