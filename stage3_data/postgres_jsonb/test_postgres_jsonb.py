"""JSONB kata: every test gets its own database; the planner tests read EXPLAIN (FORMAT JSON)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, Self, cast

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import TupleRow
from sqlalchemy import Select, create_engine, make_url
from sqlalchemy.orm import Session

from katas.kit import plan_nodes

from .catalog import (
    INDEX_NAME,
    Conn,
    add_products,
    by_weight,
    create_attrs_index,
    create_schema,
    find_containing,
    generate_products,
    patch_attrs,
    set_attr,
    variants_in_stock,
    with_keys,
)
from .models import Base, Product, skus_containing, skus_of_brand, skus_with_key

PRODUCTS: dict[str, dict[str, Any]] = {
    "TENT-1": {
        "brand": "Acme",
        "color": "green",
        "tags": ["outdoor", "sale"],
        "dims": {"w": 210, "h": 120, "weight_g": 2400},
        "variants": [{"size": "2p", "stock": 3}, {"size": "3p", "stock": 0}],
    },
    "MUG-1": {
        "brand": "Acme",
        "color": "red",
        "tags": ["kitchen"],
        "dims": {"weight_g": 350},
        "variants": [{"size": "M", "stock": 12}, {"size": "L", "stock": 1}],
    },
    "LAMP-1": {
        "brand": "Lumo",
        "color": "red",
        "tags": ["outdoor"],
        "dims": {"weight_g": 90},
        "discount": None,
        "variants": [{"size": "S", "stock": 5}],
    },
    "SOCK-1": {"brand": "Knit", "color": "black", "tags": ["sale"], "size": "M", "variants": []},
    "GIFT-1": {"gift_card": True, "value": 50},
}


@pytest.fixture
def conn(postgres_url: str) -> Iterator[Conn]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        create_schema(conn)
        add_products(conn, PRODUCTS)
        yield conn


def stored(conn: Conn, sku: str) -> Any:
    row = conn.execute("SELECT attrs FROM products WHERE sku = %s", [sku]).fetchone()
    assert row is not None, f"{sku} should still be in the table"
    return row[0]


# -- operators ---------------------------------------------------------------------------------


@pytest.mark.task(1)
def test_containment_matches_from_the_root_nested_objects_and_arrays(conn: Conn) -> None:
    assert find_containing(conn, {"brand": "Acme"}) == ["MUG-1", "TENT-1"]
    assert find_containing(conn, {"color": "red", "brand": "Lumo"}) == ["LAMP-1"], (
        "every key of the subset must match"
    )
    assert find_containing(conn, {"dims": {"weight_g": 350}}) == ["MUG-1"], (
        "@> compares nested objects structurally"
    )
    assert find_containing(conn, {"tags": ["sale"]}) == ["SOCK-1", "TENT-1"], (
        "an array contains another when it has all of its elements, in any order"
    )
    assert find_containing(conn, {"variants": [{"stock": 0}]}) == ["TENT-1"], (
        "containment reaches into objects inside arrays"
    )
    assert find_containing(conn, {"size": "M"}) == ["SOCK-1"], (
        "containment starts at the root: MUG-1 has a variant of size M, not a top-level size"
    )
    assert find_containing(conn, {}) == sorted(PRODUCTS), "every document contains {}"


@pytest.mark.task(1)
def test_containment_sends_the_subset_as_a_parameter(conn: Conn) -> None:
    add_products(conn, {"BOOT-1": {"brand": "O'Neill", "note": "50% off; 'quoted'"}})
    assert find_containing(conn, {"brand": "O'Neill"}) == ["BOOT-1"], (
        "send the subset as a parameter (Jsonb(subset)): JSON formatted into the SQL text breaks "
        "on a quote, and is an injection hole"
    )
    assert find_containing(conn, {"note": "50% off; 'quoted'"}) == ["BOOT-1"]


@pytest.mark.task(2)
def test_path_operators_return_text_so_cast_before_ordering(conn: Conn) -> None:
    assert by_weight(conn) == [
        ("TENT-1", "Acme", 2400),
        ("MUG-1", "Acme", 350),
        ("LAMP-1", "Lumo", 90),
    ], (
        "#>> returns text: cast to int before ORDER BY, or '90' sorts above '2400'; "
        "products without dims.weight_g are left out"
    )
    add_products(conn, {"CUP-1": {"brand": "Acme", "dims": {"weight_g": 350}}})  # ties the mug
    assert [sku for sku, _, _ in by_weight(conn)] == ["TENT-1", "CUP-1", "MUG-1", "LAMP-1"], (
        "equal weights are ordered by sku: ORDER BY grams DESC, sku"
    )


@pytest.mark.task(2)
def test_weight_rows_need_a_weight_and_give_the_brand_as_text(conn: Conn) -> None:
    add_products(
        conn,
        {
            "BEER-1": {"brand": 1664, "dims": {"weight_g": 330}},  # a brand that is a number
            "RUG-1": {"brand": "Knit", "dims": {"w": 200, "h": 300}},  # dims, but no weight
            "KIT-1": {"brand": "Acme", "dims": {"weight_g": None}},  # a weight of JSON null
            "PEN-1": {"dims": {"weight_g": 12}},  # no brand
        },
    )
    assert by_weight(conn) == [
        ("TENT-1", "Acme", 2400),
        ("MUG-1", "Acme", 350),
        ("BEER-1", "1664", 330),
        ("LAMP-1", "Lumo", 90),
        ("PEN-1", None, 12),
    ], (
        "attrs ->> 'brand' is text even when the JSON value is a number (-> would give 1664); "
        "only products whose dims.weight_g is a value are listed: not one with dims but no "
        "weight_g, nor one whose weight_g is JSON null (#>> gives NULL for both)"
    )


@pytest.mark.task(3)
def test_key_existence_is_top_level_and_ignores_null_values(conn: Conn) -> None:
    assert with_keys(conn, ["discount", "gift_card"], match="any") == ["GIFT-1", "LAMP-1"], (
        "?| matches any key; a key whose value is JSON null still exists"
    )
    assert with_keys(conn, ["brand", "dims"], match="all") == ["LAMP-1", "MUG-1", "TENT-1"], (
        "?& needs every key"
    )
    assert with_keys(conn, ["weight_g"], match="any") == [], (
        "?, ?| and ?& look at top-level keys only; weight_g is nested under dims"
    )


@pytest.mark.task(3)
def test_match_is_compared_by_value(conn: Conn) -> None:
    # A match read at run time (from a request, a config file) is an equal string, but not
    # the very object the literal "any" is: compare with ==, never with `is`.
    any_ = cast(Literal["any", "all"], "".join(["an", "y"]))
    all_ = cast(Literal["any", "all"], "".join(["al", "l"]))
    assert with_keys(conn, ["discount", "gift_card"], match=any_) == ["GIFT-1", "LAMP-1"]
    assert with_keys(conn, ["brand", "dims"], match=all_) == ["LAMP-1", "MUG-1", "TENT-1"]


@pytest.mark.task(4)
def test_sql_json_path_query_filters_array_elements(conn: Conn) -> None:
    assert variants_in_stock(conn, 1) == [
        ("LAMP-1", {"size": "S", "stock": 5}),
        ("MUG-1", {"size": "L", "stock": 1}),
        ("MUG-1", {"size": "M", "stock": 12}),
        ("TENT-1", {"size": "2p", "stock": 3}),
    ], "one row per matching variant, as a JSON object; 3p has no stock"
    assert variants_in_stock(conn, 5) == [
        ("LAMP-1", {"size": "S", "stock": 5}),
        ("MUG-1", {"size": "M", "stock": 12}),
    ], "pass min_stock as a jsonpath variable ($min), compared as a number"
    assert variants_in_stock(conn, 13) == []
    assert variants_in_stock(conn, 12) == [("MUG-1", {"size": "M", "stock": 12})], (
        "stock >= min_stock: a variant with exactly min_stock is in stock"
    )


@pytest.mark.task(4)
def test_variants_are_ordered_by_size_within_a_sku(conn: Conn) -> None:
    # Array order, stock order and jsonb object order (an object with more keys sorts later)
    # all put XS first; ordering by the size text puts S first.
    add_products(
        conn,
        {
            "CAP-1": {
                "variants": [{"size": "XS", "stock": 4}, {"size": "S", "stock": 9, "fit": "slim"}]
            }
        },
    )
    assert variants_in_stock(conn, 4) == [
        ("CAP-1", {"size": "S", "stock": 9, "fit": "slim"}),
        ("CAP-1", {"size": "XS", "stock": 4}),
        ("LAMP-1", {"size": "S", "stock": 5}),
        ("MUG-1", {"size": "M", "stock": 12}),
    ], "by sku, then by the variant's size as text: ORDER BY sku, variant ->> 'size'"


@pytest.mark.task(4)
def test_min_stock_travels_as_a_jsonpath_variable(conn: Conn) -> None:
    seen = recording(conn)
    assert variants_in_stock(conn, 5) == [
        ("LAMP-1", {"size": "S", "stock": 5}),
        ("MUG-1", {"size": "M", "stock": 12}),
    ]
    conn.cursor_factory = psycopg.Cursor
    texts = [
        str(query.as_string(conn) if isinstance(query, sql.Composable) else query)
        for query, _ in seen
    ]
    assert any("$min" in text for text in texts), (
        "the path should name a variable, $min, and get its value from the vars argument "
        f"(Jsonb({{'min': min_stock}})), not have the number formatted into it: {texts}"
    )


# -- partial updates ---------------------------------------------------------------------------


@pytest.mark.task(5)
def test_jsonb_set_changes_one_path_and_keeps_the_rest(conn: Conn) -> None:
    mug = PRODUCTS["MUG-1"]
    new = set_attr(conn, "MUG-1", ["variants", "1", "stock"], 0)
    want = {**mug, "variants": [{"size": "M", "stock": 12}, {"size": "L", "stock": 0}]}
    assert new == want, "a path step into an array is the element's index, as text"
    assert stored(conn, "MUG-1") == want, "the stored document changed, not only the return value"

    new = set_attr(conn, "MUG-1", ["dims", "h"], 95)
    assert new is not None
    assert new["dims"] == {"weight_g": 350, "h": 95}, "jsonb_set creates a missing last key"
    assert set_attr(conn, "MUG-1", ["color"], "blue") == {**new, "color": "blue"}
    assert set_attr(conn, "NOPE-1", ["color"], "blue") is None, "no row, nothing returned"
    for sku in PRODUCTS.keys() - {"MUG-1"}:
        assert stored(conn, sku) == PRODUCTS[sku], f"only MUG-1 is updated, not {sku}"


@pytest.mark.task(5)
def test_jsonb_set_takes_any_json_value_and_any_key(conn: Conn) -> None:
    seen = recording(conn)
    new = set_attr(conn, "LAMP-1", ["discount"], {"pct": 10, "codes": ["A", "B"]})
    assert len(seen) == 1, f"one UPDATE statement, not {len(seen)} statements"
    assert new is not None
    assert new["discount"] == {"pct": 10, "codes": ["A", "B"]}, "an object value stays an object"
    assert set_attr(conn, "LAMP-1", ["discount"], None) == {**new, "discount": None}, (
        "None becomes JSON null (Jsonb(None)); SQL NULL would make jsonb_set return NULL"
    )
    assert set_attr(conn, "LAMP-1", ["color"], False) == {**new, "color": False, "discount": None}
    key = "maker's mark, {v2}"
    doc = set_attr(conn, "LAMP-1", [key], "it's")
    assert doc is not None and doc[key] == "it's", (
        "send the path as a parameter (a Python list is a text[]): a path joined into a string "
        "breaks on commas and braces, and one formatted into the SQL on quotes"
    )
    assert stored(conn, "LAMP-1") == doc


@pytest.mark.task(6)
def test_merge_is_shallow_and_removal_applies_to_the_result(conn: Conn) -> None:
    new = patch_attrs(
        conn, "LAMP-1", {"color": "blue", "dims": {"h": 30}}, remove=["discount", "tags"]
    )
    want = {
        "brand": "Lumo",
        "color": "blue",
        "dims": {"h": 30},
        "variants": [{"size": "S", "stock": 5}],
    }
    assert new == want, (
        "|| replaces top-level keys whole (dims loses weight_g), and the keys to remove go from "
        "the merged document: write (attrs || merge) - keys, since - binds tighter than ||"
    )
    assert stored(conn, "LAMP-1") == want
    assert patch_attrs(conn, "NOPE-1", {"color": "blue"}) is None
    for sku in PRODUCTS.keys() - {"LAMP-1"}:
        assert stored(conn, sku) == PRODUCTS[sku], f"only LAMP-1 is patched, not {sku}"


@pytest.mark.task(6)
def test_patch_is_one_update_that_removes_after_merging(conn: Conn) -> None:
    seen = recording(conn)
    new = patch_attrs(conn, "MUG-1", {"promo": "spring", "color": "teal"}, remove=["promo", "tags"])
    assert len(seen) == 1, f"one UPDATE statement, not {len(seen)} statements"
    want = {key: value for key, value in PRODUCTS["MUG-1"].items() if key != "tags"}
    assert new == {**want, "color": "teal"}, (
        "merge first, then remove: a key both merged and removed is gone, (attrs || merge) - keys"
    )
    assert patch_attrs(conn, "MUG-1", {}) == {**want, "color": "teal"}, "nothing to change"
    del want["color"]
    assert patch_attrs(conn, "MUG-1", {"note": "it's, {odd}"}, remove=["color"]) == {
        **want,
        "note": "it's, {odd}",
    }


def wait_until_blocked(monitor: Conn, pid: int, writer: threading.Thread) -> None:
    """Wait until backend ``pid`` waits on a lock (a condition, not a timing assertion)."""
    deadline = time.monotonic() + 10
    while writer.is_alive() and time.monotonic() < deadline:
        row = monitor.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
        if row is not None and row[0] == "Lock":
            return
        time.sleep(0.01)
    pytest.fail(
        "the second writer never waited for the first one's row lock: does it UPDATE the row?"
    )


Update = Callable[[Conn], object]


def set_color(conn: Conn) -> object:
    return set_attr(conn, "TENT-1", ["color"], "orange")


def patch_sale(conn: Conn) -> object:
    return patch_attrs(conn, "TENT-1", {"on_sale": True}, remove=["tags"])


@pytest.mark.parametrize(
    ("first", "second"), [(set_color, patch_sale), (patch_sale, set_color)], ids=["set", "patch"]
)
@pytest.mark.task(6)
def test_concurrent_partial_updates_lose_nothing(
    postgres_url: str, conn: Conn, first: Update, second: Update
) -> None:
    with (
        psycopg.connect(postgres_url) as writer_a,
        psycopg.connect(postgres_url) as writer_b,
    ):
        first(writer_a)  # in an open transaction: writer_a now holds TENT-1's row lock
        errors: list[BaseException] = []

        def run_second() -> None:
            try:
                second(writer_b)
                writer_b.commit()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run_second)
        thread.start()
        try:
            wait_until_blocked(conn, writer_b.info.backend_pid, thread)
        finally:
            writer_a.commit()
            thread.join()
            if errors:
                raise errors[0]
    doc = stored(conn, "TENT-1")
    assert (doc["color"], doc.get("on_sale"), "tags" in doc) == ("orange", True, False), (
        "both changes must survive: update inside the database (jsonb_set, ||, -) rather than "
        "read the document into Python and write it all back, which overwrites the other change"
    )


# -- the GIN index -----------------------------------------------------------------------------


def recording(conn: Conn) -> list[tuple[Any, Any]]:
    """Make ``conn`` record each (query, params) its cursors execute."""
    seen: list[tuple[Any, Any]] = []

    class Recording(psycopg.Cursor[TupleRow]):
        def execute(self, *args: Any, **kwargs: Any) -> Self:
            query = args[0] if args else kwargs["query"]
            seen.append((query, args[1] if len(args) > 1 else kwargs.get("params")))
            return super().execute(*args, **kwargs)

    conn.cursor_factory = Recording
    return seen


def plan_of(conn: Conn, call: Callable[[], object]) -> Mapping[str, Any]:
    """The plan PostgreSQL chooses for the last statement ``call`` runs on ``conn``."""
    seen = recording(conn)
    call()
    conn.cursor_factory = psycopg.Cursor
    assert seen, "the function should run its query on the connection it is given"
    query, params = seen[-1]
    if isinstance(query, bytes):
        query = query.decode()
    statement = query if isinstance(query, sql.Composable) else sql.SQL(query)
    row = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + statement, params).fetchone()
    assert row is not None
    plan: Mapping[str, Any] = row[0][0]["Plan"]
    return plan


def scans(plan: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (node["Node Type"], node.get("Index Name"))
        for node in plan_nodes(plan)
        if node["Node Type"].endswith("Scan")
    ]


@pytest.mark.task(7)
def test_gin_index_serves_the_containment_query(conn: Conn) -> None:
    generate_products(conn, 30_000)

    def query() -> list[str]:
        return find_containing(conn, {"brand": "brand-42"})

    assert scans(plan_of(conn, query)) == [("Seq Scan", None)], "without an index: a Seq Scan"

    create_attrs_index(conn)
    conn.execute("ANALYZE products")
    opclass = conn.execute(
        """
        SELECT am.amname, opc.opcname
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indexrelid
        JOIN pg_am AS am ON am.oid = c.relam
        JOIN pg_opclass AS opc ON opc.oid = i.indclass[0]
        WHERE c.relname = %s
        """,
        [INDEX_NAME],
    ).fetchone()
    assert opclass == ("gin", "jsonb_path_ops"), f"{INDEX_NAME}: a GIN index with jsonb_path_ops"

    assert ("Bitmap Index Scan", INDEX_NAME) in scans(plan_of(conn, query)), (
        "the planner should answer attrs @> ... from the GIN index (Bitmap Index Scan); a btree "
        "on attrs, an index on one key, or jsonb_contains() in the query cannot use it"
    )
    assert len(query()) == 60, "30,000 generated products over 500 brands: 60 of brand-42"
    key_plan = plan_of(conn, lambda: with_keys(conn, ["discount"], match="any"))
    assert INDEX_NAME not in {name for _, name in scans(key_plan)}, (
        "jsonb_path_ops indexes paths to values, not keys: ?| cannot use it (jsonb_ops could)"
    )


# -- the same through SQLAlchemy ---------------------------------------------------------------


@pytest.fixture
def session(postgres_url: str) -> Iterator[Session]:
    engine = create_engine(make_url(postgres_url).set(drivername="postgresql+psycopg"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Product(sku=sku, attrs=attrs) for sku, attrs in PRODUCTS.items())
        session.commit()
        yield session
    engine.dispose()


def compiled(statement: Select[str], session: Session) -> str:
    """The SQL text SQLAlchemy emits for PostgreSQL, on one line."""
    dialect = session.get_bind().dialect
    assert dialect.name == "postgresql"
    return " ".join(str(statement.compile(dialect=dialect)).split())


@pytest.mark.task(8)
def test_orm_astext_compiles_to_the_text_arrow(session: Session) -> None:
    statement = skus_of_brand("Acme")
    assert "products.attrs ->> " in compiled(statement, session), (
        'attrs["brand"] alone is jsonb (->); .astext gives text (->>) to compare with a string'
    )
    assert list(session.scalars(statement)) == ["MUG-1", "TENT-1"]
    assert list(session.scalars(skus_of_brand("Nobody"))) == []
    assert list(session.scalars(skus_of_brand("acme"))) == [], "= compares exactly: no ILIKE"
    assert list(session.scalars(skus_of_brand("Acm"))) == [], "= compares whole strings"


@pytest.mark.task(9)
def test_orm_contains_compiles_to_containment(session: Session) -> None:
    statement = skus_containing({"tags": ["outdoor"], "color": "red"})
    assert "products.attrs @> " in compiled(statement, session), (
        "JSONB's .contains() is the @> operator, which a GIN index serves"
    )
    assert list(session.scalars(statement)) == ["LAMP-1"]
    assert list(session.scalars(skus_containing({"tags": ["sale"]}))) == ["SOCK-1", "TENT-1"]


@pytest.mark.task(10)
def test_orm_has_key_compiles_to_key_existence(session: Session) -> None:
    statement = skus_with_key("discount")
    assert "products.attrs ? " in compiled(statement, session), (
        "JSONB's .has_key() is the ? operator"
    )
    assert list(session.scalars(statement)) == ["LAMP-1"], "a key with a null value exists"
    assert list(session.scalars(skus_with_key("weight_g"))) == [], "top-level keys only"
    assert list(session.scalars(skus_with_key("brand"))) == [
        "LAMP-1",
        "MUG-1",
        "SOCK-1",
        "TENT-1",
    ], "ordered by sku"
