"""Tasks 2-4: EtcdRegistry against a real etcd. The test arranges and checks through its own raw
view of etcd (``Etcd`` in conftest), so each task is tested on its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from .conftest import GUARD_S, Etcd, until
from .etcd import EtcdRegistry
from .registry import Event, Instance, Lease, Snapshot


def web(service: str, instance_id: str, port: int = 8000) -> Instance:
    return Instance(service, instance_id, "127.0.0.1", port)


def stored(instance: Instance, status: str = "passing") -> dict[str, Any]:
    return {**vars(instance), "status": status}


def key(root: str, instance: Instance) -> str:
    return f"{root}/{instance.service}/{instance.id}"


# Task 2: register, heartbeat, deregister


@pytest.mark.task(2)
async def test_register_puts_the_instance_on_a_lease_of_its_own(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str
) -> None:
    a, b = web(service, "a", 8001), web(service, "b", 8002)
    lease_a = await registry.register(a, 30)
    lease_b = await registry.register(b, 30)
    assert (lease_a.instance, lease_a.ttl) == (a, 30)
    kv = etcd.get(key(root, a))
    assert kv is not None, "the instance's key is <root>/<service>/<id>"
    assert kv["value"] == stored(a), "the value is the instance as JSON, with status passing"
    assert kv["lease"] == lease_a.id, "the key is bound to the lease returned"
    assert 0 < etcd.time_to_live(lease_a.id) <= 30
    assert lease_b.id != lease_a.id, "one lease per instance: one dying must not take the other"
    kv_b = etcd.get(key(root, b))
    assert kv_b is not None and (kv_b["value"], kv_b["lease"]) == (stored(b), lease_b.id)


@pytest.mark.task(2)
async def test_the_lease_says_the_ttl_etcd_granted(
    registry: EtcdRegistry, etcd: Etcd, service: str
) -> None:
    lease = await registry.register(web(service, "a"), 1)
    granted = int(etcd.call("lease/timetolive", {"ID": lease.id})["grantedTTL"])
    assert granted >= 1
    assert lease.ttl == granted, "etcd may grant more than asked (its minimum TTL): keep its answer"


@pytest.mark.task(2)
async def test_a_heartbeat_renews_a_live_lease(
    registry: EtcdRegistry, etcd: Etcd, service: str
) -> None:
    lease = await registry.register(web(service, "a"), 3)
    until(lambda: etcd.time_to_live(lease.id) < 2, "the lease to run down a little")
    assert await registry.heartbeat(lease) is True
    assert etcd.time_to_live(lease.id) >= 2, "a keepalive restarts the lease's TTL"


@pytest.mark.task(2)
async def test_a_heartbeat_on_a_lost_lease_says_so(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str
) -> None:
    a = web(service, "a")
    lease = await registry.register(a, 30)
    etcd.revoke(lease.id)
    assert etcd.get(key(root, a)) is None
    assert await registry.heartbeat(lease) is False, "the registration is gone: register again"
    never = Lease(a, str(int(lease.id) + 1000), 30)
    assert await registry.heartbeat(never) is False


@pytest.mark.task(2)
async def test_deregister_revokes_at_once_and_twice_is_fine(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str
) -> None:
    a, b = web(service, "a", 8001), web(service, "b", 8002)
    lease_a = await registry.register(a, 60)
    await registry.register(b, 60)
    await registry.deregister(lease_a)
    assert etcd.get(key(root, a)) is None, "deregistering removes the key now, not after the TTL"
    assert etcd.time_to_live(lease_a.id) == -1, "revoke the lease itself: nothing is left to expire"
    assert etcd.get(key(root, b)) is not None, "only that instance's lease"
    await registry.deregister(lease_a)  # already gone: a shutdown may race with expiry


@pytest.mark.task(2)
async def test_deregister_lets_other_errors_out(registry: EtcdRegistry, service: str) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        await registry.deregister(Lease(web(service, "a"), "not-a-lease-id", 5))


# Task 3: lookup and set_health


@pytest.fixture
def lease(etcd: Etcd) -> str:
    return etcd.grant(60)


@pytest.mark.task(3)
async def test_lookup_lists_passing_instances_by_id_with_the_revision(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str, lease: str
) -> None:
    c, a, b = web(service, "c", 8003), web(service, "a", 8001), web(service, "b", 8002)
    etcd.put(key(root, c), stored(c), lease)
    etcd.put(key(root, a), stored(a), lease)
    etcd.put(key(root, web(service, "down")), stored(web(service, "down"), "critical"), lease)
    revision = etcd.put(key(root, b), stored(b), lease)
    snapshot = await registry.lookup(service)
    assert snapshot == Snapshot(service, (a, b, c), revision)


@pytest.mark.task(3)
async def test_lookup_stays_inside_its_service(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str, lease: str
) -> None:
    a = web(service, "a")
    etcd.put(key(root, a), stored(a), lease)
    for other in (f"{service}-admin", f"{service}x"):
        etcd.put(key(root, web(other, "a")), stored(web(other, "a")), lease)
    etcd.put(f"{root}/{service}", stored(web(service, "bare")), lease)
    etcd.put(f"{root}x/{service}/z", stored(web(service, "z")), lease)
    assert (await registry.lookup(service)).instances == (a,)


@pytest.mark.task(3)
async def test_lookup_skips_entries_that_are_not_instances(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str, lease: str
) -> None:
    good = web(service, "good")
    prefix = f"{root}/{service}"
    etcd.put(key(root, good), stored(good), lease)
    etcd.put(f"{prefix}/text", "not json", lease)
    etcd.put(f"{prefix}/list", "[1, 2]", lease)
    etcd.put(f"{prefix}/port", {**stored(web(service, "port")), "port": 0}, lease)
    etcd.put(f"{prefix}/nostatus", vars(web(service, "nostatus")), lease)
    etcd.put(f"{prefix}/extra", {**stored(web(service, "extra")), "weight": 3}, lease)
    assert (await registry.lookup(service)).instances == (good,)


@pytest.mark.task(3)
async def test_lookup_of_an_empty_service_is_empty(
    registry: EtcdRegistry, etcd: Etcd, service: str
) -> None:
    revision = etcd.revision()
    assert await registry.lookup(service) == Snapshot(service, (), revision)


@pytest.mark.task(3)
async def test_set_health_flips_the_status_on_the_same_lease(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str, lease: str
) -> None:
    a, b = web(service, "a", 8001), web(service, "b", 8002)
    etcd.put(key(root, a), stored(a), lease)
    etcd.put(key(root, b), stored(b), lease)
    await registry.set_health(Lease(a, lease, 60), False)
    kv = etcd.get(key(root, a))
    assert kv is not None and kv["value"] == stored(a, "critical")
    assert kv["lease"] == lease, "keep the key on its lease, or it outlives the instance"
    assert (await registry.lookup(service)).instances == (b,)
    await registry.set_health(Lease(a, lease, 60), True)
    assert (await registry.lookup(service)).instances == (a, b)
    etcd.revoke(lease)
    assert (await registry.lookup(service)).instances == ()


# Task 4: watch


async def take(events: AsyncIterator[Event], count: int) -> list[Event]:
    """The next ``count`` events, or a failure after GUARD_S (a watch that misses changes)."""
    got: list[Event] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(GUARD_S):
            while len(got) < count:
                got.append(await anext(events))
    return got


@pytest.mark.task(4)
async def test_watch_reports_every_change_after_the_snapshot(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str, lease: str
) -> None:
    a, b, c = web(service, "a", 8001), web(service, "b", 8002), web(service, "c", 8003)
    revision = etcd.put(key(root, a), stored(a), lease)
    snapshot = Snapshot(service, (a,), revision)
    # All of this happens before the watch starts: it must still see it, and nothing before.
    etcd.put(key(root, b), stored(b), lease)
    etcd.put(key(root, web(f"{service}-admin", "x")), stored(web(f"{service}-admin", "x")), lease)
    etcd.put(key(root, a), stored(a, "critical"), lease)
    etcd.delete(key(root, b))
    own = etcd.grant(60)
    etcd.put(key(root, c), stored(c), own)
    etcd.put(f"{root}/{service}x/y", stored(web(f"{service}x", "y")), lease)
    etcd.revoke(own)
    etcd.put(key(root, a), stored(a), lease)
    async with contextlib.aclosing(registry.watch(snapshot)) as events:
        got = await take(events, 6)
    assert got == [
        Event("added", "b", b),
        Event("removed", "a"),
        Event("removed", "b"),
        Event("added", "c", c),
        Event("removed", "c"),
        Event("added", "a", a),
    ]


@pytest.mark.task(4)
async def test_watch_follows_changes_as_they_happen(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str, lease: str
) -> None:
    a = web(service, "a")
    snapshot = Snapshot(service, (), etcd.revision())
    async with contextlib.aclosing(registry.watch(snapshot)) as events:
        waiting = asyncio.ensure_future(take(events, 4))
        await asyncio.sleep(0)  # let the watch start; what it misses it replays from the revision
        etcd.put(key(root, a), stored(a), lease)
        etcd.put(f"{root}/{service}/junk", "{not json", lease)
        etcd.revoke(lease)
        got = await waiting
    assert got[:2] == [Event("added", "a", a), Event("removed", "junk")]
    # A revoked lease deletes all its keys in one revision, in no set order.
    assert sorted(got[2:], key=lambda e: e.id) == [Event("removed", "a"), Event("removed", "junk")]
