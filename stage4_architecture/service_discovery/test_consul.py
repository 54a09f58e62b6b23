"""Task 8: the same registry on Consul. ``changes`` is checked here; the registry itself needs a
real Consul agent (``KATAS_CONSUL_URL``), and its tests skip with the reason where there is none."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from .consul import ConsulRegistry, changes
from .registry import Event, Instance


def by_id(*instances: Instance) -> dict[str, Instance]:
    return {i.id: i for i in instances}


def abc() -> list[Instance]:
    return [Instance("web", i, "127.0.0.1", 8000 + n) for n, i in enumerate("abc", 1)]


@pytest.mark.task(8)
def test_changes_between_two_states_in_id_order() -> None:
    a, b, c = abc()
    assert changes(by_id(a, b), by_id(b, c)) == [Event("removed", "a"), Event("added", "c", c)]
    assert changes(by_id(c), by_id(a, b)) == [
        Event("added", "a", a),
        Event("added", "b", b),
        Event("removed", "c"),
    ]


@pytest.mark.task(8)
def test_changes_report_a_moved_instance_and_nothing_for_the_same_state() -> None:
    a, b, _ = abc()
    moved = Instance("web", "b", "10.0.0.2", 9000)
    assert changes(by_id(a, b), by_id(a, moved)) == [Event("added", "b", moved)]
    assert changes(by_id(a, b), by_id(b, a)) == []
    assert changes({}, {}) == []


def name() -> str:
    return f"katas-{uuid.uuid4().hex[:8]}"


@pytest.mark.task(8)
async def test_consul_register_lookup_deregister(consul: ConsulRegistry) -> None:
    service = name()
    a, b = (Instance(service, f"{service}-{i}", "127.0.0.1", 9000 + n) for n, i in enumerate("ab"))
    lease_a = await consul.register(a, 30)
    lease_b = await consul.register(b, 30)
    try:
        snapshot = await consul.lookup(service)
        assert snapshot.instances == (a, b)
        assert snapshot.version > 0
        assert await consul.heartbeat(lease_a) is True
        await consul.set_health(lease_a, False)
        assert (await consul.lookup(service)).instances == (b,)
        await consul.set_health(lease_a, True)
        assert (await consul.lookup(service)).instances == (a, b)
    finally:
        await consul.deregister(lease_a)
        await consul.deregister(lease_b)
    assert (await consul.lookup(service)).instances == ()
    assert await consul.heartbeat(lease_a) is False
    await consul.deregister(lease_a)


@pytest.mark.task(8)
async def test_consul_ttl_check_turns_critical_without_heartbeats(consul: ConsulRegistry) -> None:
    service = name()
    a = Instance(service, f"{service}-a", "127.0.0.1", 9000)
    lease = await consul.register(a, 1)
    try:
        assert (await consul.lookup(service)).instances == (a,), "the check starts passing"
        async with asyncio.timeout(30):
            while (await consul.lookup(service)).instances:
                await asyncio.sleep(0.2)
    finally:
        await consul.deregister(lease)


@pytest.mark.task(8)
async def test_consul_watch_is_a_blocking_query(consul: ConsulRegistry) -> None:
    service = name()
    a, b = (Instance(service, f"{service}-{i}", "127.0.0.1", 9000 + n) for n, i in enumerate("ab"))
    lease_a = await consul.register(a, 30)
    snapshot = await consul.lookup(service)
    lease_b = await consul.register(b, 30)
    try:
        async with contextlib.aclosing(consul.watch(snapshot)) as events:
            async with asyncio.timeout(30):
                assert await anext(events) == Event("added", b.id, b)
                await consul.set_health(lease_a, False)
                assert await anext(events) == Event("removed", a.id)
    finally:
        await consul.deregister(lease_a)
        await consul.deregister(lease_b)
