"""Deliberate mistakes: mypy --strict must report each marked line, with exactly that code.

A trailing ``# E: <code>`` marks a line where an error is expected; test_typed.py compares the
set of (line, code) pairs mypy reports with the set marked here, so a missing error (the types
promise too little) and an extra one (they reject correct code) both fail. Not run, only checked.
"""

from __future__ import annotations

from .typed import Notifier, Page, Session, UserRow, broadcast, parse_id, transactional


class Silent:
    """Has no send() at all."""


class Pager:
    """Has a send() whose signature does not match the Protocol."""

    def send(self, to: str) -> bool:
        return True


def protocols(silent: Silent) -> None:
    notifier: Notifier = Pager()  # E: assignment
    broadcast([notifier], "ann@example.com", "hi")
    broadcast((silent,), "ann@example.com", "hi")  # E: arg-type


def typed_dicts(row: UserRow) -> None:
    wrong_type: UserRow = {"id": "7", "email": "ann@example.com"}  # E: typeddict-item
    missing_key: UserRow = {"id": 7}  # E: typeddict-item
    unknown_key: UserRow = {"id": 7, "email": "ann@example.com", "nick": "a"}  # E: typeddict-unknown-key
    none_nickname: UserRow = {"id": 7, "email": "ann@example.com", "nickname": None}  # E: typeddict-item
    print(row["name"])  # E: typeddict-item
    print(wrong_type, missing_key, unknown_key, none_nickname)


def generics(page: Page[int]) -> None:
    first: str = page.items[0]  # E: assignment
    page.map(str.upper)  # E: arg-type
    print(first)


@transactional
def create_user(session: Session, name: str, *, admin: bool = False) -> int:
    session.execute(name)
    return 1


def param_specs() -> None:
    create_user(42)  # E: arg-type
    create_user("ann", admin="yes")  # E: arg-type
    create_user(session=Session(), name="ann")  # E: call-arg


def overloads() -> None:
    parse_id(3.5)  # E: call-overload
    count: int = parse_id(["1", "2"])  # E: assignment
    print(count)
