"""Fuzzing both apps through real servers against ``openapi.yaml``: valid and invalid requests.

The two hand-written apps serve one API, documented by hand (no framework writes it for them).
Schemathesis sends a hundred requests per operation to each, the same ones on every run: no 5xx,
and every status, header and body as documented, a 405's ``Allow`` header included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml

from katas.kit import contract_settings, load_contract

from .conftest import Served

DOCUMENT = Path(__file__).with_name("openapi.yaml")

schema = load_contract(
    lambda: schemathesis.openapi.from_dict(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))
)


@pytest.mark.task(4)
@schema.parametrize()
@contract_settings(max_examples=100)
def test_wsgi_contract(case: schemathesis.Case[Any], wsgi_server: Served) -> None:
    case.call_and_validate(base_url=f"http://127.0.0.1:{wsgi_server.port}")


@pytest.mark.task(8)
@schema.parametrize()
@contract_settings(max_examples=100)
def test_asgi_contract(case: schemathesis.Case[Any], asgi_server: Served) -> None:
    case.call_and_validate(base_url=f"http://127.0.0.1:{asgi_server.port}")
