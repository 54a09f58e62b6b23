"""Task 2: an RS256 access token with the kid of the signing key and every required claim."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from .conftest import AUDIENCE, ISSUER, START, FakeClock, rsa_key
from .tokens import KeyRing, issue_access_token


def issue(ring: KeyRing, clock: FakeClock, subject: str = "ada", ttl: int = 300) -> str:
    return issue_access_token(
        ring, subject=subject, issuer=ISSUER, audience=AUDIENCE, ttl=ttl, now=clock
    )


@pytest.mark.task(2)
def test_the_header_names_rs256_and_the_signing_kid(clock: FakeClock) -> None:
    token = issue(KeyRing("2026-06", rsa_key(1)), clock)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": "2026-06"}


@pytest.mark.task(2)
def test_the_claims_are_exactly_the_required_ones_from_the_injected_clock(
    ring: KeyRing, clock: FakeClock
) -> None:
    clock.advance(1001.75)  # iat, nbf and exp are whole seconds (NumericDate): the fraction goes
    token = issue(ring, clock, subject="grace", ttl=120)
    # The real public key checks the signature; PyJWT's own time checks would use the real clock.
    options: Any = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
    public_key = rsa_key(1).public_key()
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=AUDIENCE, options=options)
    start = int(START) + 1001
    jti = claims.pop("jti")
    assert claims == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "grace",
        "iat": start,
        "nbf": start,
        "exp": start + 120,
    }
    assert isinstance(jti, str) and len(jti) >= 22, "128 random bits at least: base64url, 22+"


@pytest.mark.task(2)
def test_every_token_has_its_own_jti(ring: KeyRing, clock: FakeClock) -> None:
    ids = {
        jwt.decode(issue(ring, clock), options={"verify_signature": False})["jti"] for _ in range(5)
    }
    assert len(ids) == 5
