"""Shared fixtures: a fake clock, pre-generated RSA keys, the app on a leased Redis db, and the
byte-level helpers the attacks use to forge tokens by hand."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm
from redis.asyncio import Redis

from .app import AuthServer, create_app
from .passwords import hash_password
from .tokens import KeyRing

START = 1_600_000_000.0  # 2020-09-13: far from the real clock, so only an injected clock works
ISSUER = "https://auth.example"
AUDIENCE = "todo-api"
ADA_PASSWORD = "correct horse battery staple"
CLIENT_ID = "spa"
REDIRECT_URI = "https://app.example/callback"


class FakeClock:
    """A clock the tests move by hand: deterministic expiry, never a sleep."""

    def __init__(self, start: float = START) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


@functools.cache
def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """The index-th RSA key of this test run (generated once: keygen is slow)."""
    del index  # the cache keeps one key per index
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwks_of(**keys: rsa.RSAPrivateKey) -> dict[str, Any]:
    """A JWKS document built independently of KeyRing.jwks: the verifier's tests need no ring."""
    documents = []
    for kid, key in keys.items():
        document = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        document.update(kid=kid, use="sig", alg="RS256")
        documents.append(document)
    return {"keys": documents}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """``alg: none``: header and claims, and an empty signature."""
    return f"{segment(header)}.{segment(claims)}."


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token assembled by hand (PyJWT refuses a PEM as an HMAC secret)."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str) -> str:
    """A correctly RS256-signed token of any claims: what a key holder can mint."""
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def rs256_by_hand(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """An RS256 signature over any header, even one PyJWT would not write."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def good_claims(clock: FakeClock, **changes: Any) -> dict[str, Any]:
    """The claims of a valid five-minute token issued now; ``changes`` replace (None drops)."""
    now = int(clock())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "ada",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "jti-1",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing("k1", rsa_key(1))


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def warm_pool(redis: Redis, connections: int) -> None:
    """Open the connections first: then concurrent callers send their commands in the same
    event-loop turn, and a read-then-write race happens every run instead of now and then."""
    await asyncio.gather(*(redis.ping() for _ in range(connections)))


@pytest.fixture(scope="session")
def ada_hash() -> str:
    return hash_password(ADA_PASSWORD)


@pytest.fixture
def server(redis: Redis, ring: KeyRing, clock: FakeClock, ada_hash: str) -> AuthServer:
    return AuthServer(
        redis=redis,
        ring=ring,
        users={"ada": ada_hash},
        clients={CLIENT_ID: frozenset({REDIRECT_URI})},
        now=clock,
    )


@pytest.fixture
def app(server: AuthServer) -> FastAPI:
    return create_app(server)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a crash is a 500
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def login(client: httpx.AsyncClient) -> dict[str, Any]:
    """Ada's token response from the password grant."""
    form = {"grant_type": "password", "username": "ada", "password": ADA_PASSWORD}
    response = await client.post("/token", data=form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_invalid_token(response: httpx.Response, description: str) -> None:
    """A 401 with RFC 6750's challenge and the same error in the JSON body."""
    assert response.status_code == 401, f"want 401 {description!r}, got {response.status_code}"
    assert response.json() == {"error": "invalid_token", "error_description": description}
    challenge = f'Bearer error="invalid_token", error_description="{description}"'
    assert response.headers["www-authenticate"] == challenge
