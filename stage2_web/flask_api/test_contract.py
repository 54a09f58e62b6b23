"""Fuzzing against ``openapi.yaml``: schemathesis sends what it allows, and what it forbids.

Plain Flask writes no OpenAPI document, so the kata keeps one by hand; the requests go over the
network to the app served by werkzeug on this test's own database. A hundred requests per
operation, the same ones on every run. One check is left out, "schema-valid data is accepted":
a title of spaces only (blank once stripped) or holding NUL is schema-valid and rightly a 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from flask import Flask

from katas.kit import contract_settings, load_contract, serve_wsgi

from .books import create_app

DOCUMENT = Path(__file__).with_name("openapi.yaml")

schema = load_contract(
    lambda: schemathesis.openapi.from_dict(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))
)


@pytest.fixture
def base_url(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("BOOKS_PAGE_SIZE", "BOOKS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app: Flask = create_app({"DATABASE_URL": postgres_url})
    try:
        with serve_wsgi(app) as port:
            yield f"http://127.0.0.1:{port}"
    finally:
        app.extensions["engine"].dispose()


@pytest.mark.task(5)
@schema.parametrize()
@contract_settings(max_examples=100)
def test_contract(case: schemathesis.Case[Any], base_url: str) -> None:
    # No 5xx, statuses and bodies as documented, invalid requests refused.
    case.call_and_validate(
        base_url=base_url, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
