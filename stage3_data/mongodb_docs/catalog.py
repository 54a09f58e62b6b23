"""A product catalogue in MongoDB: flexible documents, a validated core, indexes, aggregation.

Books, shoes and laptops share a core (``sku``, ``name``, ``kind``, ``price_cents``) and carry
attributes of their own (``details.author``, ``variants[]``, ``specs.ram_gb``). The query builders
return plain filter documents, so the same filter serves ``find``, ``count_documents``,
``delete_many`` and an aggregation ``$match``.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.collection import Collection
from pymongo.database import Database

Doc = dict[str, Any]
KINDS = ("book", "shoe", "laptop")


def books_by(author: str) -> Doc:
    """Filter: books whose nested ``details.author`` is ``author``."""
    # kata: begin return a filter matching the nested field details.author with dot notation
    return {"details.author": author}
    # kata: end


def in_stock(size: int) -> Doc:
    """Filter: shoes with ONE variant that has this size AND stock > 0."""
    # kata: begin return a filter where a single element of `variants` has this size and stock > 0 ($elemMatch)
    return {"variants": {"$elemMatch": {"size": size, "stock": {"$gt": 0}}}}
    # kata: end


def lacking(field: str) -> Doc:
    """Filter: documents that do not have ``field`` at all (an explicit null is not missing)."""
    # kata: begin return a filter matching documents where `field` is absent, not merely null ($exists)
    return {field: {"$exists": False}}
    # kata: end


def cheapest(products: Collection[Doc], kind: str, limit: int) -> list[Doc]:
    """The ``limit`` cheapest products of ``kind`` as ``{sku, name, price_cents}``, no ``_id``."""
    # kata: begin find `kind`, project sku/name/price_cents without _id, sort by price then sku, limit
    cursor = (
        products.find({"kind": kind}, {"_id": 0, "sku": 1, "name": 1, "price_cents": 1})
        .sort([("price_cents", ASCENDING), ("sku", ASCENDING)])
        .limit(limit)
    )
    return list(cursor)
    # kata: end


def product_schema() -> Doc:
    """The ``$jsonSchema`` of the shared core; every other field stays free-form."""
    # kata: begin require sku (AA-000 pattern), name (non-empty), kind (enum KINDS), price_cents (int >= 0); tags an array of strings
    return {
        "bsonType": "object",
        "required": ["sku", "name", "kind", "price_cents"],
        "properties": {
            "sku": {"bsonType": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"},
            "name": {"bsonType": "string", "minLength": 1},
            "kind": {"enum": list(KINDS)},
            "price_cents": {"bsonType": ["int", "long"], "minimum": 0},
            "tags": {"bsonType": "array", "items": {"bsonType": "string"}},
        },
    }
    # kata: end


def create_products(db: Database[Doc]) -> Collection[Doc]:
    """Create ``products`` with ``product_schema()`` enforced on every insert and update."""
    # kata: begin create_collection "products" with the $jsonSchema validator, validationLevel strict, validationAction error
    return db.create_collection(
        "products",
        validator={"$jsonSchema": product_schema()},
        validationLevel="strict",
        validationAction="error",
    )
    # kata: end


def ensure_product_indexes(products: Collection[Doc]) -> list[str]:
    """A compound (kind, price_cents) index and a unique ISBN index that only books enter."""
    # kata: begin create the compound index kind+price_cents and a unique index on details.isbn, partial to documents that have it
    return [
        products.create_index([("kind", ASCENDING), ("price_cents", ASCENDING)]),
        products.create_index(
            [("details.isbn", ASCENDING)],
            unique=True,
            partialFilterExpression={"details.isbn": {"$exists": True}},
        ),
    ]
    # kata: end


def ensure_cart_expiry(carts: Collection[Doc], seconds: int) -> str:
    """A TTL index: the server deletes a cart ``seconds`` after its ``updated_at``."""
    # kata: begin create a TTL index on the date field updated_at with expireAfterSeconds
    return carts.create_index("updated_at", expireAfterSeconds=seconds)
    # kata: end


def revenue_pipeline() -> list[Doc]:
    """Paid orders only; per item category: revenue_cents, units and the number of orders."""
    # kata: begin $match paid, $unwind items, $group by category (sum qty*price_cents, sum qty, distinct orders), $sort, $project
    return [
        {"$match": {"status": "paid"}},
        {"$unwind": "$items"},
        {
            "$group": {
                "_id": "$items.category",
                "revenue_cents": {"$sum": {"$multiply": ["$items.qty", "$items.price_cents"]}},
                "units": {"$sum": "$items.qty"},
                "orders": {"$addToSet": "$_id"},
            }
        },
        {"$sort": {"revenue_cents": -1, "_id": 1}},
        {
            "$project": {
                "_id": 0,
                "category": "$_id",
                "revenue_cents": 1,
                "units": 1,
                "orders": {"$size": "$orders"},
            }
        },
    ]
    # kata: end


def revenue_by_category(orders: Collection[Doc]) -> list[Doc]:
    return list(orders.aggregate(revenue_pipeline()))


async def insert_products_async(products: AsyncCollection[Doc], docs: list[Doc]) -> int:
    """Insert ``docs`` in one round trip; return how many the server acknowledged."""
    # kata: begin await insert_many and return the number of inserted ids
    result = await products.insert_many(docs)
    return len(result.inserted_ids)
    # kata: end


async def cheapest_async(products: AsyncCollection[Doc], kind: str, limit: int) -> list[Doc]:
    """``cheapest`` on the async API: same filter, projection, sort and limit."""
    # kata: begin build the same cursor as `cheapest` (find is not awaited) and await its to_list()
    cursor = (
        products.find({"kind": kind}, {"_id": 0, "sku": 1, "name": 1, "price_cents": 1})
        .sort([("price_cents", ASCENDING), ("sku", ASCENDING)])
        .limit(limit)
    )
    return await cursor.to_list()
    # kata: end


async def revenue_by_category_async(orders: AsyncCollection[Doc]) -> list[Doc]:
    """``revenue_by_category`` on the async API."""
    # kata: begin await aggregate(revenue_pipeline()) — it returns a cursor — then await its to_list()
    cursor = await orders.aggregate(revenue_pipeline())
    return await cursor.to_list()
    # kata: end
