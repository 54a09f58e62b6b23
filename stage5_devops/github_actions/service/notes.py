"""The service the workflow is for: notes kept in PostgreSQL, found by a word in their text.

Small on purpose: the kata is the pipeline around it. Its tests (``notes_test.py``) need a real
PostgreSQL at ``DATABASE_URL``, which is why the workflow runs one as a service container.
"""

from __future__ import annotations

import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body text NOT NULL CHECK (length(trim(body)) > 0)
)
"""


def create_schema(conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA)


def add_note(conn: psycopg.Connection, body: str) -> int:
    """Store ``body``; its id. A blank note is refused by the database itself."""
    row = conn.execute("INSERT INTO notes (body) VALUES (%s) RETURNING id", (body,)).fetchone()
    assert row is not None
    note_id: int = row[0]
    return note_id


def search(conn: psycopg.Connection, word: str) -> list[str]:
    """The notes containing ``word`` (any case), oldest first. LIKE's wildcards are escaped."""
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        "SELECT body FROM notes WHERE body ILIKE %s ORDER BY id", (pattern,)
    ).fetchall()
    return [body for (body,) in rows]
