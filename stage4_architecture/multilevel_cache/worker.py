"""One worker process: a FastAPI app with a MultiLevelCache of its own (its own L1).

Run several, each on its own port, against one PostgreSQL and one Redis:

    MLCACHE_DATABASE_URL=postgresql://... MLCACHE_REDIS_URL=redis://... \
        uvicorn stage4_architecture.multilevel_cache.worker:app --port 8001

A price written through one worker reaches every other worker's L1 as an invalidation message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from .cache import MultiLevelCache, connect_redis
from .store import MAX_ID, Product, ProductStore

# A product id as the database can hold it: anything else is a 422 naming the problem, never a
# query that fails with a 500 (PostgreSQL's integer ends at 2**31 - 1).
ProductId = Annotated[int, Path(ge=1, le=MAX_ID)]


class PriceChange(BaseModel):
    """The body of PUT /products/{id}/price."""

    # kata: begin price_cents: a StrictInt from 0 to MAX_ID (a string, a float or a bool is refused); no other field allowed
    model_config = ConfigDict(extra="forbid")
    price_cents: StrictInt = Field(ge=0, le=MAX_ID)
    # kata: end


def _settings(name: str, default: str | None = None) -> str:
    value = os.environ.get(f"MLCACHE_{name}", default)
    if value is None:
        raise RuntimeError(f"set MLCACHE_{name}")
    return value


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    store = await ProductStore.connect(_settings("DATABASE_URL"))
    redis = connect_redis(_settings("REDIS_URL"), _settings("CLIENT_NAME", "mlcache-worker"))
    cache = MultiLevelCache(
        redis,
        store,
        prefix=_settings("PREFIX", "mlcache:"),
        l1_ttl=float(_settings("L1_TTL", "30")),
        lock_ttl=float(_settings("LOCK_TTL", "5")),
        lock_wait=float(_settings("LOCK_WAIT", "5")),
    )
    listener = asyncio.create_task(cache.listen())
    app.state.cache, app.state.listener = cache, listener
    try:
        yield
    finally:
        listener.cancel()
        await asyncio.wait({listener}, timeout=5)  # redis-py may lose a cancellation
        await redis.aclose()
        await store.close()


app = FastAPI(title="multilevel_cache worker", lifespan=lifespan)


def _cache(request: Request) -> MultiLevelCache:
    cache: MultiLevelCache = request.app.state.cache
    return cache


@app.get("/products/{product_id}")
async def read_product(product_id: ProductId, request: Request) -> Product:
    # kata: begin the product from the cache; no such product is a 404 whose detail names the id
    product = await _cache(request).get(product_id)
    if product is None:
        raise HTTPException(404, f"no product {product_id}")
    return product
    # kata: end


@app.put("/products/{product_id}/price", status_code=204)
async def write_price(product_id: ProductId, change: PriceChange, request: Request) -> Response:
    # kata: begin set the price through the cache (its write path invalidates every level); 204 with no body, or a 404 naming the id when there is no such product
    if not await _cache(request).set_price(product_id, change.price_cents):
        raise HTTPException(404, f"no product {product_id}")
    return Response(status_code=204)
    # kata: end


@app.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    """The cache's counters, whether it is listening, and why its listener ended if it did."""
    listener: asyncio.Task[None] = request.app.state.listener
    failure = None
    if listener.done() and not listener.cancelled():
        failure = repr(listener.exception())
    return {
        **asdict(_cache(request).stats),
        "listening": _cache(request).listening.is_set(),
        "listener_failed": failure,
    }
