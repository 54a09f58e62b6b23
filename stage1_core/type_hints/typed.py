"""Type hints that mypy --strict checks: Protocol, generics, ParamSpec, TypedDict and @overload.

The declarations are the lesson: ``good_usage.py`` must type-check clean against them and every
line marked ``# E: <code>`` in ``wrong_usage.py`` must be reported, with exactly that error code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import (
    Concatenate,
    Generic,
    Literal,
    NotRequired,
    ParamSpec,
    Protocol,
    TypedDict,
    TypeVar,
    overload,
    runtime_checkable,
)

T = TypeVar("T")
U = TypeVar("U")
P = ParamSpec("P")
R = TypeVar("R")


# kata: begin declare Notifier: @runtime_checkable Protocol, send(self, to: str, body: str) -> bool
@runtime_checkable
class Notifier(Protocol):
    """Anything with this send() method is a Notifier: no base class needed (structural typing)."""

    def send(self, to: str, body: str) -> bool: ...


# kata: end


def broadcast(notifiers: Iterable[Notifier], to: str, body: str) -> int:
    """Send through every notifier; return how many succeeded."""
    return sum(notifier.send(to, body) for notifier in notifiers)


# kata: begin declare UserRow: a TypedDict with id: int, email: str and a NotRequired nickname: str
class UserRow(TypedDict):
    """A user as it comes out of the database: a plain dict whose keys mypy knows."""

    id: int
    email: str
    nickname: NotRequired[str]


# kata: end


def parse_user(data: Mapping[str, object]) -> UserRow:
    """Check untyped data (e.g. decoded JSON) and build a UserRow; ignore unknown keys.

    A TypedDict is not checked at run time: the isinstance checks here are what make it true.
    Raise TypeError naming the key when a value has the wrong type (``bool`` is not an id).
    """
    # kata: begin isinstance-check id (an int, not a bool), email and the optional nickname
    user_id, email = data.get("id"), data.get("email")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise TypeError(f"id must be int, got {type(user_id).__name__}")
    if not isinstance(email, str):
        raise TypeError(f"email must be str, got {type(email).__name__}")
    row: UserRow = {"id": user_id, "email": email}
    if "nickname" in data:
        nickname = data["nickname"]
        if not isinstance(nickname, str):
            raise TypeError(f"nickname must be str, got {type(nickname).__name__}")
        row["nickname"] = nickname
    return row
    # kata: end


# kata: begin declare Page(Generic[T]): frozen dataclass, items: tuple[T, ...], total: int, map()
@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results; ``Page[int]`` holds ints, and ``map`` changes what it holds."""

    items: tuple[T, ...]
    total: int

    def map(self, func: Callable[[T], U]) -> Page[U]:
        """Apply ``func`` to every item: a Page[T] becomes a Page[U], total unchanged."""
        return Page(tuple(func(item) for item in self.items), self.total)


# kata: end


@dataclass
class Session:
    """A stand-in for a database session: records statements and how it ended."""

    statements: list[str] = field(default_factory=list)
    state: Literal["open", "committed", "rolled back"] = "open"

    def execute(self, sql: str) -> None:
        self.statements.append(sql)

    def commit(self) -> None:
        self.state = "committed"

    def rollback(self) -> None:
        self.state = "rolled back"


# kata: begin def transactional(func: Callable[Concatenate[Session, P], R]) -> Callable[P, R]
def transactional(func: Callable[Concatenate[Session, P], R]) -> Callable[P, R]:
    """Call ``func`` with a new Session first; commit if it returns, roll back if it raises.

    Callers see ``func``'s signature *without* the session: ``create_user(name, admin=...)``.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = Session()
        try:
            result = func(session, *args, **kwargs)
        except BaseException:
            session.rollback()
            raise
        session.commit()
        return result

    return wrapper


# kata: end


# kata: begin overload parse_id: str -> int, list[str] -> list[int]; TypeError for anything else
@overload
def parse_id(raw: str) -> int: ...
@overload
def parse_id(raw: list[str]) -> list[int]: ...
def parse_id(raw: str | list[str]) -> int | list[int]:
    """A query parameter: ``?id=3`` arrives as a str, ``?id=3&id=4`` as a list of str."""
    if isinstance(raw, str):
        return int(raw)
    if isinstance(raw, list):
        return [int(item) for item in raw]
    raise TypeError(f"parse_id() takes a str or a list of str, not {type(raw).__name__}")


# kata: end
