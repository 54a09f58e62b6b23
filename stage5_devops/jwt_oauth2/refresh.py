"""Opaque refresh tokens in Redis: rotated on every use, and a reused one revokes its family.

Every login starts a *family*. A refresh spends the presented token and returns the family's
next one. A token that comes back after it was spent means two parties hold the family (the
client and a thief, and nobody can tell which is which): the whole family is revoked, so the
newest token, wherever it is, stops working too and the user has to sign in again.

Redis keys (``prefix`` first): ``family:<id>`` holds the subject while the family is alive;
``token:<sha256 of the token>`` is a hash with ``subject``, ``family`` and ``used`` ("0" or
"1"). Raw tokens are never stored: a leaked Redis dump refreshes nothing. Every key has a TTL.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

# kata: begin ROTATE_LUA: a Lua script that spends KEYS[1] and creates KEYS[2], or refuses (see rotate)
ROTATE_LUA = """
local family = redis.call('HGET', KEYS[1], 'family')
if not family then
  return {'unknown'}
end
local family_key = ARGV[1] .. family
if redis.call('EXISTS', family_key) == 0 then
  return {'revoked'}
end
if redis.call('HGET', KEYS[1], 'used') == '1' then
  redis.call('DEL', family_key)
  return {'reused'}
end
local subject = redis.call('HGET', KEYS[1], 'subject')
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[2], 'subject', subject, 'family', family, 'used', '0')
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', family_key, ARGV[2])
return {'ok', subject}
"""
# kata: end


class RefreshRefused(Exception):
    """``reason``: "unknown" (never issued, or expired), "reused" (spent before: the family is
    now revoked) or "revoked" (its family was revoked)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rotated:
    token: str  # the family's next refresh token
    subject: str


class RefreshTokens:
    def __init__(self, redis: Redis, *, ttl: int, prefix: str = "refresh:") -> None:
        self.redis = redis  # created with decode_responses=True: replies are str
        self.ttl = ttl
        self.prefix = prefix

    def token_key(self, token: str) -> str:
        return f"{self.prefix}token:{hashlib.sha256(token.encode()).hexdigest()}"

    def family_key(self, family: str) -> str:
        return f"{self.prefix}family:{family}"

    async def issue(self, subject: str) -> str:
        """A new family and its first refresh token (a login)."""
        # kata: begin create the family key and the token's hash (used "0"), both with the TTL, in one transaction
        family = secrets.token_urlsafe(16)
        token = secrets.token_urlsafe(32)
        token_key = self.token_key(token)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.family_key(family), subject, ex=self.ttl)
            pipe.hset(token_key, mapping={"subject": subject, "family": family, "used": "0"})
            pipe.expire(token_key, self.ttl)
            await pipe.execute()
        return token
        # kata: end

    async def rotate(self, token: str) -> Rotated:
        """Spend ``token`` and return the family's next one, atomically: of two concurrent calls
        with the same token exactly one succeeds. RefreshRefused otherwise (see its reasons)."""
        # kata: begin run ROTATE_LUA with the old and a new token's keys, the family prefix and the TTL; map its reply
        new_token = secrets.token_urlsafe(32)
        keys = [self.token_key(token), self.token_key(new_token)]
        reply = await self.redis.eval(ROTATE_LUA, 2, *keys, f"{self.prefix}family:", self.ttl)
        if reply[0] != "ok":
            raise RefreshRefused(reply[0])
        return Rotated(token=new_token, subject=reply[1])
        # kata: end
