"""Authorization codes with PKCE (RFC 7636), S256 only, kept in Redis and redeemable once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from .tokens import Clock

VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1: 43-128 unreserved chars
CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")  # base64url of 32 bytes, without padding

# The error_description of each refused redemption (error "invalid_grant"), checked in this order.
UNKNOWN_CODE = "unknown or already used code"
CODE_EXPIRED = "code expired"
CLIENT_MISMATCH = "code was issued to another client"
REDIRECT_MISMATCH = "redirect_uri does not match"
VERIFIER_MISMATCH = "code_verifier does not match"


class InvalidRequest(Exception):
    """A refused authorization request (error "invalid_request")."""


class InvalidGrant(Exception):
    """A refused code redemption; ``description`` is one of the constants above."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without "=" padding: RFC 7636 §4.2."""
    # kata: begin the S256 code challenge of a verifier
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    # kata: end


@dataclass(frozen=True)
class CodeGrant:
    subject: str
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: float


class AuthorizationCodes:
    def __init__(self, redis: Redis, *, ttl: int, now: Clock, prefix: str = "code:") -> None:
        self.redis = redis  # decode_responses=True
        self.ttl = ttl
        self.now = now
        self.prefix = prefix

    def key(self, code: str) -> str:
        return f"{self.prefix}{hashlib.sha256(code.encode()).hexdigest()}"

    async def create(
        self, *, subject: str, client_id: str, redirect_uri: str, challenge: str, method: str
    ) -> str:
        """A new random code for this grant, stored as the JSON of a CodeGrant (``expires_at``
        from the injected clock) under ``key(code)`` with the TTL as Redis expiry too.
        InvalidRequest unless ``method`` is "S256" and ``challenge`` looks like one."""
        # kata: begin refuse any method but S256 and a malformed challenge; store the CodeGrant as JSON with an expiry
        if method != "S256":
            raise InvalidRequest("code_challenge_method must be S256")
        if not CHALLENGE.fullmatch(challenge):
            raise InvalidRequest("code_challenge must be 43 base64url characters")
        code = secrets.token_urlsafe(32)
        grant = CodeGrant(subject, client_id, redirect_uri, challenge, self.now() + self.ttl)
        await self.redis.set(self.key(code), json.dumps(asdict(grant)), ex=self.ttl)
        return code
        # kata: end

    async def redeem(self, code: str, *, client_id: str, redirect_uri: str, verifier: str) -> str:
        """The subject of a code, which is spent even when the redemption fails (an attacker
        gets one guess). InvalidGrant with the first failing check's description otherwise."""
        # kata: begin take the code atomically (GETDEL), then check expiry, client, redirect_uri, and the verifier's S256 hash
        stored = await self.redis.getdel(self.key(code))
        if stored is None:
            raise InvalidGrant(UNKNOWN_CODE)
        grant = CodeGrant(**json.loads(stored))
        if self.now() >= grant.expires_at:
            raise InvalidGrant(CODE_EXPIRED)
        if grant.client_id != client_id:
            raise InvalidGrant(CLIENT_MISMATCH)
        if grant.redirect_uri != redirect_uri:
            raise InvalidGrant(REDIRECT_MISMATCH)
        if not VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
            s256_challenge(verifier), grant.challenge
        ):
            raise InvalidGrant(VERIFIER_MISMATCH)
        return grant.subject
        # kata: end
