"""Task 7: authorization codes with PKCE (S256): one use, short-lived, bound to client and URI."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from . import pkce
from .conftest import ADA_PASSWORD, CLIENT_ID, REDIRECT_URI, FakeClock, bearer, warm_pool
from .pkce import AuthorizationCodes, InvalidGrant, InvalidRequest, s256_challenge

# RFC 7636 Appendix B: the example verifier and its S256 challenge.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
TTL = 60


@pytest.fixture
def codes(redis: Redis, clock: FakeClock) -> AuthorizationCodes:
    return AuthorizationCodes(redis, ttl=TTL, now=clock)


async def new_code(codes: AuthorizationCodes, challenge: str = RFC_CHALLENGE) -> str:
    return await codes.create(
        subject="ada",
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        challenge=challenge,
        method="S256",
    )


async def redeem(
    codes: AuthorizationCodes,
    code: str,
    verifier: str = RFC_VERIFIER,
    redirect_uri: str = REDIRECT_URI,
    client_id: str = CLIENT_ID,
) -> str:
    return await codes.redeem(
        code, client_id=client_id, redirect_uri=redirect_uri, verifier=verifier
    )


async def refusal(codes: AuthorizationCodes, code: str, **changes: str) -> str:
    with pytest.raises(InvalidGrant) as caught:
        await redeem(codes, code, **changes)
    return caught.value.description


@pytest.mark.task(7)
def test_the_s256_challenge_matches_rfc_7636() -> None:
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert s256_challenge("a" * 128) == "aDbPE7rEAOkQUHHNavRwhN-srU5eMCyUv-0k4BOvtz4"


@pytest.mark.task(7)
async def test_the_right_verifier_redeems_the_code_once(codes: AuthorizationCodes) -> None:
    code = await new_code(codes)
    assert len(code) >= 43, "256 random bits: 43+ base64url characters"
    assert await redeem(codes, code) == "ada"
    assert await refusal(codes, code) == pkce.UNKNOWN_CODE, "a code is good for one use"


@pytest.mark.task(7)
async def test_the_stored_grant_expires_in_redis_too(
    codes: AuthorizationCodes, redis: Redis, clock: FakeClock
) -> None:
    code = await new_code(codes)
    assert await redis.keys("*") == [codes.key(code)], "stored under key(code), not the code"
    stored = await redis.get(codes.key(code))
    assert isinstance(stored, str)
    assert json.loads(stored) == {
        "subject": "ada",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "challenge": RFC_CHALLENGE,
        "expires_at": clock() + TTL,
    }
    assert 0 < await redis.ttl(codes.key(code)) <= TTL


@pytest.mark.task(7)
@pytest.mark.parametrize(
    "verifier",
    [
        RFC_CHALLENGE,  # the challenge is public (it was in the authorize URL)
        RFC_VERIFIER[:-1] + "K",
        "x" * 43,
    ],
    ids=["the-challenge-itself", "one-char-off", "another"],
)
async def test_a_wrong_verifier_is_refused_and_burns_the_code(
    codes: AuthorizationCodes, verifier: str
) -> None:
    code = await new_code(codes)
    assert await refusal(codes, code, verifier=verifier) == pkce.VERIFIER_MISMATCH
    assert await refusal(codes, code) == pkce.UNKNOWN_CODE, "no second guess"


@pytest.mark.task(7)
@pytest.mark.parametrize("length", [42, 129])
async def test_a_verifier_outside_43_to_128_characters_is_refused(
    codes: AuthorizationCodes, length: int
) -> None:
    verifier = "v" * length
    code = await new_code(codes, challenge=s256_challenge(verifier))
    assert await refusal(codes, code, verifier=verifier) == pkce.VERIFIER_MISMATCH


@pytest.mark.task(7)
async def test_the_code_is_bound_to_its_client_and_redirect_uri(codes: AuthorizationCodes) -> None:
    for client_id in ("other-app", "zz-app"):
        code = await new_code(codes)
        assert await refusal(codes, code, client_id=client_id) == pkce.CLIENT_MISMATCH
    for other_uri in ("https://app.example/callback/../evil", "https://app.example/a"):
        code = await new_code(codes)
        assert await refusal(codes, code, redirect_uri=other_uri) == pkce.REDIRECT_MISMATCH


@pytest.mark.task(7)
async def test_a_code_lives_exactly_ttl_seconds(
    codes: AuthorizationCodes, clock: FakeClock
) -> None:
    early, late, later = await new_code(codes), await new_code(codes), await new_code(codes)
    clock.advance(TTL - 0.5)
    assert await redeem(codes, early) == "ada"
    clock.advance(0.5)
    assert await refusal(codes, late) == pkce.CODE_EXPIRED
    clock.advance(1)
    assert await refusal(codes, later) == pkce.CODE_EXPIRED


@pytest.mark.task(7)
@pytest.mark.parametrize(
    ("challenge", "method"),
    [(RFC_VERIFIER, "plain"), (RFC_CHALLENGE, "plain"), (RFC_CHALLENGE, "s256"),
     (RFC_CHALLENGE, ""), (RFC_CHALLENGE[:-1], "S256"), (RFC_CHALLENGE + "=", "S256"),
     ("", "S256")],
)  # fmt: skip
async def test_create_refuses_plain_and_malformed_challenges(
    codes: AuthorizationCodes, redis: Redis, challenge: str, method: str
) -> None:
    await new_code(codes)  # a good one is stored
    with pytest.raises(InvalidRequest):
        await codes.create(
            subject="ada",
            client_id=CLIENT_ID,
            redirect_uri=REDIRECT_URI,
            challenge=challenge,
            method=method,
        )
    assert len(await redis.keys("*")) == 1, "nothing stored for a refused request"


@pytest.mark.task(7)
async def test_concurrent_redemptions_give_exactly_one_success(codes: AuthorizationCodes) -> None:
    code = await new_code(codes)
    await warm_pool(codes.redis, 10)
    results = await asyncio.gather(
        *(redeem(codes, code) for _ in range(10)), return_exceptions=True
    )
    assert results.count("ada") == 1, "get-then-delete races: use one atomic command"
    assert all(isinstance(r, InvalidGrant) for r in results if r != "ada")


async def authorize(client: httpx.AsyncClient, **changes: str) -> httpx.Response:
    form = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": RFC_CHALLENGE,
        "code_challenge_method": "S256",
        "state": "xyz",
        "username": "ada",
        "password": ADA_PASSWORD,
        **changes,
    }
    return await client.post("/authorize", data=form)


def redirected(response: httpx.Response) -> dict[str, str]:
    """The query of a 303 back to the client's registered redirect URI."""
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {name: values[0] for name, values in parse_qs(location.query).items()}


@pytest.mark.task(7)
async def test_the_whole_code_flow_over_http(client: httpx.AsyncClient) -> None:
    params = redirected(await authorize(client))
    assert params["state"] == "xyz", "state comes back unchanged (the client's CSRF check)"
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "code_verifier": RFC_VERIFIER,
    }
    response = await client.post("/token", data=form)
    assert response.status_code == 200, response.text
    me = await client.get("/me", headers=bearer(response.json()["access_token"]))
    assert me.json() == {"subject": "ada"}
    again = await client.post("/token", data=form)
    assert again.json() == {"error": "invalid_grant", "error_description": pkce.UNKNOWN_CODE}


@pytest.mark.task(7)
async def test_the_authorize_endpoint_refuses_plain_and_strangers(
    client: httpx.AsyncClient,
) -> None:
    assert "code" in redirected(await authorize(client))
    plain = redirected(await authorize(client, code_challenge_method="plain"))
    assert (plain["error"], plain["state"]) == ("invalid_request", "xyz")
    denied = redirected(await authorize(client, password="wrong"))
    assert denied["error"] == "access_denied"
    stranger = await authorize(client, redirect_uri="https://evil.example/callback")
    assert stranger.status_code == 400, "never redirect to an unregistered URI"
    assert "location" not in stranger.headers
