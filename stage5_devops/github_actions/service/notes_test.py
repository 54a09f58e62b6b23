"""The service's own tests: what the workflow's test job runs, against a real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from .notes import add_note, create_schema, search


@pytest.fixture
def conn() -> Iterator[psycopg.Connection]:
    # No default and no skip: a CI job without its database must fail, not pass quietly.
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url) as connection:
        create_schema(connection)
        yield connection
        connection.rollback()  # each test leaves the table as it found it


def test_a_note_is_found_by_a_word_in_any_case(conn: psycopg.Connection) -> None:
    add_note(conn, "Deploy on Friday")
    add_note(conn, "Pin actions by SHA")
    assert search(conn, "deploy") == ["Deploy on Friday"]


def test_wildcards_in_the_word_are_literal(conn: psycopg.Connection) -> None:
    add_note(conn, "100% covered")
    add_note(conn, "1000 covered")
    assert search(conn, "0%") == ["100% covered"]
    assert search(conn, "_") == []


def test_a_blank_note_is_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        add_note(conn, "   ")
