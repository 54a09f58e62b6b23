"""A FastAPI app limited by the hand-written scripts: one algorithm per route, shared Redis.

``create_app(settings)`` builds it; ``app_from_env()`` is the factory uvicorn runs
(``uvicorn --factory ...app:app_from_env``), so several processes can share one Redis.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from redis.asyncio import Redis

from .keys import ForwardedForError, KeyPolicy, networks, rate_key
from .limiter import Algorithm, Decision, FixedWindow, SlidingLog, TokenBucket

USERS_BY_TOKEN = {"alice-token": "alice", "bob-token": "bob"}

Clock = Callable[[], int | None]  # milliseconds, or None for Redis's own clock


@dataclass(frozen=True)
class Settings:
    redis_url: str
    prefix: str  # of every key this app writes: apps (and tests) sharing a Redis stay apart
    policy: KeyPolicy
    clock: Clock = lambda: None


def ceil_seconds(milliseconds: int) -> int:
    return math.ceil(milliseconds / 1000)


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """The IETF draft's RateLimit-* fields, and Retry-After when the request was refused."""
    # kata: begin RateLimit-Limit/-Remaining/-Reset always, Retry-After (>= 1 s) on a refusal
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(ceil_seconds(decision.reset_ms)),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, ceil_seconds(decision.retry_after_ms)))
    return headers
    # kata: end


async def enforce(
    algorithm: Algorithm, scope: str, settings: Settings, request: Request, response: Response
) -> None:
    """Count the request; refuse it with 429 over the limit, else add the headers to the 200."""
    # kata: begin key the request, hit the algorithm, answer 429 or add the headers
    try:
        key = rate_key(request, settings.policy)
    except ForwardedForError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    decision = await algorithm.hit(f"{settings.prefix}:{scope}:{key}", settings.clock())
    headers = rate_limit_headers(decision)
    if not decision.allowed:
        detail = {
            "error": "rate limit exceeded",
            "limit": algorithm.describe(),
            "algorithm": algorithm.name,
            "key": key,
            "retry_after": int(headers["Retry-After"]),
        }
        raise HTTPException(429, detail=detail, headers=headers)
    response.headers.update(headers)
    # kata: end


def limited(algorithm: Algorithm, scope: str, settings: Settings) -> Callable[..., object]:
    """A route dependency that enforces ``algorithm`` on the route's own counters."""

    async def dependency(request: Request, response: Response) -> None:
        await enforce(algorithm, scope, settings, request, response)

    return dependency


def create_app(settings: Settings) -> FastAPI:
    redis = Redis.from_url(settings.redis_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await redis.aclose()

    app = FastAPI(title="rate limited", lifespan=lifespan)
    login = FixedWindow(redis, limit=3, window_ms=60_000)
    orders = SlidingLog(redis, limit=5, window_ms=60_000)
    feed = TokenBucket(redis, capacity=4, per_second=0.25)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}  # never limited: a load balancer's probe must not be refused

    @app.post("/login", dependencies=[Depends(limited(login, "login", settings))])
    async def log_in() -> dict[str, str]:
        return {"status": "checked"}

    @app.get("/orders", dependencies=[Depends(limited(orders, "orders", settings))])
    async def list_orders() -> dict[str, list[int]]:
        return {"orders": [1, 2, 3]}

    @app.get("/feed", dependencies=[Depends(limited(feed, "feed", settings))])
    async def read_feed() -> dict[str, list[str]]:
        return {"items": ["a", "b"]}

    return app


def settings_from_env() -> Settings:
    trusted = os.environ.get("RATE_LIMIT_TRUSTED_PROXIES", "").split(",")
    return Settings(
        redis_url=os.environ["RATE_LIMIT_REDIS_URL"],
        prefix=os.environ["RATE_LIMIT_PREFIX"],
        policy=KeyPolicy(USERS_BY_TOKEN, networks(trusted)),
    )


def app_from_env() -> FastAPI:
    """What ``uvicorn --factory`` runs: settings from RATE_LIMIT_* variables, Redis's clock."""
    if os.environ.get("RATE_LIMIT_APP") == "slowapi":
        from .slowapi_app import create_slowapi_app

        return create_slowapi_app(settings_from_env())
    return create_app(settings_from_env())
