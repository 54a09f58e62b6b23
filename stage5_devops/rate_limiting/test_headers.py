"""Task 5: 429 with Retry-After, RateLimit-* on every answer, the JSON body; two processes."""

from __future__ import annotations

import itertools

import httpx
import pytest
from redis.asyncio import Redis

from .app import rate_limit_headers
from .conftest import CLIENT, T0, Connect, ManualClock, StartServers, bearer
from .limiter import Decision

RATE_LIMIT_FIELDS = {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"}


@pytest.mark.task(5)
def test_headers_of_an_allowed_and_a_refused_decision() -> None:
    assert rate_limit_headers(Decision(True, 5, 4, 10_000, 0)) == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "4",
        "RateLimit-Reset": "10",
    }
    assert rate_limit_headers(Decision(False, 3, 0, 1_001, 1_001)) == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "2",  # seconds, rounded up: 1 would be early
        "Retry-After": "2",
    }


@pytest.mark.task(5)
@pytest.mark.parametrize(("retry_ms", "seconds"), [(1, "1"), (999, "1"), (1_000, "1"), (0, "1")])
def test_retry_after_is_whole_seconds_and_never_zero(retry_ms: int, seconds: str) -> None:
    # "Retry-After: 0" invites an immediate retry that is refused again.
    headers = rate_limit_headers(Decision(False, 3, 0, retry_ms, retry_ms))
    assert headers["Retry-After"] == seconds


@pytest.mark.task(5)
async def test_a_200_carries_the_rate_limit_fields(connect: Connect) -> None:
    async with connect() as client:
        response = await client.get("/orders")
        assert response.status_code == 200
        assert response.json() == {"orders": [1, 2, 3]}
        assert response.headers["RateLimit-Limit"] == "5"
        assert response.headers["RateLimit-Remaining"] == "4"
        assert response.headers["RateLimit-Reset"] == "60"
        assert "Retry-After" not in response.headers


@pytest.mark.task(5)
async def test_over_the_limit_is_a_429_that_says_which_limit(
    connect: Connect, clock: ManualClock
) -> None:
    async with connect() as client:
        for _ in range(3):
            assert (await client.post("/login")).status_code == 200
        clock.now_ms = T0 + 58_500  # 1.5 s before the minute ends
        refused = await client.post("/login")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert refused.headers["RateLimit-Limit"] == "3"
        assert refused.json() == {
            "detail": {
                "error": "rate limit exceeded",
                "limit": "3 per 60 s",
                "algorithm": "fixed-window",
                "key": f"ip:{CLIENT}",
                "retry_after": 2,
            }
        }
        clock.now_ms = T0 + 60_000
        assert (await client.post("/login")).status_code == 200


@pytest.mark.task(5)
async def test_each_route_counts_apart_and_health_is_never_limited(
    connect: Connect, clock: ManualClock
) -> None:
    async with connect() as client:
        codes = [(await client.get("/feed")).status_code for _ in range(5)]
        assert codes == [200] * 4 + [429]
        refused = await client.get("/feed")
        assert refused.headers["Retry-After"] == "4"
        assert refused.json()["detail"]["limit"] == "bursts of 4, 0.25 per s"
        clock.now_ms = T0 + 4_000
        assert (await client.get("/feed")).status_code == 200
        assert (await client.get("/orders")).status_code == 200
        for _ in range(20):
            health = await client.get("/health")
            assert health.status_code == 200
            assert RATE_LIMIT_FIELDS.isdisjoint(health.headers)


@pytest.mark.task(5)
async def test_the_key_is_stored_under_the_apps_prefix_and_route(
    connect: Connect, redis: Redis, unique_name: str
) -> None:
    async with connect() as client:
        await client.get("/orders", headers=bearer("alice-token"))
        await client.post("/login")
    assert sorted(await redis.keys()) == [
        f"{unique_name}:login:ip:{CLIENT}",
        f"{unique_name}:orders:user:alice",
    ]


@pytest.mark.task(5)
def test_two_processes_sharing_redis_hold_one_limit(start_servers: StartServers) -> None:
    servers = start_servers("handmade", 2)
    codes = []
    with httpx.Client(timeout=20.0) as client:
        for base in itertools.islice(itertools.cycle(servers), 12):
            response = client.get(f"{base}/orders", headers=bearer("bob-token"))
            codes.append(response.status_code)
    assert codes == [200] * 5 + [429] * 7
