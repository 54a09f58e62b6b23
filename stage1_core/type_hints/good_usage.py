"""Correct uses of typed.py: ``mypy --strict`` must accept every line (test_typed.py checks it).

This file is read by mypy, not run by pytest. ``assert_type`` fails type-checking unless the
inferred type is exactly the one given, so it pins down what the declarations must promise.
"""

from __future__ import annotations

from typing import assert_type

from .typed import Notifier, Page, Session, UserRow, broadcast, parse_id, parse_user, transactional


class EmailNotifier:
    """A Notifier without inheriting from it: the matching send() is all a Protocol asks."""

    def send(self, to: str, body: str) -> bool:
        return "@" in to


class SmsNotifier:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, to: str, body: str) -> bool:
        self.sent.append(f"{to}: {body}")
        return True


def protocols() -> int:
    notifier: Notifier = EmailNotifier()
    notifier.send("ann@example.com", "hi")
    return broadcast([EmailNotifier(), SmsNotifier()], "ann@example.com", "welcome")


def typed_dicts() -> str:
    ann: UserRow = {"id": 1, "email": "ann@example.com"}
    bob: UserRow = {"id": 2, "email": "bob@example.com", "nickname": "bobby"}
    assert_type(ann["id"], int)
    nickname = bob.get("nickname")  # a NotRequired key: .get() gives str | None
    assert_type(nickname, str | None)
    parsed = parse_user({"id": 3, "email": "cy@example.com", "extra": True})
    assert_type(parsed, UserRow)
    return parsed["email"] + (nickname or "")


def generics() -> list[str]:
    page = Page(items=(1, 2, 3), total=30)
    assert_type(page, Page[int])
    assert_type(page.items[0], int)
    labels = page.map(lambda n: f"#{n}")
    assert_type(labels, Page[str])
    empty: Page[UserRow] = Page(items=(), total=0)
    return [*labels.items, *(row["email"] for row in empty.items)]


@transactional
def create_user(session: Session, name: str, *, admin: bool = False) -> int:
    session.execute(f"INSERT INTO users (name, admin) VALUES ({name!r}, {admin})")
    return len(session.statements)


def param_specs() -> int:
    assert_type(create_user("ann"), int)
    return create_user("bob", admin=True)


def overloads() -> int:
    one = parse_id("3")
    many = parse_id(["3", "4"])
    assert_type(one, int)
    assert_type(many, list[int])
    return one + sum(many)
