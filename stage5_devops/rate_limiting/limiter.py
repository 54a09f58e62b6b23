"""Three rate-limiting algorithms, each one atomic Lua script on Redis.

Every script starts with ``PRELUDE``: ``KEYS[1]`` is the limited key, ``ARGV[1]`` the time in
milliseconds (empty: the script asks Redis ``TIME``), ``ARGV[2]`` and ``ARGV[3]`` the algorithm's
two parameters, ``ARGV[4]`` a unique id of this request. Every script returns four integers,
``{allowed (1 or 0), remaining, reset_ms, retry_after_ms}``, which ``Decision`` reads.

Redis runs a script as one command: no other client's command runs between its first read and
its last write, so 50 requests at once cannot all read "9 used" and all go through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

PRELUDE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
"""


def fixed_window_lua() -> str:
    """Windows of ``ARGV[3]`` ms aligned on multiples of it; at most ``ARGV[2]`` hits in each."""
    # kata: begin the fixed-window script: one hash per key holding the window's start and count
    return """
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local start = now - (now % window)
local reset = start + window - now
local stored = redis.call('HMGET', key, 'start', 'count')
local count = 0
if tonumber(stored[1]) == start then
  count = tonumber(stored[2])
end
if count >= limit then
  return {0, 0, reset, reset}
end
count = count + 1
redis.call('HSET', key, 'start', start, 'count', count)
redis.call('PEXPIRE', key, window)
return {1, limit - count, reset, 0}
"""
    # kata: end


def sliding_log_lua() -> str:
    """A sorted set of the allowed hits' times: at most ``ARGV[2]`` in any ``ARGV[3]`` ms."""
    # kata: begin the sliding-log script: trim, count, then log this hit under its unique id
    return """
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local frees = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  local retry = tonumber(frees[2]) + window - now
  return {0, 0, retry, retry}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {1, limit - count - 1, tonumber(oldest[2]) + window - now, 0}
"""
    # kata: end


def token_bucket_lua() -> str:
    """A bucket of ``ARGV[2]`` tokens refilled at ``ARGV[3]`` tokens a second; a hit takes one."""
    # kata: begin the token-bucket script: refill by the time elapsed, keep the fraction, take one
    return """
local capacity = tonumber(ARGV[2])
local per_second = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if not tokens then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_second / 1000)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * 1000 / per_second)
end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', key, math.ceil(capacity * 1000 / per_second))
local reset = math.ceil((capacity - tokens) * 1000 / per_second)
return {allowed, math.floor(tokens), reset, retry}
"""
    # kata: end


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # the most hits a client can make at once: the window's limit, the bucket's size
    remaining: int  # hits still allowed right now
    reset_ms: int  # until the quota is back: the window's end, the oldest hit's expiry, full
    retry_after_ms: int  # until the next hit can succeed; 0 when this one was allowed


class Algorithm:
    """One script with its two parameters; the script is loaded on the first hit."""

    name = ""

    def __init__(self, redis: Redis, limit: int, parameter: float) -> None:
        self.redis = redis
        self.limit = limit
        self.parameter = parameter
        self._script: AsyncScript | None = None

    def lua(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    async def hit(self, key: str, now_ms: int | None = None) -> Decision:
        """Count one request against ``key``; ``now_ms`` None lets Redis's clock decide.

        Tests pass ``now_ms`` to cross windows without sleeping. Production passes None (every
        app process then agrees on Redis's one clock) or the app's own clock when its hosts are
        synchronised; never a time the client sent.
        """
        if self._script is None:
            self._script = self.redis.register_script(PRELUDE + self.lua())
        now = "" if now_ms is None else str(now_ms)
        reply = await self._script(
            keys=[key], args=[now, self.limit, self.parameter, uuid.uuid4().hex]
        )
        allowed, remaining, reset_ms, retry_after_ms = (int(value) for value in reply)
        return Decision(allowed == 1, self.limit, remaining, reset_ms, retry_after_ms)


class FixedWindow(Algorithm):
    name = "fixed-window"

    def __init__(self, redis: Redis, limit: int, window_ms: int) -> None:
        super().__init__(redis, limit, window_ms)

    def lua(self) -> str:
        return fixed_window_lua()

    def describe(self) -> str:
        return f"{self.limit} per {self.parameter / 1000:g} s"


class SlidingLog(Algorithm):
    name = "sliding-log"

    def __init__(self, redis: Redis, limit: int, window_ms: int) -> None:
        super().__init__(redis, limit, window_ms)

    def lua(self) -> str:
        return sliding_log_lua()

    def describe(self) -> str:
        return f"{self.limit} per {self.parameter / 1000:g} s"


class TokenBucket(Algorithm):
    name = "token-bucket"

    def __init__(self, redis: Redis, capacity: int, per_second: float) -> None:
        super().__init__(redis, capacity, per_second)

    def lua(self) -> str:
        return token_bucket_lua()

    def describe(self) -> str:
        return f"bursts of {self.limit}, {self.parameter:g} per s"
