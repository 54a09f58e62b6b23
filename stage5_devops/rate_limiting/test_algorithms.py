"""Tasks 1-3: the three scripts, driven by the time the test passes in (no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from .conftest import T0
from .limiter import Algorithm, Decision, FixedWindow, SlidingLog, TokenBucket

WINDOW = 10_000  # ms


async def hits(algorithm: Algorithm, key: str, *times: int | None) -> list[Decision]:
    return [await algorithm.hit(key, now) for now in times]


def allowed(decisions: list[Decision]) -> list[bool]:
    return [d.allowed for d in decisions]


# Task 1: fixed window


@pytest.mark.task(1)
async def test_fixed_window_allows_the_limit_then_refuses_until_the_window_ends(
    redis: Redis, unique_name: str
) -> None:
    window = FixedWindow(redis, limit=3, window_ms=WINDOW)
    first = await hits(window, unique_name, T0, T0 + 1, T0 + 2)
    assert [(d.allowed, d.remaining, d.reset_ms) for d in first] == [
        (True, 2, 10_000),
        (True, 1, 9_999),
        (True, 0, 9_998),
    ]
    assert [d.retry_after_ms for d in first] == [0, 0, 0]
    refused = await window.hit(unique_name, T0 + 3)
    assert refused == Decision(False, 3, 0, 9_997, 9_997)
    assert await window.hit(unique_name, T0 + WINDOW - 1) == Decision(False, 3, 0, 1, 1)
    assert await window.hit(unique_name, T0 + WINDOW) == Decision(True, 3, 2, 10_000, 0)


@pytest.mark.task(1)
async def test_fixed_window_lets_twice_the_limit_through_across_a_boundary(
    redis: Redis, unique_name: str
) -> None:
    window = FixedWindow(redis, limit=3, window_ms=WINDOW)
    # The known burst: 3 at the end of one window, 3 at the start of the next, 101 ms apart.
    burst = await hits(window, unique_name, *[T0 + WINDOW - 100] * 4, *[T0 + WINDOW] * 4)
    assert allowed(burst) == [True, True, True, False, True, True, True, False]


@pytest.mark.task(1)
async def test_fixed_window_keys_are_apart_and_expire(redis: Redis, unique_name: str) -> None:
    window = FixedWindow(redis, limit=1, window_ms=WINDOW)
    assert allowed(await hits(window, f"{unique_name}:a", T0, T0)) == [True, False]
    assert allowed(await hits(window, f"{unique_name}:b", T0)) == [True]
    assert 0 < await redis.pttl(f"{unique_name}:a") <= WINDOW  # no counter lives forever
    assert sorted(await redis.keys(f"{unique_name}*")) == [f"{unique_name}:a", f"{unique_name}:b"]


# Task 2: sliding window log


@pytest.mark.task(2)
async def test_sliding_log_holds_the_limit_across_the_boundary(
    redis: Redis, unique_name: str
) -> None:
    log = SlidingLog(redis, limit=3, window_ms=WINDOW)
    late = T0 + WINDOW - 100
    assert allowed(await hits(log, unique_name, late, late, late)) == [True, True, True]
    # The fixed window's burst is refused: the three are still within the last 10 s.
    assert await log.hit(unique_name, T0 + WINDOW) == Decision(False, 3, 0, 9_900, 9_900)
    assert await log.hit(unique_name, late + WINDOW - 1) == Decision(False, 3, 0, 1, 1)
    # A hit at t leaves the window at t + window exactly: the window is (now - window, now].
    assert (await log.hit(unique_name, late + WINDOW)).allowed


@pytest.mark.task(2)
async def test_sliding_log_counts_hits_of_the_same_millisecond_apart(
    redis: Redis, unique_name: str
) -> None:
    log = SlidingLog(redis, limit=3, window_ms=WINDOW)
    assert allowed(await hits(log, unique_name, T0, T0, T0, T0)) == [True, True, True, False]
    assert await redis.zcard(unique_name) == 3


@pytest.mark.task(2)
async def test_sliding_log_remaining_and_reset_follow_the_oldest_hit(
    redis: Redis, unique_name: str
) -> None:
    log = SlidingLog(redis, limit=5, window_ms=WINDOW)
    seen = await hits(log, unique_name, T0, T0 + 2_000, T0 + 4_000)
    assert [(d.remaining, d.reset_ms) for d in seen] == [(4, 10_000), (3, 8_000), (2, 6_000)]
    # The first hit has left the window at T0 + 10 s: the log trims it.
    assert await log.hit(unique_name, T0 + WINDOW) == Decision(True, 5, 2, 2_000, 0)
    assert await redis.zcard(unique_name) == 3
    assert 0 < await redis.pttl(unique_name) <= WINDOW


@pytest.mark.task(2)
async def test_refused_hits_are_not_logged(redis: Redis, unique_name: str) -> None:
    log = SlidingLog(redis, limit=2, window_ms=WINDOW)
    await hits(log, unique_name, T0, T0 + 1_000)
    hammering = await hits(log, unique_name, *range(T0 + 2_000, T0 + WINDOW, 500))
    assert not any(allowed(hammering))
    # Logging the refusals would keep a client that keeps trying locked out for ever.
    assert allowed(await hits(log, unique_name, T0 + WINDOW, T0 + WINDOW)) == [True, False]
    assert allowed(await hits(log, unique_name, T0 + WINDOW + 1_000)) == [True]


# Task 3: token bucket (4 tokens, 0.25 a second: one every 4 s)


@pytest.mark.task(3)
async def test_a_full_bucket_allows_exactly_its_capacity_at_once(
    redis: Redis, unique_name: str
) -> None:
    bucket = TokenBucket(redis, capacity=4, per_second=0.25)
    burst = await hits(bucket, unique_name, *[T0] * 5)
    assert [(d.allowed, d.remaining, d.reset_ms) for d in burst] == [
        (True, 3, 4_000),
        (True, 2, 8_000),
        (True, 1, 12_000),
        (True, 0, 16_000),
        (False, 0, 16_000),
    ]
    assert burst[-1].retry_after_ms == 4_000
    assert 0 < await redis.pttl(unique_name) <= 16_000


@pytest.mark.task(3)
async def test_then_one_token_every_interval(redis: Redis, unique_name: str) -> None:
    bucket = TokenBucket(redis, capacity=4, per_second=0.25)
    await hits(bucket, unique_name, *[T0] * 4)
    later = await hits(bucket, unique_name, T0 + 3_999, T0 + 4_000, T0 + 4_000, T0 + 8_000)
    assert allowed(later) == [False, True, False, True]


@pytest.mark.task(3)
async def test_refill_keeps_the_fraction_of_a_token(redis: Redis, unique_name: str) -> None:
    bucket = TokenBucket(redis, capacity=4, per_second=0.25)
    await hits(bucket, unique_name, *[T0] * 4)
    quarter, half = await hits(bucket, unique_name, T0 + 1_000, T0 + 2_000)
    assert (quarter.allowed, quarter.retry_after_ms) == (False, 3_000)
    assert (half.allowed, half.retry_after_ms) == (False, 2_000)
    # The refused hits must not throw the half token away: at 4 s there is one whole token.
    assert (await bucket.hit(unique_name, T0 + 4_000)).allowed


@pytest.mark.task(3)
async def test_a_long_idle_bucket_holds_no_more_than_its_capacity(
    redis: Redis, unique_name: str
) -> None:
    bucket = TokenBucket(redis, capacity=4, per_second=0.25)
    await hits(bucket, unique_name, *[T0] * 4)
    hour_later = await hits(bucket, unique_name, *[T0 + 3_600_000] * 5)
    assert allowed(hour_later) == [True, True, True, True, False]


@pytest.mark.task(3)
async def test_a_fast_bucket_refills_several_tokens_at_once(redis: Redis, unique_name: str) -> None:
    bucket = TokenBucket(redis, capacity=10, per_second=2)
    await hits(bucket, unique_name, *[T0] * 10)
    # 1.25 s at 2 a second: 2.5 tokens, so two hits now and the third after 250 ms more.
    assert allowed(await hits(bucket, unique_name, *[T0 + 1_250] * 3)) == [True, True, False]
    assert allowed(await hits(bucket, unique_name, T0 + 1_499, T0 + 1_500)) == [False, True]


# Atomicity: every algorithm, 50 requests at once on 50 connections, a limit of 10.

Build = Callable[[Redis, int], Algorithm]
ALGORITHMS = [
    pytest.param(
        lambda redis, limit: FixedWindow(redis, limit, WINDOW),
        marks=pytest.mark.task(1),
        id="fixed-window",
    ),
    pytest.param(
        lambda redis, limit: SlidingLog(redis, limit, WINDOW),
        marks=pytest.mark.task(2),
        id="sliding-log",
    ),
    pytest.param(
        lambda redis, limit: TokenBucket(redis, limit, 0.001),
        marks=pytest.mark.task(3),
        id="token-bucket",
    ),
]


@pytest.mark.parametrize("build", ALGORITHMS)
async def test_fifty_concurrent_requests_get_exactly_the_limit(
    redis: Redis, unique_name: str, build: Build
) -> None:
    algorithm = build(redis, 10)
    await algorithm.hit(f"{unique_name}:warm-up", T0)  # the script is loaded before the race
    decisions = await asyncio.gather(*(algorithm.hit(unique_name, T0) for _ in range(50)))
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))


@pytest.mark.parametrize("build", ALGORITHMS)
async def test_without_a_time_the_script_reads_redis_time(
    redis: Redis, unique_name: str, build: Build
) -> None:
    algorithm = build(redis, 1)
    first, second = await hits(algorithm, unique_name, None, None)
    assert (first.allowed, second.allowed) == (True, False)
    assert second.retry_after_ms > 0
