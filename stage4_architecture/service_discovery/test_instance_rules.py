"""Task 1: an instance that would break the registry (its key, its DNS name, its address) is
refused when it is made, with a ValueError that names the field."""

from __future__ import annotations

from typing import Any

import pytest

from .registry import Instance

GOOD = {"service": "web", "id": "web-1", "host": "127.0.0.1", "port": 8080}


@pytest.mark.task(1)
@pytest.mark.parametrize(
    "field, value",
    [
        ("service", "a"),
        ("service", "a" * 63),
        ("service", "payments-v2"),
        ("service", "9lives"),
        ("id", "x"),
        ("id", "X" * 128),
        ("id", "web-1.eu_west:8080"),
        ("host", "::1"),
        ("host", "10.0.0.7"),
        ("host", "api.internal"),
        ("host", "localhost"),
        ("port", 1),
        ("port", 65535),
    ],
)
def test_well_formed_instances_are_accepted(field: str, value: Any) -> None:
    instance = Instance(**{**GOOD, field: value})
    assert getattr(instance, field) == value


@pytest.mark.task(1)
def test_the_address_joins_host_and_port() -> None:
    assert Instance("web", "web-1", "10.0.0.7", 8080).address == "10.0.0.7:8080"


@pytest.mark.task(1)
@pytest.mark.parametrize(
    "field, value",
    [
        ("service", ""),
        ("service", "Web"),
        ("service", "web/admin"),  # would reach into another service's keys
        ("service", "-web"),
        ("service", "web-"),
        ("service", "web_api"),
        ("service", " web"),
        ("service", "web\n"),
        ("service", "a" * 64),
        ("service", None),
        ("id", ""),
        ("id", "a/b"),
        ("id", "../x"),
        ("id", "-x"),
        ("id", "web 1"),
        ("id", "X" * 129),
        ("id", 7),
        ("host", ""),
        ("host", "bad host"),
        ("host", "http://10.0.0.7"),
        ("host", "10.0.0.7:80"),
        ("host", "-api"),
        ("host", b"127.0.0.1"),
        ("port", 0),
        ("port", -1),
        ("port", 65536),
        ("port", "8080"),
        ("port", 8080.0),
        ("port", True),
        ("port", None),
    ],
)
def test_malformed_instances_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError) as refused:
        Instance(**{**GOOD, field: value})
    message = str(refused.value)
    assert field in message, f"name the field: {message!r}"
    assert repr(value) in message, f"show the value as repr() shows it: {message!r}"
