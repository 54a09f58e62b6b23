"""Task 6: the same limits with slowapi, counting in Redis."""

from __future__ import annotations

import itertools

import httpx
import pytest
from redis.asyncio import Redis

from .conftest import CLIENT, Connect, StartServers, bearer


async def codes(client: httpx.AsyncClient, path: str, count: int, **kwargs: object) -> list[int]:
    return [(await client.get(path, **kwargs)).status_code for _ in range(count)]  # type: ignore[arg-type]


@pytest.mark.task(6)
async def test_search_allows_three_a_minute_with_headers(connect_slowapi: Connect) -> None:
    async with connect_slowapi() as client:
        answers = [await client.get("/search", params={"q": "tea"}) for _ in range(3)]
        assert [r.status_code for r in answers] == [200] * 3
        assert answers[0].json() == {"query": "tea"}
        assert [r.headers["X-RateLimit-Limit"] for r in answers] == ["3"] * 3
        assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
        refused = await client.get("/search")
        assert refused.status_code == 429
        assert refused.json() == {"error": "Rate limit exceeded: 3 per 1 minute"}
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-RateLimit-Remaining"] == "0"


@pytest.mark.task(6)
async def test_slowapi_keys_like_the_handwritten_app(connect_slowapi: Connect) -> None:
    async with connect_slowapi("203.0.113.1") as home, connect_slowapi("203.0.113.2") as office:
        assert await codes(home, "/search", 3, headers=bearer("alice-token")) == [200] * 3
        assert await codes(office, "/search", 1, headers=bearer("alice-token")) == [429]
        assert await codes(office, "/search", 4, headers=bearer("bob-token")) == [200] * 3 + [429]
        spoofed = {"X-Forwarded-For": "198.51.100.1"}
        assert await codes(home, "/search", 4, headers=spoofed) == [200] * 3 + [429]
        assert await codes(home, "/search", 1) == [429]


@pytest.mark.task(6)
async def test_routes_without_a_limit_get_the_default_and_health_is_exempt(
    connect_slowapi: Connect,
) -> None:
    async with connect_slowapi() as client:
        assert await codes(client, "/ping", 6) == [200] * 5 + [429]
        assert await codes(client, "/health", 12) == [200] * 12
        # The default limit is per route: /search still has its own three.
        assert await codes(client, "/search", 1) == [200]


@pytest.mark.task(6)
async def test_the_counters_live_in_redis_under_the_prefix(
    connect_slowapi: Connect, redis: Redis, unique_name: str
) -> None:
    async with connect_slowapi() as client:
        await client.get("/search")
    keys = await redis.keys()
    assert keys, "nothing was written to Redis: is storage_uri set?"
    assert all(unique_name in key for key in keys), keys
    assert any(f"ip:{CLIENT}" in key for key in keys), keys


@pytest.mark.task(6)
def test_two_slowapi_processes_sharing_redis_hold_one_limit(start_servers: StartServers) -> None:
    servers = start_servers("slowapi", 2)
    codes = []
    with httpx.Client(timeout=20.0) as client:
        for base in itertools.islice(itertools.cycle(servers), 8):
            response = client.get(f"{base}/search", headers=bearer("alice-token"))
            codes.append(response.status_code)
    assert codes == [200] * 3 + [429] * 5
