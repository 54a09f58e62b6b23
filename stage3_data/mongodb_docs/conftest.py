"""Per-test MongoDB databases for this kata: a real server, or mongomock where none can be had."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import mongomock
import pymongo
import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from katas.kit import Endpoint

Doc = dict[str, Any]


@pytest.fixture
def db_name(unique_name: str) -> str:
    """A database name of this test's own (MongoDB allows no dots and at most 63 bytes)."""
    return re.sub(r"\W", "_", unique_name)[-60:]


@pytest.fixture
def db(mongodb_service: Endpoint, db_name: str) -> Iterator[Database[Doc]]:
    """This test's database, dropped afterwards; on mongomock when no server is available."""
    client: Any = (
        mongomock.MongoClient()
        if mongodb_service.stand_in
        else pymongo.MongoClient(mongodb_service.url, serverSelectionTimeoutMS=20_000)
    )
    try:
        yield client[db_name]
    finally:
        client.drop_database(db_name)
        client.close()


@pytest.fixture
async def async_db(mongodb_service: Endpoint, db_name: str) -> AsyncIterator[AsyncDatabase[Doc]]:
    """This test's database on pymongo's async API; a real server only."""
    if mongodb_service.stand_in:
        pytest.skip(
            "needs a real MongoDB server: mongomock has no async API (pymongo.AsyncMongoClient); "
            "set KATAS_MONGODB_URL or start Docker"
        )
    client: pymongo.AsyncMongoClient[Doc] = pymongo.AsyncMongoClient(
        mongodb_service.url, serverSelectionTimeoutMS=20_000
    )
    try:
        yield client[db_name]
    finally:
        await client.drop_database(db_name)
        await client.close()
