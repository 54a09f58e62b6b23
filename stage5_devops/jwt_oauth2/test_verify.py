"""Task 3: the verifier, attacked. Each forged token is first shown to get through the naive
verifier of ``vulnerable.py`` (which trusts the header's ``alg``), then refused by ours."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from . import tokens
from .conftest import (
    AUDIENCE,
    ISSUER,
    FakeClock,
    b64url,
    good_claims,
    hs256,
    jwks_of,
    public_pem,
    rs256,
    rs256_by_hand,
    rsa_key,
    segment,
    unsigned,
)
from .tokens import InvalidToken, verify_access_token
from .vulnerable import NaiveRefusal, naive_decode

JWKS = jwks_of(k1=rsa_key(1))
PEM = public_pem(rsa_key(1))  # the naive server's one key


def verify(token: str, clock: FakeClock, leeway: float = 10) -> dict[str, Any]:
    return verify_access_token(
        token, JWKS, issuer=ISSUER, audience=AUDIENCE, leeway=leeway, now=clock
    )


def refused(token: str, clock: FakeClock, leeway: float = 10) -> str:
    """The description our verifier refuses ``token`` with."""
    with pytest.raises(InvalidToken) as caught:
        verify(token, clock, leeway)
    return caught.value.description


@pytest.mark.task(3)
def test_a_valid_token_gives_its_claims(clock: FakeClock) -> None:
    claims = good_claims(clock)
    assert verify(rs256(claims, rsa_key(1), "k1"), clock) == claims
    audiences = good_claims(clock, aud=["billing-api", AUDIENCE])  # aud may be a list (RFC 7519)
    assert verify(rs256(audiences, rsa_key(1), "k1"), clock) == audiences


@pytest.mark.task(3)
@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(clock: FakeClock, alg: str) -> None:
    forged = unsigned({"alg": alg, "typ": "JWT", "kid": "k1"}, good_claims(clock, sub="admin"))
    assert forged.endswith("."), "no signature at all"
    assert naive_decode(forged, PEM)["sub"] == "admin", "the attack works on the naive verifier"
    assert refused(forged, clock) == tokens.ALGORITHM_NOT_ALLOWED


@pytest.mark.task(3)
def test_hs256_keyed_with_the_public_key_is_refused(clock: FakeClock) -> None:
    """Algorithm confusion: the public key is public, so anyone can compute this HMAC."""
    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    forged = hs256(header, good_claims(clock, sub="admin"), PEM)
    assert naive_decode(forged, PEM)["sub"] == "admin", "the attack works on the naive verifier"
    assert refused(forged, clock) == tokens.ALGORITHM_NOT_ALLOWED


@pytest.mark.task(3)
@pytest.mark.parametrize("alg", ["RS512", "PS256"])
def test_only_rs256_is_allowed_even_with_the_real_key(clock: FakeClock, alg: str) -> None:
    import jwt

    token = jwt.encode(good_claims(clock), rsa_key(1), algorithm=alg, headers={"kid": "k1"})
    assert refused(token, clock) == tokens.ALGORITHM_NOT_ALLOWED


@pytest.mark.task(3)
def test_a_tampered_payload_is_refused(clock: FakeClock) -> None:
    header, _, signature = rs256(good_claims(clock), rsa_key(1), "k1").split(".")
    forged = f"{header}.{segment(good_claims(clock, sub='admin'))}.{signature}"
    with pytest.raises(NaiveRefusal):  # even the naive verifier checks an RS256 signature
        naive_decode(forged, PEM)
    assert refused(forged, clock) == tokens.BAD_SIGNATURE


@pytest.mark.task(3)
def test_a_token_signed_by_another_key_under_our_kid_is_refused(clock: FakeClock) -> None:
    assert refused(rs256(good_claims(clock), rsa_key(2), "k1"), clock) == tokens.BAD_SIGNATURE


@pytest.mark.task(3)
def test_an_unknown_or_missing_kid_is_refused(clock: FakeClock) -> None:
    assert refused(rs256(good_claims(clock), rsa_key(1), "k9"), clock) == tokens.UNKNOWN_KID
    no_kid = rs256_by_hand({"alg": "RS256", "typ": "JWT"}, good_claims(clock), rsa_key(1))
    assert naive_decode(no_kid, PEM)["sub"] == "ada", "a single-key verifier needs no kid"
    assert refused(no_kid, clock) == tokens.UNKNOWN_KID, "with a key set, no kid names no key"


@pytest.mark.task(3)
@pytest.mark.parametrize("kid", [["k1"], {"kid": "k1"}, 1, None], ids=repr)
def test_a_kid_that_is_not_a_string_is_malformed_not_a_crash(clock: FakeClock, kid: object) -> None:
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    token = rs256_by_hand(header, good_claims(clock), rsa_key(1))
    assert naive_decode(token, PEM)["sub"] == "ada", "the naive verifier ignores the kid"
    assert refused(token, clock) == tokens.MALFORMED


@pytest.mark.task(3)
@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "a.b", f"{b64url(b'[1]')}.e30.", f"{b64url(b'{')}.e30.sig"],
    ids=["empty", "one-part", "bad-base64", "two-parts", "header-a-list", "header-not-json"],
)
def test_garbage_is_malformed_not_a_crash(clock: FakeClock, token: str) -> None:
    assert refused(token, clock) == tokens.MALFORMED


@pytest.mark.task(3)
def test_only_the_injected_clock_counts() -> None:
    """A clock set in 2040: PyJWT's own checks would call these claims "not yet valid"."""
    future = FakeClock(2_200_000_000)
    assert verify(rs256(good_claims(future), rsa_key(1), "k1"), future)["sub"] == "ada"


@pytest.mark.task(3)
def test_a_signed_payload_that_is_not_json_is_malformed(clock: FakeClock) -> None:
    signing_input = f"{segment({'alg': 'RS256', 'kid': 'k1'})}.{b64url(b'not json')}"
    signature = rsa_key(1).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    assert refused(f"{signing_input}.{b64url(signature)}", clock) == tokens.MALFORMED


@pytest.mark.task(3)
def test_a_non_numeric_expiry_is_malformed(clock: FakeClock) -> None:
    for claim in ("exp", "nbf"):
        token = rs256(good_claims(clock, **{claim: "tomorrow"}), rsa_key(1), "k1")
        assert refused(token, clock) == tokens.MALFORMED, claim


@pytest.mark.task(3)
@pytest.mark.parametrize("claim", tokens.REQUIRED_CLAIMS)
def test_a_missing_claim_is_refused(clock: FakeClock, claim: str) -> None:
    token = rs256(good_claims(clock, **{claim: None}), rsa_key(1), "k1")
    assert refused(token, clock) == tokens.MISSING_CLAIM


@pytest.mark.task(3)
@pytest.mark.parametrize("aud", ["billing-api", ["billing-api", "admin-api"], "todo-api-v2"])
def test_another_audience_is_refused(clock: FakeClock, aud: object) -> None:
    """A token minted for another API of the same issuer must not open this one."""
    forged = rs256(good_claims(clock, aud=aud), rsa_key(1), "k1")
    assert naive_decode(forged, PEM)["aud"] == aud, "the naive verifier ignores aud"
    assert refused(forged, clock) == tokens.WRONG_AUDIENCE


@pytest.mark.task(3)
def test_another_issuer_is_refused(clock: FakeClock) -> None:
    forged = rs256(good_claims(clock, iss="https://evil.example"), rsa_key(1), "k1")
    assert naive_decode(forged, PEM)["iss"] == "https://evil.example"
    assert refused(forged, clock) == tokens.WRONG_ISSUER


@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("expired_ago", "accepted"),
    [(0, True), (5, True), (9.5, True), (10, False), (11, False), (15, False)],
)
def test_expiry_has_exactly_the_leeway(
    clock: FakeClock, expired_ago: float, accepted: bool
) -> None:
    """RFC 7519: now must be before exp. The leeway (10 s) forgives clock skew, once."""
    token = rs256(good_claims(clock), rsa_key(1), "k1")
    clock.advance(300 + expired_ago)  # exp is 300 s after issue
    assert naive_decode(token, PEM)["sub"] == "ada", "the naive verifier never checks exp"
    if accepted:
        assert verify(token, clock)["sub"] == "ada"
    else:
        assert refused(token, clock) == tokens.EXPIRED


@pytest.mark.task(3)
def test_without_leeway_the_last_valid_instant_is_just_before_exp(clock: FakeClock) -> None:
    token = rs256(good_claims(clock), rsa_key(1), "k1")
    clock.advance(299.5)
    assert verify(token, clock, leeway=0)["sub"] == "ada"
    clock.advance(0.5)
    assert refused(token, clock, leeway=0) == tokens.EXPIRED


@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("valid_in", "accepted"), [(0, True), (5, True), (10, True), (10.5, False), (11, False)]
)
def test_not_before_has_exactly_the_leeway(
    clock: FakeClock, valid_in: float, accepted: bool
) -> None:
    """RFC 7519: now must be at or after nbf, minus the leeway."""
    start = int(clock())
    token = rs256(good_claims(clock, nbf=start + valid_in), rsa_key(1), "k1")
    assert naive_decode(token, PEM)["sub"] == "ada", "the naive verifier never checks nbf"
    if accepted:
        assert verify(token, clock)["sub"] == "ada"
    else:
        assert refused(token, clock) == tokens.NOT_YET_VALID
