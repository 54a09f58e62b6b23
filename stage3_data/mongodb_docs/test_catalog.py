"""MongoDB catalogue kata: each test seeds its own database and calls one piece of learner code.

Tests that need what mongomock does not do ($jsonSchema validation, a query planner, the async
API) skip with the reason when the endpoint is the mongomock stand-in, and run on a real server.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, WriteError

from katas.kit import Endpoint

from .catalog import (
    books_by,
    cheapest,
    cheapest_async,
    create_products,
    ensure_cart_expiry,
    ensure_product_indexes,
    in_stock,
    insert_products_async,
    lacking,
    revenue_by_category,
    revenue_by_category_async,
)

Doc = dict[str, Any]

# Inserted in this (shuffled) order, so insertion order never happens to equal a sorted order.
PRODUCTS: list[Doc] = [
    {
        "sku": "SH-003",
        "name": "Winter Boot",
        "kind": "shoe",
        "price_cents": 8900,
        "variants": [{"size": 41, "stock": 1}, {"size": 44, "stock": 0}],
    },
    {
        "sku": "BK-004",
        "name": "Test-Driven Development with Python",
        "kind": "book",
        "price_cents": 3900,
        "details": {"author": "Harry Percival", "isbn": "978-1491958704", "pages": 614},
        "discount": 10,
        "tags": ["python", "testing"],
    },
    {
        "sku": "LP-002",
        "name": "Workstation 16",
        "kind": "laptop",
        "price_cents": 249900,
        "specs": {"ram_gb": 64, "gpu": "RTX 4070", "storage_gb": 2048},
    },
    {
        "sku": "SH-001",
        "name": "Trail Runner",
        "kind": "shoe",
        "price_cents": 9900,
        "variants": [{"size": 42, "stock": 0}, {"size": 43, "stock": 4}],
        "tags": ["running"],
    },
    {
        "sku": "BK-001",
        "name": "Designing Data-Intensive Applications",
        "kind": "book",
        "price_cents": 4500,
        "details": {"author": "Martin Kleppmann", "isbn": "978-1449373320", "pages": 616},
        "tags": ["databases"],
    },
    {
        "sku": "LP-003",
        "name": "Student 14",
        "kind": "laptop",
        "price_cents": 59900,
        "specs": {"ram_gb": 8},
        "discount": None,
    },
    {
        "sku": "SH-002",
        "name": "City Sneaker",
        "kind": "shoe",
        "price_cents": 8900,
        "variants": [{"size": 42, "stock": 2}, {"size": 44, "stock": 0}],
        "discount": 15,
    },
    {
        "sku": "BK-003",
        "name": "Architecture Patterns with Python",
        "kind": "book",
        "price_cents": 4200,
        "details": {"author": "Harry Percival", "isbn": "978-1492052203"},
        "discount": None,
    },
    {
        "sku": "LP-001",
        "name": "Ultrabook 13",
        "kind": "laptop",
        "price_cents": 129900,
        "specs": {"ram_gb": 16, "storage_gb": 512},
    },
]

ORDERS: list[Doc] = [
    {
        "_id": 1,
        "status": "paid",
        "items": [
            {"sku": "BK-001", "category": "book", "qty": 2, "price_cents": 4500},
            {"sku": "SH-002", "category": "shoe", "qty": 1, "price_cents": 8900},
        ],
    },
    {
        "_id": 2,
        "status": "cancelled",
        "items": [{"sku": "LP-002", "category": "laptop", "qty": 1, "price_cents": 249900}],
    },
    {
        "_id": 3,
        "status": "paid",
        "items": [
            {"sku": "BK-003", "category": "book", "qty": 1, "price_cents": 4200},
            {"sku": "BK-004", "category": "book", "qty": 1, "price_cents": 3900},
        ],
    },
    {
        "_id": 4,
        "status": "paid",
        "items": [
            {"sku": "LP-003", "category": "laptop", "qty": 1, "price_cents": 59900},
            {"sku": "SH-001", "category": "shoe", "qty": 3, "price_cents": 9900},
        ],
    },
]

REVENUE = [
    {"category": "laptop", "revenue_cents": 59900, "units": 1, "orders": 1},
    {"category": "shoe", "revenue_cents": 38600, "units": 4, "orders": 2},
    {"category": "book", "revenue_cents": 17100, "units": 4, "orders": 2},
]


def needs_server(mongodb_service: Endpoint, missing: str) -> None:
    if mongodb_service.stand_in:
        pytest.skip(
            f"needs a real MongoDB server: mongomock {missing}; "
            "set KATAS_MONGODB_URL or start Docker"
        )


def seed(db: Database[Doc]) -> None:
    db.products.insert_many(copy.deepcopy(PRODUCTS))  # insert_many adds _id to what it is given


def skus(docs: list[Doc]) -> set[str]:
    return {doc["sku"] for doc in docs}


@pytest.mark.task(1)
def test_books_by_matches_a_nested_field_with_dot_notation(db: Database[Doc]) -> None:
    seed(db)
    found = skus(list(db.products.find(books_by("Harry Percival"))))
    assert found == {"BK-003", "BK-004"}, (
        "'details.author' matches one field inside the sub-document; {'details': {...}} would "
        "demand the WHOLE sub-document be equal (same fields, same order) and match nothing"
    )
    assert skus(list(db.products.find(books_by("Martin Kleppmann")))) == {"BK-001"}


@pytest.mark.task(2)
def test_in_stock_needs_one_variant_with_both_conditions(db: Database[Doc]) -> None:
    seed(db)
    assert skus(list(db.products.find(in_stock(42)))) == {"SH-002"}, (
        "SH-001 has size 42 (out of stock) and another variant in stock: 'variants.size' + "
        "'variants.stock' test ANY elements independently; $elemMatch needs the SAME element"
    )
    assert skus(list(db.products.find(in_stock(44)))) == set(), "every size-44 variant is sold out"
    assert skus(list(db.products.find(in_stock(41)))) == {"SH-003"}


@pytest.mark.task(3)
def test_lacking_tells_a_missing_field_from_an_explicit_null(db: Database[Doc]) -> None:
    seed(db)
    found = skus(list(db.products.find(lacking("discount"))))
    assert found == {"SH-003", "LP-002", "SH-001", "BK-001", "LP-001"}, (
        "{'discount': None} also matches documents that store discount: null (BK-003, LP-003); "
        "$exists: False matches only the ones without the field"
    )
    assert skus(list(db.products.find(lacking("specs.gpu")))) == skus(PRODUCTS) - {"LP-002"}, (
        "$exists works on nested paths too"
    )


@pytest.mark.task(4)
def test_cheapest_projects_sorts_and_limits(db: Database[Doc]) -> None:
    seed(db)
    assert cheapest(db.products, "shoe", 2) == [
        {"sku": "SH-002", "name": "City Sneaker", "price_cents": 8900},
        {"sku": "SH-003", "name": "Winter Boot", "price_cents": 8900},
    ], "sorted by price, ties by sku (insertion order is no order); only the projected fields"
    got = cheapest(db.products, "laptop", 5)
    assert [doc["sku"] for doc in got] == ["LP-003", "LP-001", "LP-002"], "ascending price"
    assert all("_id" not in doc for doc in got), "a projection includes _id unless told not to"


@pytest.mark.task(7)
def test_product_indexes_compound_and_partial_unique(db: Database[Doc]) -> None:
    names = ensure_product_indexes(db.products)
    info = db.products.index_information()
    assert len(names) == 2 and set(names) <= set(info), "return the names create_index gave"
    keys = {name: list(spec["key"]) for name, spec in info.items()}
    assert [("kind", 1), ("price_cents", 1)] in keys.values(), (
        "one compound index, equality field (kind) first, then the sort field (price_cents)"
    )
    (isbn,) = [info[name] for name, key in keys.items() if key == [("details.isbn", 1)]]
    assert isbn.get("unique") is True, "an ISBN identifies one book"
    assert isbn.get("partialFilterExpression") == {"details.isbn": {"$exists": True}}, (
        "only documents that HAVE an ISBN enter the index"
    )


@pytest.mark.task(7)
def test_partial_unique_index_ignores_documents_without_the_field(db: Database[Doc]) -> None:
    ensure_product_indexes(db.products)
    seed(db)  # six non-books, none with an ISBN: a plain unique index would see six nulls
    assert db.products.count_documents({}) == len(PRODUCTS)
    clash = {"sku": "BK-009", "name": "Pirate copy", "kind": "book", "price_cents": 100}
    with pytest.raises(DuplicateKeyError):
        db.products.insert_one({**clash, "details": {"isbn": "978-1449373320"}})


@pytest.mark.task(8)
def test_cart_expiry_is_a_ttl_index_on_updated_at(db: Database[Doc]) -> None:
    name = ensure_cart_expiry(db.carts, 1800)
    spec = db.carts.index_information()[name]
    assert list(spec["key"]) == [("updated_at", 1)], "TTL indexes are single-field, on a date"
    assert spec.get("expireAfterSeconds") == 1800, (
        "the server's TTL monitor (every 60 s) deletes documents whose updated_at is older"
    )


@pytest.mark.task(9)
def test_revenue_pipeline_groups_paid_items_by_category(db: Database[Doc]) -> None:
    db.orders.insert_many(copy.deepcopy(ORDERS))
    assert revenue_by_category(db.orders) == REVENUE, (
        "only paid orders ($match first, so it can use an index); $unwind one row per item; "
        "revenue is qty*price summed; orders counts distinct orders; richest category first"
    )


@pytest.mark.task(5)
def test_schema_accepts_varied_documents_and_rejects_a_broken_core(
    mongodb_service: Endpoint, db: Database[Doc]
) -> None:
    needs_server(mongodb_service, "does not support create_collection(validator=...) / $jsonSchema")
    products = create_products(db)
    products.insert_many(copy.deepcopy(PRODUCTS))
    assert products.count_documents({}) == len(PRODUCTS), (
        "the schema constrains the shared core only: book, shoe and laptop extras all pass"
    )
    good = {"sku": "BK-010", "name": "Refactoring", "kind": "book", "price_cents": 4000}
    broken: list[Doc] = [
        {key: value for key, value in good.items() if key != "name"},
        {**good, "price_cents": -1},
        {**good, "price_cents": 39.99},
        {**good, "kind": "car"},
        {**good, "sku": "refactoring"},
        {**good, "tags": ["ok", 7]},
    ]
    for doc in broken:
        with pytest.raises(WriteError) as caught:
            products.insert_one(doc)
        assert caught.value.code == 121, f"DocumentValidationFailure for {doc}"
    options = products.options()
    assert options.get("validationLevel") == "strict", "strict: inserts AND every update"
    assert options.get("validationAction") == "error", "error rejects; warn would only log"
    assert products.count_documents({}) == len(PRODUCTS), "nothing invalid got in"


@pytest.mark.task(6)
def test_schema_validates_updates_too(mongodb_service: Endpoint, db: Database[Doc]) -> None:
    needs_server(mongodb_service, "does not support create_collection(validator=...) / $jsonSchema")
    products = create_products(db)
    products.insert_one({"sku": "SH-010", "name": "Clog", "kind": "shoe", "price_cents": 2500})
    with pytest.raises(WriteError) as caught:
        products.update_one({"sku": "SH-010"}, {"$unset": {"price_cents": ""}})
    assert caught.value.code == 121, "validationLevel strict checks updates as well"


@pytest.mark.task(7)
def test_compound_index_serves_the_cheapest_query(
    mongodb_service: Endpoint, db: Database[Doc]
) -> None:
    needs_server(mongodb_service, "has no query planner to explain a query")
    ensure_product_indexes(db.products)
    seed(db)
    plan = db.products.find({"kind": "shoe"}).sort("price_cents", 1).explain()
    assert "kind_1_price_cents_1" in str(plan["queryPlanner"]), (
        "the (kind, price_cents) index answers the filter AND the sort: no in-memory SORT"
    )


@pytest.mark.task(10)
async def test_async_insert_and_cheapest(async_db: AsyncDatabase[Doc]) -> None:
    inserted = await insert_products_async(async_db.products, copy.deepcopy(PRODUCTS))
    assert inserted == len(PRODUCTS)
    assert await async_db.products.count_documents({}) == len(PRODUCTS)
    assert await cheapest_async(async_db.products, "shoe", 2) == [
        {"sku": "SH-002", "name": "City Sneaker", "price_cents": 8900},
        {"sku": "SH-003", "name": "Winter Boot", "price_cents": 8900},
    ]


@pytest.mark.task(10)
async def test_async_revenue_by_category(async_db: AsyncDatabase[Doc]) -> None:
    await async_db.orders.insert_many(copy.deepcopy(ORDERS))
    assert await revenue_by_category_async(async_db.orders) == REVENUE
