"""Fuzzing against the OpenAPI document: schemathesis sends what it allows, and what it forbids.

The document comes from an app built at import (it needs no database for that); the requests go
over the network to the app served by uvicorn on this test's own database, its lifespan running,
as a signed-in user. A hundred requests per operation, the same ones on every run.

Two checks are left out. The ``Allow`` header of a 405: FastAPI lists only one route's methods
when several share a path (the rest_design kata fixes that). And "schema-valid data is accepted":
tags unique *ignoring case* is a rule JSON Schema cannot state, so ``["a", "A"]`` is schema-valid
and rightly refused with 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from katas.kit import bearer_auth, contract_settings, load_contract, serve_asgi

from .service import create_app

schema = load_contract(
    lambda: schemathesis.openapi.from_dict(create_app("postgresql://unused/none").openapi())
)


bearer_auth(schema, "token-ada")


@pytest.fixture
def base_url(postgres_url: str) -> Iterator[str]:
    with serve_asgi(create_app(postgres_url)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.task(6)
@schema.parametrize()
@contract_settings(max_examples=100)
def test_contract(case: schemathesis.Case[Any], base_url: str) -> None:
    # No 5xx, statuses and bodies as documented, invalid requests refused.
    case.call_and_validate(
        base_url=base_url,
        excluded_checks=[
            schemathesis.checks.allow_header_conformance,
            schemathesis.checks.positive_data_acceptance,
        ],
    )
