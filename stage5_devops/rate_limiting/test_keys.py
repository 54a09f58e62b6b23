"""Task 4: whom a request counts against (users, IPs, X-Forwarded-For behind trusted proxies)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from .conftest import CLIENT, PROXY, TRUSTED_PROXIES, Connect, bearer
from .keys import ForwardedForError, client_ip, networks

TRUSTED = networks(TRUSTED_PROXIES)


def leftmost_forwarded_for(peer: str, forwarded_for: list[str]) -> str:
    """The vulnerable variant: believe the first entry, whoever sent it."""
    return forwarded_for[0].split(",")[0].strip() if forwarded_for else peer


@pytest.mark.task(4)
def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    spoofed = ["198.51.100.1"]
    # The attack works on the vulnerable variant: the client picks its own key.
    assert leftmost_forwarded_for(CLIENT, spoofed) == "198.51.100.1"
    assert client_ip(CLIENT, spoofed, TRUSTED) == CLIENT
    # Garbage is ignored too: nothing from an untrusted peer's headers is read.
    assert client_ip(CLIENT, ["not an address"], TRUSTED) == CLIENT


@pytest.mark.task(4)
def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() -> None:
    # The client wrote 198.51.100.1 itself; our proxy appended the address it saw.
    chain = ["198.51.100.1, 203.0.113.50"]
    assert leftmost_forwarded_for(PROXY, chain) == "198.51.100.1"
    assert client_ip(PROXY, chain, TRUSTED) == "203.0.113.50"
    # Two of our proxies in a row: skip every trusted hop, from the right.
    assert client_ip(PROXY, ["198.51.100.1, 203.0.113.50, 10.1.2.3"], TRUSTED) == "203.0.113.50"
    # The chain may come in several headers: they are one list, in order.
    assert client_ip(PROXY, ["198.51.100.1", "203.0.113.50, 10.1.2.3"], TRUSTED) == "203.0.113.50"


@pytest.mark.task(4)
def test_edge_cases_of_the_chain() -> None:
    assert client_ip(PROXY, [], TRUSTED) == PROXY  # a request the proxy itself made
    assert client_ip(PROXY, ["10.9.9.9, 10.1.2.3"], TRUSTED) == "10.9.9.9"  # all hops are ours
    assert client_ip(PROXY, [" 203.0.113.50 ,"], TRUSTED) == "203.0.113.50"
    # One spelling per address, or a client could rotate spellings of one IPv6 address.
    assert client_ip(PROXY, ["2001:DB8:0:0::1"], TRUSTED) == "2001:db8::1"
    assert client_ip("2001:db8:aa::1", ["2001:db8:1::7"], TRUSTED) == "2001:db8:1::7"
    # Garbage left of the client was the client's: never read.
    assert client_ip(PROXY, ["junk, 203.0.113.50"], TRUSTED) == "203.0.113.50"


@pytest.mark.task(4)
def test_a_hop_our_proxy_vouches_for_must_be_an_address() -> None:
    with pytest.raises(ForwardedForError, match="unknown"):
        client_ip(PROXY, ["203.0.113.50, unknown"], TRUSTED)


async def statuses(client: httpx.AsyncClient, count: int, **kwargs: object) -> list[int]:
    return [(await client.get("/orders", **kwargs)).status_code for _ in range(count)]  # type: ignore[arg-type]


@pytest.mark.task(4)
async def test_a_user_has_one_quota_from_every_address(connect: Connect) -> None:
    async with connect("203.0.113.1") as home, connect("203.0.113.2") as office:
        assert await statuses(home, 3, headers=bearer("alice-token")) == [200] * 3
        assert await statuses(office, 3, headers=bearer("alice-token")) == [200, 200, 429]
        # bob, on the same address as alice, counts apart; the address's own quota is untouched.
        assert await statuses(office, 5, headers=bearer("bob-token")) == [200] * 5
        assert await statuses(office, 5) == [200] * 5


@pytest.mark.task(4)
async def test_made_up_tokens_count_against_the_address(connect: Connect) -> None:
    async with connect() as client:
        codes = [
            (await client.get("/orders", headers=bearer(uuid.uuid4().hex))).status_code
            for _ in range(6)
        ]
        assert codes == [200] * 5 + [429]
        # Only a Bearer token names a user.
        for scheme in ("Basic", "Token"):
            other = {"Authorization": f"{scheme} alice-token"}
            assert await statuses(client, 1, headers=other) == [429]
        lower = {"Authorization": "bearer alice-token"}
        assert await statuses(client, 1, headers=lower) == [200]


@pytest.mark.task(4)
async def test_rotating_a_spoofed_header_does_not_reset_the_quota(connect: Connect) -> None:
    async with connect(CLIENT) as client:
        codes = [
            (
                await client.get("/orders", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            ).status_code
            for i in range(6)
        ]
        assert codes == [200] * 5 + [429]
        assert (await client.get("/orders")).json()["detail"]["key"] == f"ip:{CLIENT}"


@pytest.mark.task(4)
async def test_clients_behind_our_proxy_count_apart(connect: Connect) -> None:
    async with connect(PROXY) as proxy:
        for client in ("203.0.113.10", "203.0.113.11"):
            chain = {"X-Forwarded-For": f"198.51.100.99, {client}"}
            assert await statuses(proxy, 6, headers=chain) == [200] * 5 + [429]
        refused = await proxy.get("/orders", headers={"X-Forwarded-For": "203.0.113.11"})
        assert refused.json()["detail"]["key"] == "ip:203.0.113.11"


@pytest.mark.task(4)
async def test_a_broken_chain_is_a_400_not_a_500(connect: Connect) -> None:
    async with connect(PROXY) as proxy:
        response = await proxy.get("/orders", headers={"X-Forwarded-For": "203.0.113.50, bogus"})
        assert response.status_code == 400
        assert "bogus" in response.json()["detail"]
