"""Fuzzing against the OpenAPI document: schemathesis sends what it allows, and what it forbids.

One test per handler, each marked with its README task, a hundred requests per operation, the
same ones on every run. Every check runs but one: schemathesis expects schema-valid data to be
accepted, and a schema-valid ``If-Match`` that names no current ETag must be refused with 412
(task 6): that refusal is the precondition's whole point.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from katas.kit import contract_settings, load_contract

from .api import create_app

schema = load_contract(lambda: schemathesis.openapi.from_asgi("/openapi.json", create_app()))


def fuzz(task: int, method: str, path: str) -> Any:
    """A test that fuzzes one operation: no 5xx, statuses and bodies as documented."""

    @pytest.mark.task(task)
    @schema.include(method=method, path=path).parametrize()
    @contract_settings(max_examples=100)
    def test(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])

    return test


test_list_books = fuzz(3, "GET", "/books")
test_get_book = fuzz(4, "GET", "/books/{book_id}")
test_create_book = fuzz(5, "POST", "/books")
test_put_book = fuzz(6, "PUT", "/books/{book_id}")
test_delete_book = fuzz(7, "DELETE", "/books/{book_id}")
