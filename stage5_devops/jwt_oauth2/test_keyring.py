"""Task 4: the key ring rotates by kid, and its JWKS publishes every public key, nothing private."""

from __future__ import annotations

import httpx
import jwt
import pytest

from .conftest import AUDIENCE, ISSUER, FakeClock, b64url, good_claims, rs256, rsa_key
from .tokens import KeyRing, verify_access_token

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def b64url_uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@pytest.mark.task(4)
def test_the_jwks_publishes_each_public_key_with_its_kid_use_and_alg() -> None:
    ring = KeyRing("k1", rsa_key(1))
    ring.rotate("k2", rsa_key(2))
    keys = ring.jwks()["keys"]
    assert [(k["kid"], k["kty"], k["use"], k["alg"]) for k in keys] == [
        ("k1", "RSA", "sig", "RS256"),
        ("k2", "RSA", "sig", "RS256"),
    ]
    for key, index in zip(keys, (1, 2), strict=True):
        numbers = rsa_key(index).public_key().public_numbers()
        assert (key["n"], key["e"]) == (b64url_uint(numbers.n), b64url_uint(numbers.e))
        assert not PRIVATE_MEMBERS & set(key), "the JWKS is public: never the private exponent"


@pytest.mark.task(4)
def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_until_retired() -> None:
    ring = KeyRing("k1", rsa_key(1))
    ring.rotate("k2", rsa_key(2))
    assert ring.signing_key == ("k2", rsa_key(2)) and ring.current_kid == "k2"
    assert ring.kids() == ["k1", "k2"], "tokens signed by k1 are still out there"
    ring.retire("k1")
    assert ring.kids() == ["k2"]
    assert [k["kid"] for k in ring.jwks()["keys"]] == ["k2"]


@pytest.mark.task(4)
def test_a_kid_is_never_reused_and_the_signing_key_is_never_retired() -> None:
    ring = KeyRing("k1", rsa_key(1))
    with pytest.raises(ValueError):
        ring.rotate("k1", rsa_key(2))  # the same kid for another key would break old tokens
    assert ring.signing_key == ("k1", rsa_key(1)) and ring.kids() == ["k1"]
    with pytest.raises(ValueError):
        ring.retire("".join(["k", "1"]))  # an equal string, not the same object
    with pytest.raises(KeyError):
        ring.retire("k9")
    assert ring.kids() == ["k1"]


@pytest.mark.task(4)
async def test_a_resource_server_verifies_with_the_jwks_it_fetched(
    client: httpx.AsyncClient, ring: KeyRing, clock: FakeClock
) -> None:
    """Another service knows only the document at /.well-known/jwks.json, and it is enough."""
    ring.rotate("k2", rsa_key(2))
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    document = response.json()
    for kid, index in (("k1", 1), ("k2", 2)):
        token = rs256(good_claims(clock, sub=kid), rsa_key(index), kid)
        claims = verify_access_token(
            token, document, issuer=ISSUER, audience=AUDIENCE, leeway=0, now=clock
        )
        assert claims["sub"] == kid
    public = jwt.PyJWK(document["keys"][0]).key
    assert public.public_numbers() == rsa_key(1).public_key().public_numbers()
