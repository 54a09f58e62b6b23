"""Django: ``raw()`` with a formatted string and ``extra()`` are injectable; ``raw()`` with
params and the ORM's own lookups are not. On the harness's shared Django test database."""

from __future__ import annotations

import pytest

from . import safe, vulnerable
from .conftest import attack, run
from .payloads import SQL_PAYLOADS, SqlPayload

USERNAMES = ["a_bc", "ann", "anna", "axbc", "o'hara", "root"]


@pytest.fixture
def users(django_db: None) -> list[str]:
    from django.contrib.auth.models import User

    for name in USERNAMES:
        # No password: nothing here logs in, and hashing one costs time.
        User.objects.create_user(name, password=None, is_superuser=name == "root")
    return USERNAMES


@pytest.mark.task(4)
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(p, id=f"{p.kind}:{p.entry}:{p.text}")
        for p in SQL_PAYLOADS
        if p.entry.startswith("django")
    ],
)
def test_the_payload_works_through_raw_and_extra_and_fails_on_the_safe_queries(
    users: list[str], payload: SqlPayload
) -> None:
    assert attack(vulnerable, None, payload), "the payload is real"
    assert not attack(safe, None, payload), "safe.py must not let it through"
    outcome = run(safe, None, payload.entry, payload.asking("1=1"))
    assert (outcome.error, outcome.result) == (None, []), "the payload is a name nobody has"


@pytest.mark.task(4)
def test_raw_with_params_finds_exactly_the_user(users: list[str]) -> None:
    assert safe.django_users_named("ann") == ["ann"]
    assert safe.django_users_named("o'hara") == ["o'hara"], "a quote is data"
    assert safe.django_users_named("an%") == []
    assert safe.django_users_named("") == []


@pytest.mark.task(4)
@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("an", ["ann", "anna"]),
        ("a_", ["a_bc"]),  # not "axbc": _ matches itself
        ("%", []),
        ("o'", ["o'hara"]),
        ("ANN", []),  # startswith is case-sensitive
        ("", USERNAMES),
    ],
)
def test_prefix_search_is_literal(users: list[str], prefix: str, expected: list[str]) -> None:
    assert safe.django_users_starting(prefix) == expected
