"""MongoDB catalogue kata: each test seeds its own database and calls one piece of learner code.

Tests that need what mongomock does not do ($jsonSchema validation, a query planner, the async
API) skip with the reason when the endpoint is the mongomock stand-in, and run on a real server;
the same tasks are also judged without one (the schema document by jsonschema, the collection
options by a recording database, the async calls on an awaitable stand-in).
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import mongomock.aggregate
import pytest
from bson import Decimal128, ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.collection import Collection
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
    product_schema,
    revenue_by_category,
    revenue_by_category_async,
    revenue_pipeline,
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
    {
        "_id": 5,
        "status": "pending",  # neither paid nor cancelled: not revenue either
        "items": [{"sku": "BK-001", "category": "book", "qty": 9, "price_cents": 4500}],
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
    assert skus(list(db.products.find(books_by("Harry")))) == set(), (
        "an equality test on the field: no $regex, which would find 'Harry' inside any name"
    )


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


# --- $jsonSchema without a server ---------------------------------------------------------------
# mongomock cannot enforce a validator, so the schema document itself is judged: by the jsonschema
# library (draft 4, the draft MongoDB's $jsonSchema follows) taught MongoDB's `bsonType` keyword,
# after a check that it uses only what MongoDB accepts.

MONGO_KEYWORDS = {
    "additionalItems", "additionalProperties", "allOf", "anyOf", "bsonType", "dependencies",
    "description", "enum", "exclusiveMaximum", "exclusiveMinimum", "items", "maxItems",
    "maxLength", "maxProperties", "maximum", "minItems", "minLength", "minProperties", "minimum",
    "multipleOf", "not", "oneOf", "pattern", "patternProperties", "properties", "required",
    "title", "type", "uniqueItems",
}  # fmt: skip
INT32, INT64 = 2**31, 2**63


def is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# How pymongo stores a Python value, and so which bsonType the server sees: an int that fits 32
# bits is an "int", a larger one a "long"; a float is a "double" even when it is 40.0.
BSON_TYPES: dict[str, Callable[[object], bool]] = {
    "double": lambda v: isinstance(v, float),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "objectId": lambda v: isinstance(v, ObjectId),
    "bool": lambda v: isinstance(v, bool),
    "date": lambda v: isinstance(v, datetime.datetime),
    "null": lambda v: v is None,
    "int": lambda v: is_integer(v) and -INT32 <= v < INT32,  # type: ignore[operator]
    "long": lambda v: is_integer(v) and -INT64 <= v < INT64 and not -INT32 <= v < INT32,  # type: ignore[operator]
    "decimal": lambda v: isinstance(v, Decimal128),
    "number": lambda v: is_integer(v) or isinstance(v, (float, Decimal128)),
}


def mongo_schema_problems(schema: object, where: str = "$jsonSchema") -> Iterator[str]:
    """What in ``schema`` MongoDB's $jsonSchema would refuse (it is draft 4, with omissions)."""
    if not isinstance(schema, dict):
        yield f"{where}: a schema is a document, not {schema!r}"
        return
    for key in sorted(set(schema) - MONGO_KEYWORDS):
        yield f"{where}: MongoDB's $jsonSchema has no keyword {key!r}"
    types = schema.get("type", [])
    if "integer" in (types if isinstance(types, list) else [types]):
        yield f"{where}: MongoDB has no 'integer' type: say bsonType 'int' or 'long'"
    bson_types = schema.get("bsonType", [])
    for name in bson_types if isinstance(bson_types, list) else [bson_types]:
        if name not in BSON_TYPES:
            yield f"{where}: {name!r} is not a bsonType alias (those are {sorted(BSON_TYPES)})"
    for key in ("properties", "patternProperties"):
        for name, sub in schema.get(key, {}).items():
            yield from mongo_schema_problems(sub, f"{where}.{key}.{name}")
    for key in ("items", "additionalItems", "additionalProperties", "not"):
        sub = schema.get(key)
        for n, item in enumerate(sub if isinstance(sub, list) else [sub]):
            if isinstance(item, dict):
                yield from mongo_schema_problems(item, f"{where}.{key}[{n}]")
    for key in ("allOf", "anyOf", "oneOf"):
        for n, item in enumerate(schema.get(key, [])):
            yield from mongo_schema_problems(item, f"{where}.{key}[{n}]")


def bson_type(validator: Any, expected: str | list[str], value: object, schema: Doc) -> Any:
    names = expected if isinstance(expected, list) else [expected]
    if not any(BSON_TYPES[name](value) for name in names):
        yield jsonschema.ValidationError(f"{value!r} is not of bsonType {expected!r}")


MongoSchemaValidator = jsonschema.validators.extend(
    jsonschema.Draft4Validator, validators={"bsonType": bson_type}
)


def schema_errors(doc: Doc) -> list[str]:
    """Why the server would refuse to store ``doc`` under ``product_schema()``; [] if it would not."""
    validator = MongoSchemaValidator(product_schema())
    return [error.message for error in validator.iter_errors(doc)]


GOOD: Doc = {"sku": "BK-010", "name": "Refactoring", "kind": "book", "price_cents": 4000}


@pytest.mark.task(5)
def test_schema_is_a_mongodb_json_schema() -> None:
    schema = product_schema()
    assert list(mongo_schema_problems(schema)) == []
    jsonschema.Draft4Validator.check_schema(schema)
    assert "additionalProperties" not in schema, (
        "books, shoes and laptops each carry fields of their own: constrain the core only"
    )


@pytest.mark.task(5)
@pytest.mark.parametrize(
    "doc",
    [
        *PRODUCTS,
        GOOD,
        {**GOOD, "price_cents": 0},  # the minimum is allowed
        {**GOOD, "price_cents": 2**40},  # stored as a 64-bit "long"
        {**GOOD, "name": "X"},  # one character is not empty
        {**GOOD, "kind": "shoe", "sku": "SH-999", "tags": []},
        {**GOOD, "kind": "laptop", "sku": "ZZ-000", "tags": ["a", "b"], "anything": {"x": 1}},
    ],
    ids=lambda doc: f"{doc['sku']}-{doc['price_cents']}-{doc['name'][:5]}-{len(doc)}",
)
def test_schema_accepts_every_kind_and_the_edges_of_the_core(doc: Doc) -> None:
    assert schema_errors(doc) == [], f"a valid document the schema would refuse: {doc}"


BROKEN: dict[str, Doc] = {
    "no sku": {key: value for key, value in GOOD.items() if key != "sku"},
    "no name": {key: value for key, value in GOOD.items() if key != "name"},
    "no kind": {key: value for key, value in GOOD.items() if key != "kind"},
    "no price": {key: value for key, value in GOOD.items() if key != "price_cents"},
    "sku lower case": {**GOOD, "sku": "bk-010"},
    "sku with a prefix": {**GOOD, "sku": "XBK-010"},  # the pattern is anchored at both ends
    "sku with a suffix": {**GOOD, "sku": "BK-0100"},
    "sku short": {**GOOD, "sku": "BK-01"},
    "sku not a string": {**GOOD, "sku": 10},
    "empty name": {**GOOD, "name": ""},
    "name not a string": {**GOOD, "name": 42},
    "unknown kind": {**GOOD, "kind": "car"},
    "kind capitalised": {**GOOD, "kind": "Book"},
    "negative price": {**GOOD, "price_cents": -1},
    "float price": {**GOOD, "price_cents": 39.99},
    "whole float price": {**GOOD, "price_cents": 40.0},  # a BSON double, not an int
    "price as text": {**GOOD, "price_cents": "4000"},
    "price a bool": {**GOOD, "price_cents": True},
    "tags not an array": {**GOOD, "tags": "python"},
    "a tag not a string": {**GOOD, "tags": ["ok", 7]},
}


@pytest.mark.task(5)
@pytest.mark.parametrize("doc", BROKEN.values(), ids=BROKEN.keys())
def test_schema_rejects_a_broken_core(doc: Doc) -> None:
    assert schema_errors(doc) != [], f"the schema lets this through: {doc}"


class RecordingDatabase:
    """A database whose ``create_collection`` records its options (mongomock refuses them)."""

    def __init__(self, db: Database[Doc]) -> None:
        self.db = db
        self.created: list[tuple[str, Doc]] = []

    def create_collection(self, name: str, **options: Any) -> Any:
        self.created.append((name, options))
        return self.db[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def __getitem__(self, name: str) -> Any:
        return self.db[name]


@pytest.mark.task(6)
def test_create_products_passes_the_validator_and_its_options(db: Database[Doc]) -> None:
    recording = RecordingDatabase(db)
    products: Any = create_products(recording)  # type: ignore[arg-type]
    assert [name for name, _ in recording.created] == ["products"], "one create_collection call"
    (options,) = [options for _, options in recording.created]
    assert options == {
        "validator": {"$jsonSchema": product_schema()},
        "validationLevel": "strict",
        "validationAction": "error",
    }, "the $jsonSchema validator; strict checks inserts AND every update; error rejects the write"
    assert products.full_name == db.products.full_name, "return the collection it created"


# --- aggregation order where $group's output order is not the stand-in's -----------------------


@pytest.fixture
def unordered_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """$group guarantees no order; mongomock sorts its groups by key, which hides a missing
    tie-break. Reversed here, so only an explicit $sort puts the output in order."""
    handlers = mongomock.aggregate._PIPELINE_HANDLERS
    group: Any = handlers["$group"]

    def reversed_group(*args: Any) -> list[Doc]:
        return list(reversed(group(*args)))

    monkeypatch.setitem(handlers, "$group", reversed_group)


@pytest.mark.task(9)
def test_revenue_ties_are_ordered_by_category(db: Database[Doc], unordered_group: None) -> None:
    db.orders.insert_many(
        [
            {"_id": 1, "status": "paid", "items": [
                {"sku": "BK-001", "category": "book", "qty": 2, "price_cents": 1000},
                {"sku": "SH-001", "category": "shoe", "qty": 1, "price_cents": 2000},
                {"sku": "LP-001", "category": "laptop", "qty": 1, "price_cents": 500},
            ]},
            {"_id": 2, "status": "paid", "items": [
                {"sku": "XX-001", "category": "art", "qty": 4, "price_cents": 500},
            ]},
        ]
    )  # fmt: skip
    got = revenue_by_category(db.orders)
    assert [(doc["category"], doc["revenue_cents"]) for doc in got] == [
        ("art", 2000),
        ("book", 2000),
        ("shoe", 2000),
        ("laptop", 500),
    ], "highest revenue first; equal revenues by category (a-z): $sort on both, in that order"
    sorts = [stage["$sort"] for stage in revenue_pipeline() if "$sort" in stage]
    assert sorts and all(value in (1, -1) for sort in sorts for value in sort.values()), (
        f"a server refuses a $sort direction other than 1 or -1 (mongomock does not): {sorts}"
    )


# --- the async API on a stand-in: the same calls, awaited --------------------------------------


class AsyncCursor:
    """pymongo's AsyncCursor over a synchronous one: chained locally, ``to_list`` awaited."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> AsyncCursor:
        self.cursor = self.cursor.sort(*args, **kwargs)
        return self

    def limit(self, limit: int) -> AsyncCursor:
        self.cursor = self.cursor.limit(limit)
        return self

    def skip(self, skip: int) -> AsyncCursor:
        self.cursor = self.cursor.skip(skip)
        return self

    async def to_list(self, length: int | None = None) -> list[Doc]:
        docs = list(self.cursor)
        return docs if length is None else docs[:length]

    def __aiter__(self) -> AsyncCursor:
        self.iterator = iter(self.cursor)
        return self

    async def __anext__(self) -> Doc:
        try:
            doc: Doc = next(self.iterator)
        except StopIteration:
            raise StopAsyncIteration from None
        return doc


class AsyncCollectionStandIn:
    """The part of pymongo's AsyncCollection this kata uses, on a synchronous collection: what
    talks to the server is a coroutine, ``find`` builds a cursor without awaiting."""

    def __init__(self, collection: Collection[Doc]) -> None:
        self.collection = collection

    async def insert_many(self, docs: list[Doc], **kwargs: Any) -> Any:
        return self.collection.insert_many(docs, **kwargs)

    def find(self, *args: Any, **kwargs: Any) -> AsyncCursor:
        return AsyncCursor(self.collection.find(*args, **kwargs))

    async def aggregate(self, pipeline: list[Doc], **kwargs: Any) -> AsyncCursor:
        return AsyncCursor(self.collection.aggregate(pipeline, **kwargs))


@pytest.mark.task(10)
async def test_async_calls_on_a_stand_in(db: Database[Doc], unordered_group: None) -> None:
    products: Any = AsyncCollectionStandIn(db.products)
    assert await insert_products_async(products, copy.deepcopy(PRODUCTS)) == len(PRODUCTS)
    assert db.products.count_documents({}) == len(PRODUCTS), "one insert_many of every document"
    assert await cheapest_async(products, "shoe", 2) == [
        {"sku": "SH-002", "name": "City Sneaker", "price_cents": 8900},
        {"sku": "SH-003", "name": "Winter Boot", "price_cents": 8900},
    ], "the same filter, projection, sort (price, then sku) and limit as cheapest"
    assert await cheapest_async(products, "laptop", 5) == cheapest(db.products, "laptop", 5)
    db.orders.insert_many(copy.deepcopy(ORDERS))
    orders: Any = AsyncCollectionStandIn(db.orders)
    assert await revenue_by_category_async(orders) == REVENUE
