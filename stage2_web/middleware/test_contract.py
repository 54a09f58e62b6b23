"""Fuzzing both apps through real servers against ``openapi.yaml``: valid and invalid requests.

A hundred requests per operation, the same ones on every run, signed in as alice where the
document asks for a token: no 5xx, every status and body as documented, and a safe
``X-Request-ID`` on every answer whatever header came in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml

from katas.kit import bearer_auth, contract_settings, load_contract, serve_asgi, serve_wsgi

from .asgi import create_app
from .wsgi import create_flask_app

DOCUMENT = Path(__file__).with_name("openapi.yaml")
TOKENS = {"alice-token": "alice"}

schema = load_contract(
    lambda: schemathesis.openapi.from_dict(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))
)


bearer_auth(schema, "alice-token")


@pytest.fixture
def asgi_url() -> Iterator[str]:
    with serve_asgi(create_app(TOKENS)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def wsgi_url() -> Iterator[str]:
    with serve_wsgi(create_flask_app(TOKENS)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.task(4)
@schema.parametrize()
@contract_settings(max_examples=100)
def test_asgi_contract(case: schemathesis.Case[Any], asgi_url: str) -> None:
    case.call_and_validate(base_url=asgi_url)


@pytest.mark.task(6)
@schema.parametrize()
@contract_settings(max_examples=100)
def test_wsgi_contract(case: schemathesis.Case[Any], wsgi_url: str) -> None:
    case.call_and_validate(base_url=wsgi_url)
