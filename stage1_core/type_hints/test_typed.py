"""Type hints kata: mypy --strict judges the declarations, pytest the run-time behaviour.

mypy runs once for the whole module (it takes a few seconds), over typed.py, good_usage.py and
wrong_usage.py, with explicit flags and a throwaway cache so nothing outside the test affects it.
The learner's names are read as ``typed.X`` inside each test, so a missing one fails that test only.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
from mypy import api as mypy_api

from . import typed

HERE = Path(__file__).parent
WRONG = HERE / "wrong_usage.py"
FEATURES = ("protocols", "typed_dicts", "generics", "param_specs", "overloads")
MARKER = re.compile(r"#\s*E:\s*(?P<codes>[\w-]+(?:\s*,\s*[\w-]+)*)\s*$")
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")

Error = tuple[str, int, str]  # (file name, line, error code)


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> set[Error]:
    """Every error mypy --strict reports over the three files, as (file name, line, code)."""
    tmp = tmp_path_factory.mktemp("mypy")
    config = tmp / "mypy.ini"
    config.write_text("[mypy]\n")  # not the repository's config: these flags are the whole setup
    files = [HERE / "typed.py", HERE / "good_usage.py", WRONG]
    stdout, stderr, _ = mypy_api.run(
        [
            "--config-file", str(config),
            "--cache-dir", str(tmp / "cache"),
            "--strict",
            "--python-version", "3.11",
            "--show-error-codes",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            *map(str, files),
        ]
    )  # fmt: skip
    assert not stderr, f"mypy itself failed:\n{stderr}"
    errors = set()
    for line in stdout.splitlines():
        if match := ERROR.match(line):
            errors.add((Path(match["file"]).name, int(match["line"]), match["code"]))
    return errors


def marked_errors() -> set[tuple[int, str]]:
    """The (line, code) pairs that wrong_usage.py marks with a trailing ``# E: code``."""
    marked = set()
    for number, line in enumerate(WRONG.read_text(encoding="utf-8").splitlines(), start=1):
        if match := MARKER.search(line):
            marked |= {(number, code.strip()) for code in match["codes"].split(",")}
    return marked


def feature_lines() -> dict[str, range]:
    """The line range of each feature's function in wrong_usage.py."""
    tree = ast.parse(WRONG.read_text(encoding="utf-8"))
    return {
        node.name: range(node.lineno, (node.end_lineno or node.lineno) + 1)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in FEATURES
    }


@pytest.mark.task(7)
def test_typed_and_good_usage_type_check_clean(mypy_errors: set[Error]) -> None:
    errors = sorted(e for e in mypy_errors if e[0] in {"typed.py", "good_usage.py"})
    assert errors == [], (
        "typed.py and every correct use in good_usage.py must pass mypy --strict "
        f"(file, line, code): {errors}"
    )


@pytest.mark.parametrize(
    "feature",
    [
        pytest.param(feature, marks=pytest.mark.task(task))
        for feature, task in zip(FEATURES, (1, 2, 4, 5, 6), strict=True)
    ],
)
def test_wrong_usage_reports_exactly_the_marked_errors(
    feature: str, mypy_errors: set[Error]
) -> None:
    lines = feature_lines()[feature]
    want = {(line, code) for line, code in marked_errors() if line in lines}
    got = {(line, code) for name, line, code in mypy_errors if name == WRONG.name and line in lines}
    assert want, f"wrong_usage.py has no '# E:' markers in {feature}()"
    assert got == want, (
        f"{feature}: missing (the types promise too little) {sorted(want - got)}; "
        f"unexpected (they reject correct code) {sorted(got - want)}"
    )


@pytest.mark.task(7)
def test_wrong_usage_has_no_errors_outside_the_features(mypy_errors: set[Error]) -> None:
    inside = {line for lines in feature_lines().values() for line in lines}
    stray = sorted(
        (line, code)
        for name, line, code in mypy_errors
        if name == WRONG.name and line not in inside
    )
    assert stray == [], f"only the marked lines may fail; the imports and helpers must not: {stray}"


@pytest.mark.task(1)
def test_notifier_is_a_runtime_checkable_protocol() -> None:
    class Sms:
        def __init__(self, ok: bool) -> None:
            self.ok = ok

        def send(self, to: str, body: str) -> bool:
            return self.ok

    assert isinstance(Sms(True), typed.Notifier), "no inheritance: having send() is enough"
    assert not isinstance(object(), typed.Notifier), "an object without send() is no Notifier"
    assert typed.broadcast([Sms(True), Sms(False), Sms(True)], "ann", "hi") == 2


@pytest.mark.task(3)
def test_parse_user_builds_a_user_row() -> None:
    row = typed.parse_user({"id": 7, "email": "ann@example.com", "extra": [1, 2]})
    assert row == {"id": 7, "email": "ann@example.com"}, "unknown keys are dropped"
    assert "nickname" not in row, "NotRequired means absent, not None: leave the key out"
    with_nick = typed.parse_user({"id": 8, "email": "bob@example.com", "nickname": "bobby"})
    assert with_nick == {"id": 8, "email": "bob@example.com", "nickname": "bobby"}


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"id": "7", "email": "ann@example.com"}, "id"),
        ({"id": True, "email": "ann@example.com"}, "id"),
        ({"id": False, "email": "ann@example.com"}, "id"),
        ({"email": "ann@example.com"}, "id"),
        ({"id": 7.0, "email": "ann@example.com"}, "id"),
        ({"id": 7, "email": b"ann@example.com"}, "email"),
        ({"id": 7}, "email"),
        ({"id": 7, "email": "ann@example.com", "nickname": 5}, "nickname"),
        ({"id": 7, "email": "ann@example.com", "nickname": None}, "nickname"),
    ],
    ids=[
        "id-str",
        "id-true",
        "id-false",
        "id-missing",
        "id-float",
        "email-bytes",
        "email-missing",
        "nickname-int",
        "nickname-none",
    ],
)
@pytest.mark.task(3)
def test_parse_user_rejects_wrong_types(data: dict[str, object], key: str) -> None:
    with pytest.raises(TypeError, match=rf"\b{key}\b"):  # the key itself, not "invalid"
        typed.parse_user(data)


@pytest.mark.task(3)
def test_parse_user_accepts_falsy_values_and_subclasses_of_the_types() -> None:
    class UserId(int):
        pass

    class Email(str):
        pass

    row = typed.parse_user({"id": 0, "email": "", "nickname": ""})
    assert row == {"id": 0, "email": "", "nickname": ""}, (
        "0 and '' have the right types: check types with isinstance, not truthiness; "
        "a present nickname is kept even when empty"
    )
    sub = typed.parse_user({"id": UserId(5), "email": Email("ann@example.com")})
    assert sub == {"id": 5, "email": "ann@example.com"}, (
        "isinstance, not `type(x) is int`: a subclass of int is an int (bool is the exception)"
    )


@pytest.mark.task(4)
def test_page_is_a_frozen_generic_dataclass() -> None:
    page = typed.Page[int](items=(1, 2, 3), total=30)
    labels = page.map(lambda n: f"#{n}")
    assert labels == typed.Page(items=("#1", "#2", "#3"), total=30), "map keeps the total"
    assert page.items == (1, 2, 3), "map returns a new page; the original is unchanged"
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.total = 0  # type: ignore[misc]


@pytest.mark.task(5)
def test_transactional_injects_a_session_and_commits() -> None:
    sessions: list[typed.Session] = []

    @typed.transactional
    def create_user(session: typed.Session, name: str, *, admin: bool = False) -> str:
        """Insert a user."""
        sessions.append(session)
        session.execute(f"insert {name} admin={admin}")
        return name.upper()

    assert create_user("ann", admin=True) == "ANN", "the wrapper returns what func returns"
    assert create_user("bob") == "BOB"
    assert [s.statements for s in sessions] == [
        ["insert ann admin=True"],
        ["insert bob admin=False"],
    ]
    assert [s.state for s in sessions] == ["committed", "committed"], "a new session per call"
    assert (create_user.__name__, create_user.__doc__) == ("create_user", "Insert a user.")


@pytest.mark.task(5)
def test_transactional_rolls_back_and_reraises() -> None:
    sessions: list[typed.Session] = []

    @typed.transactional
    def fail(session: typed.Session) -> None:
        sessions.append(session)
        raise LookupError("no such user")

    with pytest.raises(LookupError, match="no such user"):
        fail()
    assert [s.state for s in sessions] == ["rolled back"], "an error rolls back, then propagates"


class Shutdown(BaseException):
    """Like KeyboardInterrupt or asyncio.CancelledError: not an Exception, still an exit."""


@pytest.mark.task(5)
def test_transactional_rolls_back_on_any_exception() -> None:
    sessions: list[typed.Session] = []

    @typed.transactional
    def interrupted(session: typed.Session) -> None:
        sessions.append(session)
        raise Shutdown

    with pytest.raises(Shutdown):
        interrupted()
    assert [s.state for s in sessions] == ["rolled back"], (
        "`except Exception` misses KeyboardInterrupt and CancelledError: roll back on BaseException"
    )


@pytest.mark.task(6)
def test_parse_id_dispatches_on_the_argument_type() -> None:
    assert typed.parse_id("3") == 3
    assert typed.parse_id(["3", "4"]) == [3, 4]
    with pytest.raises(TypeError):
        typed.parse_id(3.5)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        typed.parse_id(("3", "4"))  # type: ignore[call-overload]  # a tuple is not a list
