"""Task 5: the protected API answers every bad token with RFC 6750's 401, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from . import tokens
from .app import MISSING_TOKEN
from .conftest import (
    AUDIENCE,
    ISSUER,
    FakeClock,
    assert_invalid_token,
    bearer,
    good_claims,
    hs256,
    public_pem,
    rs256,
    rsa_key,
    segment,
    unsigned,
)
from .tokens import KeyRing, issue_access_token
from .vulnerable import naive_decode

PEM = public_pem(rsa_key(1))


def issue(ring: KeyRing, clock: FakeClock) -> str:
    return issue_access_token(
        ring, subject="ada", issuer=ISSUER, audience=AUDIENCE, ttl=300, now=clock
    )


def tampered(clock: FakeClock) -> str:
    header, _, signature = rs256(good_claims(clock), rsa_key(1), "k1").split(".")
    return f"{header}.{segment(good_claims(clock, sub='admin'))}.{signature}"


# Each attack: the forged token, given the clock, and the description of its refusal.
ATTACKS: dict[str, tuple[Callable[[FakeClock], str], str]] = {
    "alg-none": (
        lambda c: unsigned({"alg": "none", "kid": "k1"}, good_claims(c, sub="admin")),
        tokens.ALGORITHM_NOT_ALLOWED,
    ),
    "hs256-public-key": (
        lambda c: hs256({"alg": "HS256", "kid": "k1"}, good_claims(c, sub="admin"), PEM),
        tokens.ALGORITHM_NOT_ALLOWED,
    ),
    "expired": (
        lambda c: rs256(good_claims(c, exp=int(c()) - 11), rsa_key(1), "k1"),
        tokens.EXPIRED,
    ),
    "not-yet-valid": (
        lambda c: rs256(good_claims(c, nbf=int(c()) + 11), rsa_key(1), "k1"),
        tokens.NOT_YET_VALID,
    ),
    "wrong-audience": (
        lambda c: rs256(good_claims(c, aud="billing-api"), rsa_key(1), "k1"),
        tokens.WRONG_AUDIENCE,
    ),
    "tampered": (tampered, tokens.BAD_SIGNATURE),
    "unknown-kid": (lambda c: rs256(good_claims(c), rsa_key(2), "k9"), tokens.UNKNOWN_KID),
    "garbage": (lambda c: "not.a.jwt", tokens.MALFORMED),
}


@pytest.mark.task(5)
async def test_a_valid_token_opens_the_api(
    client: httpx.AsyncClient, ring: KeyRing, clock: FakeClock
) -> None:
    response = await client.get("/me", headers=bearer(issue(ring, clock)))
    assert (response.status_code, response.json()) == (200, {"subject": "ada"})


@pytest.mark.task(5)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic YWRhOmh1bnRlcjI="}], ids=repr)
async def test_no_bearer_token_is_a_bare_challenge(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """RFC 6750 §3.1: a request without a token gets no error code, just the scheme."""
    response = await client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": MISSING_TOKEN}


@pytest.mark.task(5)
@pytest.mark.parametrize("attack", ATTACKS)
async def test_each_attack_is_a_401_invalid_token(
    client: httpx.AsyncClient, clock: FakeClock, attack: str
) -> None:
    forge, description = ATTACKS[attack]
    forged = forge(clock)
    if attack not in {"tampered", "unknown-kid", "garbage"}:
        naive_decode(forged, PEM)  # gets through the naive verifier: the attack is real
    assert_invalid_token(await client.get("/me", headers=bearer(forged)), description)


@pytest.mark.task(5)
async def test_the_server_applies_its_leeway(
    client: httpx.AsyncClient, ring: KeyRing, clock: FakeClock
) -> None:
    token = issue(ring, clock)
    clock.advance(300 + 5)
    assert (await client.get("/me", headers=bearer(token))).status_code == 200, "5 s late: skew"
    clock.advance(6)
    assert_invalid_token(await client.get("/me", headers=bearer(token)), tokens.EXPIRED)


@pytest.mark.task(5)
async def test_a_rotated_out_key_stops_its_tokens_and_only_its_tokens(
    client: httpx.AsyncClient, ring: KeyRing, clock: FakeClock
) -> None:
    old = issue(ring, clock)
    ring.rotate("k2", rsa_key(2))
    new = issue(ring, clock)
    for token in (old, new):  # during the overlap both verify
        assert (await client.get("/me", headers=bearer(token))).status_code == 200
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in keys] == ["k1", "k2"]
    ring.retire("k1")
    assert_invalid_token(await client.get("/me", headers=bearer(old)), tokens.UNKNOWN_KID)
    assert (await client.get("/me", headers=bearer(new))).status_code == 200
