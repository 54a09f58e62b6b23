"""The cost of a rate limit per request: each algorithm's Lua script against no limit at all.

Two views. Through the app: a GET served in process by FastAPI (httpx's ASGI transport, no
network) on a route without a limit, against the same route behind each algorithm's dependency.
The script alone: one ``EVALSHA`` against one ``PING``, the least any shared limiter pays.
Limits are out of reach, so every call takes the allowing path (the one that writes); calls
are sequential on one connection; times are per request, the best of several rounds.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable

import httpx
from fastapi import Depends, FastAPI
from redis.asyncio import Redis

from katas.kit import Ratio, best_time, service

from .app import USERS_BY_TOKEN, Settings, limited
from .keys import KeyPolicy
from .limiter import Algorithm, FixedWindow, SlidingLog, TokenBucket

CALLS = 1_000
BIG = 10**9  # a limit no run reaches: every hit is allowed


def _per_call(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]]) -> float:
    async def batch() -> None:
        for _ in range(CALLS):
            await call()

    loop.run_until_complete(batch())  # warm up: the script loaded, the connection open
    return best_time(lambda: loop.run_until_complete(batch()), repeat=5) / CALLS


def _app(algorithms: list[Algorithm], settings: Settings) -> FastAPI:
    app = FastAPI()

    async def answer() -> dict[str, str]:
        return {"status": "ok"}

    app.get("/plain")(answer)
    for algorithm in algorithms:
        dependency = Depends(limited(algorithm, algorithm.name, settings))
        app.get(f"/{algorithm.name}", dependencies=[dependency])(answer)
    return app


def bench() -> list[Ratio]:
    loop = asyncio.new_event_loop()
    prefix = f"bench:rate_limiting:{uuid.uuid4().hex[:8]}"
    with service("redis") as endpoint:
        redis = Redis.from_url(endpoint.url)
        settings = Settings(endpoint.url, prefix, KeyPolicy(USERS_BY_TOKEN))
        algorithms: list[Algorithm] = [
            FixedWindow(redis, BIG, 60_000),
            SlidingLog(redis, BIG, 1_000),  # a short window keeps the log small
            TokenBucket(redis, BIG, float(BIG)),
        ]
        transport = httpx.ASGITransport(app=_app(algorithms, settings))
        client = httpx.AsyncClient(transport=transport, base_url="http://bench")
        try:
            plain = _per_call(loop, functools.partial(client.get, "/plain"))
            ping = _per_call(loop, redis.ping)
            ratios = []
            for algorithm in algorithms:
                served = _per_call(loop, functools.partial(client.get, f"/{algorithm.name}"))
                script = _per_call(
                    loop, functools.partial(algorithm.hit, f"{prefix}:raw:{algorithm.name}")
                )
                name = algorithm.name
                ratios += [
                    Ratio("GET in process", "no limit", f"{name} limit", plain, served, "s"),
                    Ratio("one Redis call", "PING", f"{name} script", ping, script, "s"),
                ]
        finally:
            keys = loop.run_until_complete(redis.keys(f"{prefix}:*"))
            if keys:
                loop.run_until_complete(redis.delete(*keys))
            loop.run_until_complete(client.aclose())
            loop.run_until_complete(redis.aclose())
            loop.close()
    return ratios
