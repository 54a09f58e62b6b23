"""Task 6: refresh tokens rotate on each use; a replayed one revokes its whole family."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis

from .conftest import ADA_PASSWORD, bearer, login, warm_pool
from .refresh import RefreshRefused, RefreshTokens, Rotated

TTL = 3600


@pytest.fixture
def store(redis: Redis) -> RefreshTokens:
    return RefreshTokens(redis, ttl=TTL)


async def reason(store: RefreshTokens, token: str) -> str:
    with pytest.raises(RefreshRefused) as caught:
        await store.rotate(token)
    return caught.value.reason


@pytest.mark.task(6)
async def test_each_refresh_returns_a_new_token_and_spends_the_old(store: RefreshTokens) -> None:
    first = await store.issue("ada")
    second = await store.rotate(first)
    assert second.subject == "ada" and second.token != first
    assert min(len(first), len(second.token)) >= 43, "256 random bits: 43+ base64url characters"
    third = await store.rotate(second.token)
    assert third.subject == "ada" and third.token not in {first, second.token}
    assert await reason(store, "never-issued") == "unknown"


@pytest.mark.task(6)
async def test_replaying_a_spent_token_revokes_the_whole_family(store: RefreshTokens) -> None:
    """The thief replays an old token: the client's newest one must die too."""
    stolen = await store.issue("ada")
    newest = (await store.rotate(stolen)).token
    newest = (await store.rotate(newest)).token  # the client carries on, two rotations later
    assert await reason(store, stolen) == "reused"
    assert await reason(store, newest) == "revoked", "reuse revokes the family, not one token"
    assert await reason(store, stolen) == "revoked", "and the family stays revoked"


@pytest.mark.task(6)
async def test_the_thief_refreshing_first_loses_too(store: RefreshTokens) -> None:
    stolen = await store.issue("ada")
    thief = (await store.rotate(stolen)).token  # the thief was faster
    assert await reason(store, stolen) == "reused"  # the client's honest refresh trips the alarm
    assert await reason(store, thief) == "revoked"


@pytest.mark.task(6)
async def test_other_families_are_untouched(store: RefreshTokens) -> None:
    laptop, phone = await store.issue("ada"), await store.issue("ada")
    await store.rotate(laptop)
    assert await reason(store, laptop) == "reused"
    assert (await store.rotate(phone)).subject == "ada", "another login is another family"


@pytest.mark.task(6)
async def test_concurrent_refreshes_with_one_token_give_exactly_one_success(
    store: RefreshTokens,
) -> None:
    token = await store.issue("ada")
    await warm_pool(store.redis, 10)
    results = await asyncio.gather(
        *(store.rotate(token) for _ in range(10)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Rotated)]
    losers = [r.reason for r in results if isinstance(r, RefreshRefused)]
    assert len(winners) == 1, f"check-then-set races: {len(winners)} refreshes succeeded"
    assert losers and set(losers) <= {"reused", "revoked"} and len(losers) == 9
    assert await reason(store, winners[0].token) == "revoked", "a concurrent replay is a reuse"


@pytest.mark.task(6)
async def test_everything_expires_and_no_raw_token_is_stored(
    store: RefreshTokens, redis: Redis
) -> None:
    token = await store.issue("ada")
    family = await redis.hget(store.token_key(token), "family")
    assert isinstance(family, str)
    await redis.expire(store.family_key(family), 5)  # as if the family were nearly expired
    newer = (await store.rotate(token)).token
    assert await redis.ttl(store.family_key(family)) > 5, "each rotation renews the family's TTL"
    assert await redis.hgetall(store.token_key(token)) == {
        "subject": "ada",
        "family": family,
        "used": "1",
    }, "a spent token stays, marked used: that is how a replay is recognised"
    assert await redis.hgetall(store.token_key(newer)) == {
        "subject": "ada",
        "family": family,
        "used": "0",
    }
    assert await redis.get(store.family_key(family)) == "ada"
    keys = [store.token_key(token), store.token_key(newer), store.family_key(family)]
    assert sorted(await redis.keys("*")) == sorted(keys), "store hashes of tokens, not tokens"
    for key in keys:
        assert 0 < await redis.ttl(key) <= TTL, f"{key} must expire"


@pytest.mark.task(6)
async def test_the_token_endpoint_rotates_and_detects_reuse(client: httpx.AsyncClient) -> None:
    first = await login(client)
    assert first["token_type"] == "Bearer" and first["expires_in"] == 300
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = await client.post("/token", data=form)
    assert second.status_code == 200 and second.headers["cache-control"] == "no-store"
    pair = second.json()
    assert (await client.get("/me", headers=bearer(pair["access_token"]))).status_code == 200
    replay = await client.post("/token", data=form)  # RFC 6749 §5.2: 400 invalid_grant
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert replay.json()["error_description"] == "refresh token reused"
    newest = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    revoked = await client.post("/token", data=newest)
    assert revoked.json() == {
        "error": "invalid_grant",
        "error_description": "refresh token revoked",
    }


@pytest.mark.task(6)
@pytest.mark.parametrize(("username", "password"), [("ada", "wrong"), ("nobody", ADA_PASSWORD)])
async def test_a_failed_login_does_not_say_which_part_was_wrong(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    await login(client)  # the right password works
    form = {"grant_type": "password", "username": username, "password": password}
    response = await client.post("/token", data=form)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "wrong username or password"},
    )


@pytest.mark.task(6)
@pytest.mark.parametrize(
    "form",
    [
        {},
        {"grant_type": "client_credentials"},
        {"grant_type": "password", "username": "ada"},
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": ""},
        {"grant_type": "refresh_token", "refresh_token": "\u00e9\x00" * 100},
        {"grant_type": "authorization_code", "code": "", "redirect_uri": "", "client_id": ""},
        {"grant_type": "authorization_code", "code": "x", "redirect_uri": "y", "client_id": "z",
         "code_verifier": "v" * 43},
    ],
    ids=["empty", "unsupported", "no-password", "no-token", "empty-token", "odd-token",
         "empty-code", "unknown-code"],
)  # fmt: skip
async def test_junk_at_the_token_endpoint_is_a_400_not_a_500(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    await login(client)
    response = await client.post("/token", data=form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] in {
        "invalid_request",
        "invalid_grant",
        "unsupported_grant_type",
    }
