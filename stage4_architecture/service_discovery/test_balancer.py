"""Tasks 5 and 7: round robin over what is registered, kept in step with the registry, and a
call that moves on when an instance is gone before the registry knows."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import pytest

from .balancer import RoundRobin, ask, call, follow
from .conftest import Etcd, Worker, until
from .etcd import EtcdRegistry
from .registry import Event, Instance


def instances(*ids: str) -> list[Instance]:
    return [Instance("web", i, "127.0.0.1", 8000 + n) for n, i in enumerate(ids, 1)]


def picks(balancer: RoundRobin, count: int) -> list[str]:
    return [balancer.pick().id for _ in range(count)]


# Task 5: RoundRobin and follow


@pytest.mark.task(5)
def test_round_robin_goes_in_id_order_and_wraps() -> None:
    balancer = RoundRobin(instances("c", "a", "b"))
    assert picks(balancer, 7) == ["a", "b", "c", "a", "b", "c", "a"]


@pytest.mark.task(5)
def test_a_single_instance_gets_every_request() -> None:
    assert picks(RoundRobin(instances("a")), 3) == ["a", "a", "a"]


@pytest.mark.task(5)
def test_no_instance_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        RoundRobin().pick()
    balancer = RoundRobin(instances("a"))
    balancer.apply(Event("removed", "a"))
    with pytest.raises(LookupError):
        balancer.pick()


@pytest.mark.task(5)
def test_removing_the_last_pick_moves_on_to_the_next_id() -> None:
    balancer = RoundRobin(instances("a", "b", "c"))
    assert picks(balancer, 1) == ["a"]
    balancer.apply(Event("removed", "a"))
    assert picks(balancer, 3) == ["b", "c", "b"], "resume after the last id, not at a position"


@pytest.mark.task(5)
def test_removed_instances_are_skipped_and_unknown_removals_ignored() -> None:
    balancer = RoundRobin(instances("a", "b", "c", "d"))
    assert picks(balancer, 2) == ["a", "b"]
    balancer.apply(Event("removed", "c"))
    balancer.apply(Event("removed", "zz"))
    assert picks(balancer, 4) == ["d", "a", "b", "d"]
    assert balancer.ids() == ["a", "b", "d"]
    balancer.apply(Event("removed", "b", balancer.live["b"]))  # the kind decides, not the payload
    assert balancer.ids() == ["a", "d"]


@pytest.mark.task(5)
def test_added_instances_join_in_their_turn() -> None:
    a, b, c = instances("a", "b", "c")
    balancer = RoundRobin([a, c])
    assert picks(balancer, 1) == ["a"]
    balancer.apply(Event("added", "b", b))
    assert picks(balancer, 4) == ["b", "c", "a", "b"]


@pytest.mark.task(5)
def test_an_added_instance_replaces_its_old_address() -> None:
    (a,) = instances("a")
    moved = Instance("web", "a", "10.0.0.9", 9000)
    balancer = RoundRobin([a])
    balancer.apply(Event("added", "a", moved))
    assert balancer.pick() == moved
    assert balancer.ids() == ["a"]


@pytest.mark.task(5)
async def test_follow_keeps_the_balancer_in_step_with_the_registry(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str
) -> None:
    lease = etcd.grant(60)

    def put(instance_id: str, status: str = "passing") -> None:
        instance = Instance(service, instance_id, "127.0.0.1", 8000)
        etcd.put(f"{root}/{service}/{instance_id}", {**vars(instance), "status": status}, lease)

    put("a")
    put("b")
    balancer = RoundRobin(instances("stale"))
    following = asyncio.create_task(follow(registry, service, balancer))

    async def settles(ids: list[str], what: str) -> None:
        # The follower runs on this event loop: give it turns while waiting.
        async with asyncio.timeout(20):
            while balancer.ids() != ids and not following.done():
                await asyncio.sleep(0.02)
        assert balancer.ids() == ids, what

    try:
        await settles(["a", "b"], "the snapshot replaces whatever the balancer held")
        put("c")
        await settles(["a", "b", "c"], "a registered instance joins")
        put("a", "critical")
        await settles(["b", "c"], "a failing instance leaves")
        etcd.revoke(lease)
        await settles([], "an expired lease takes its instances out")
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)


# Task 7: call with failover


def answers(down: set[str]) -> Callable[[Instance], asyncio.Future[str]]:
    """A request that fails to connect to the ids in ``down`` and answers with the id elsewhere."""

    def request(instance: Instance) -> asyncio.Future[str]:
        future = asyncio.get_running_loop().create_future()
        if instance.id in down:
            future.set_exception(ConnectionRefusedError(f"{instance.address} refused"))
        else:
            future.set_result(instance.id)
        return future

    return request


@pytest.mark.task(7)
async def test_call_skips_and_drops_unreachable_instances() -> None:
    balancer = RoundRobin(instances("a", "b", "c", "d"))
    request = answers({"b", "c"})
    got = [await call(balancer, request) for _ in range(4)]
    assert got == ["a", "d", "a", "d"]
    assert balancer.ids() == ["a", "d"], "an unreachable instance is dropped until re-registered"


@pytest.mark.task(7)
async def test_call_lets_other_errors_out_and_keeps_the_instance() -> None:
    balancer = RoundRobin(instances("a", "b"))

    async def broken(instance: Instance) -> str:
        raise ValueError(f"{instance.id} answered nonsense")

    with pytest.raises(ValueError, match="a answered"):
        await call(balancer, broken)
    assert balancer.ids() == ["a", "b"], "a bad answer is not an unreachable instance"


@pytest.mark.task(7)
async def test_call_with_every_instance_down_raises_the_last_error() -> None:
    balancer = RoundRobin(instances("a", "b", "c"))
    with pytest.raises(ConnectionRefusedError, match=r"127\.0\.0\.1:8003"):
        await call(balancer, answers({"a", "b", "c"}))
    assert balancer.ids() == []
    with pytest.raises(LookupError):
        await call(balancer, answers(set()))


@pytest.mark.task(7)
async def test_a_killed_instance_loses_no_request(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str, workers: Callable[..., Worker]
) -> None:
    a, b, c = workers("a"), workers("b"), workers("c")
    balancer = RoundRobin()
    following = asyncio.create_task(follow(registry, service, balancer))
    try:
        async with asyncio.timeout(20):
            while balancer.ids() != ["a", "b", "c"]:
                await asyncio.sleep(0.02)
        assert [await call(balancer, ask) for _ in range(6)] == ["a", "b", "c"] * 2
        b.process.kill()  # SIGKILL: no deregistration; the registry still lists b for a while
        assert etcd.get(b.key) is not None
        got = [await call(balancer, ask) for _ in range(6)]
        assert got == ["a", "c"] * 3, "every request answered, by the live instances in turn"
        await asyncio.to_thread(until, lambda: etcd.get(b.key) is None, "b's lease to expire")
        assert [etcd.get(w.key) is not None for w in (a, c)] == [True, True]
        assert balancer.ids() == ["a", "c"]
        assert b.process.process.returncode == -signal.SIGKILL
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
