"""SQL injection: the corpus works against ``vulnerable`` and fails against ``safe``; the safe
functions still answer every honest question, hostile identifiers are a ValueError (a 400)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest

from . import safe, vulnerable
from .conftest import (
    ADMIN_HASH,
    SECRET_PRODUCT,
    WRONG_PASSWORD,
    attack,
    client_for,
    mallory_is_admin,
    run,
    sleeps,
)
from .payloads import SQL_PAYLOADS, SqlPayload
from .store import PRODUCTS, USERS, Conn

HERE = Path(__file__).parent
TASK_OF_ENTRY = {"login": 1, "search": 2, "sort-column": 3, "sort-direction": 3, "table": 3}
IDENTIFIER_ENTRIES = {"sort-column", "sort-direction", "table"}


def corpus(entries: set[str]) -> list[object]:
    return [
        pytest.param(
            p, id=f"{p.kind}:{p.entry}:{p.text}", marks=pytest.mark.task(TASK_OF_ENTRY[p.entry])
        )
        for p in SQL_PAYLOADS
        if p.entry in entries
    ]


@pytest.mark.parametrize("payload", corpus(set(TASK_OF_ENTRY)))
def test_the_payload_works_on_the_vulnerable_shop_and_fails_on_the_safe_one(
    shop_url: str, conn: Conn, payload: SqlPayload
) -> None:
    assert attack(vulnerable, conn, payload), "the payload is real: it works on vulnerable.py"
    conn.execute("TRUNCATE probe.sleeps")
    conn.execute("UPDATE users SET is_admin = false WHERE username = 'mallory'")
    assert not attack(safe, conn, payload), "safe.py must not let it through"
    outcome = run(safe, conn, payload.entry, payload.asking("1=1"))
    if payload.entry in IDENTIFIER_ENTRIES:
        assert isinstance(outcome.error, ValueError), "an identifier off the allow-list is refused"
    else:
        assert outcome.error is None, f"a value is data, never an error: {outcome.error!r}"
    assert sleeps(conn) == [] and not mallory_is_admin(conn), "nothing of the payload ran"


def boolean_oracle(variant: object, conn: Conn) -> list[int]:
    """Read the admin's hash, 4 characters, bit by bit, asking only yes/no questions."""
    template = next(p for p in SQL_PAYLOADS if p.kind == "boolean-blind" and p.entry == "search")
    secret = "(SELECT password_hash FROM users WHERE username = 'admin')"
    codes = []
    for position in range(1, 5):
        code = 0
        for bit in range(7):
            question = f"(ascii(substr({secret}, {position}, 1)) >> {bit}) & 1 = 1"
            if run(variant, conn, "search", template.asking(question)).result:  # type: ignore[arg-type]
                code |= 1 << bit
        codes.append(code)
    return codes


@pytest.mark.task(2)
def test_boolean_blind_reads_a_secret_from_vulnerable_and_nothing_from_safe(conn: Conn) -> None:
    stolen = "".join(map(chr, boolean_oracle(vulnerable, conn)))
    assert stolen == ADMIN_HASH[:4], "28 yes/no answers read the first 4 characters of the hash"
    assert boolean_oracle(safe, conn) == [0, 0, 0, 0], "safe: every question answers the same"


@pytest.mark.task(1)
def test_login_checks_the_password_whatever_characters_it_holds(conn: Conn) -> None:
    for user_id, username, _, password, _ in USERS:
        assert safe.login(conn, username, password) == user_id
        assert safe.login(conn, username, WRONG_PASSWORD) is None
    assert safe.login(conn, "alice", "alice's wonderland") == 2, "a quote in a password is data"
    assert safe.login(conn, "admin", "") is None
    assert safe.login(conn, "nobody", "wonderland") is None
    assert safe.login(conn, "ALICE", "alice's wonderland") is None, "usernames are exact"


def names(rows: list[tuple[str, Decimal]]) -> list[str]:
    return [name for name, _ in rows]


@pytest.mark.task(2)
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("50%", ["50% Off Voucher"]),  # not "50 Percent Poster": % is not a wildcard here
        ("%", ["50% Off Voucher"]),
        ("USB_C", ["USB_C Cable"]),  # not "USB-C Hub": _ is not a wildcard either
        ("_", ["USB_C Cable"]),
        ("C:\\Temp", ["C:\\Temp Mug"]),  # a backslash, LIKE's escape character, matches itself
        ("\\", ["C:\\Temp Mug"]),
        ("\\%", []),
        ("kid's", ["Kid's Tablet"]),  # any case; a quote is just a character
        ("mouse", ["Mouse"]),
        ("prototype", []),  # unpublished
        ("", sorted(p.name for p in PRODUCTS if p.published)),
    ],
)
def test_search_matches_the_term_literally(conn: Conn, term: str, expected: list[str]) -> None:
    assert names(safe.search_products(conn, term)) == expected
    assert safe.like_contains("a%b_c\\d") == "%a\\%b\\_c\\\\d%"


@pytest.mark.task(2)
def test_search_returns_names_and_prices(conn: Conn) -> None:
    assert safe.search_products(conn, "o") == [
        ("50 Percent Poster", Decimal("12.00")),
        ("50% Off Voucher", Decimal("5.00")),
        ("Keyboard", Decimal("49.00")),
        ("Mouse", Decimal("19.50")),
    ]


PUBLISHED = [p for p in PRODUCTS if p.published]


@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("column", "direction", "reverse"),
    [
        ("name", "asc", False),
        ("name", "DESC", True),
        ("price", "desc", True),
        ("price", "Asc", False),
        ("id", "desc", True),
    ],
)
def test_sorting_by_an_allowed_column(
    conn: Conn, column: str, direction: str, reverse: bool
) -> None:
    expected = [p.name for p in sorted(PUBLISHED, key=attrgetter(column), reverse=reverse)]
    assert safe.sorted_products(conn, column, direction) == expected


@pytest.mark.task(3)
def test_ties_are_broken_by_id_whatever_the_storage_order(conn: Conn) -> None:
    # Twelve stickers at one price, stored in descending id order: without a tie-breaker,
    # PostgreSQL's sort (not a stable one) hands them back in no particular order.
    stickers = [(i, f"Sticker {i}") for i in range(120, 108, -1)]
    for sticker_id, name in stickers:
        conn.execute("INSERT INTO products VALUES (%s, %s, 1, 3)", (sticker_id, name))
    by_id = [name for _, name in sorted(stickers)]
    for direction in ("asc", "desc"):
        found = safe.sorted_products(conn, "price", direction)
        assert [name for name in found if name.startswith("Sticker")] == by_id, direction
    poster, mug = "50 Percent Poster", "C:\\Temp Mug"  # 12.00 each
    assert found.index(poster) < found.index(mug)


@pytest.mark.task(3)
@pytest.mark.parametrize("column", ["password_hash", "Name", "name ", "published", "1", ""])
def test_sorting_by_anything_else_is_a_value_error_naming_the_choices(
    conn: Conn, column: str
) -> None:
    with pytest.raises(ValueError) as refused:
        safe.sorted_products(conn, column, "asc")
    assert all(choice in str(refused.value) for choice in ("id", "name", "price"))


@pytest.mark.task(3)
@pytest.mark.parametrize("direction", ["up", "ascending", "", "asc desc", " desc"])
def test_an_unknown_direction_is_a_value_error_naming_the_choices(
    conn: Conn, direction: str
) -> None:
    with pytest.raises(ValueError) as refused:
        safe.sorted_products(conn, "name", direction)
    assert "asc" in str(refused.value) and "desc" in str(refused.value)


@pytest.mark.task(3)
def test_table_rows_of_the_allowed_tables_only(conn: Conn) -> None:
    assert safe.table_rows(conn, "categories") == [
        (1, "Peripherals"),
        (2, "Displays"),
        (3, "Gifts"),
    ]
    assert safe.table_rows(conn, "products") == [(p.id, p.name) for p in PRODUCTS]
    for table in ("users", "Products", "comments", "pg_user", "products "):
        with pytest.raises(ValueError) as refused:
            safe.table_rows(conn, table)
        assert "categories" in str(refused.value) and "products" in str(refused.value)


@pytest.mark.task(3)
def test_the_web_app_answers_400_with_the_reason_where_vulnerable_answers_500(
    shop_url: str,
) -> None:
    hostile = [
        ("/products/sorted", {"by": "password_hash"}),
        ("/products/sorted", {"by": "name", "dir": "asc; DROP TABLE users"}),
        ("/tables/users", {}),
    ]
    with client_for(safe, shop_url) as app, client_for(vulnerable, shop_url) as weak:
        assert weak.get("/products/sorted", params={"dir": "sideways"}).status_code == 500
        for path, params in hostile:
            response = app.get(path, params=params)
            assert response.status_code == 400, (path, params)
            assert "choose" in response.json()["detail"], "the body says what is allowed"
        ok = app.get("/products/sorted", params={"by": "price", "dir": "desc"})
        assert (ok.status_code, ok.json()[0]) == (200, "Kid's Tablet")
        assert app.get("/tables/categories").json()[0] == [1, "Peripherals"]
    assert SECRET_PRODUCT not in ok.json()


def bandit(path: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bandit", "-q", "-f", "json", "-c", str(HERE / "bandit.yaml")]
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.task(1)
def test_bandit_flags_the_vulnerable_module_and_passes_the_safe_one(conn: Conn) -> None:
    weak = bandit(HERE / "vulnerable.py")
    found = {(r["test_id"], r["line_range"][0]) for r in weak["results"]}
    assert {test_id for test_id, _ in found} >= {"B608", "B610", "B701", "B704"}, (
        "SQL built from strings, extra(), autoescape off, Markup(user input): the check is real"
    )
    assert len([t for t, _ in found if t == "B608"]) == 5, "every formatted query, Django raw() too"
    assert safe.login(conn, "admin", WRONG_PASSWORD) is None, "bandit judges working code"
    report = bandit(HERE / "safe.py")
    assert report["results"] == [], "bandit finds nothing in safe.py"
    totals = report["metrics"]["_totals"]
    assert totals["nosec"] == 0 and totals["skipped_tests"] == 0, "no finding silenced"
