"""Task 6: run_instance in real worker processes: stays registered by heartbeats, comes back
when its registration is lost, leaves at once on SIGTERM, and only by its TTL on SIGKILL."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import pytest

from .conftest import GUARD_S, Etcd, Worker, until
from .etcd import EtcdRegistry
from .instance import run_instance
from .registry import Instance


def lease_of(etcd: Etcd, worker: Worker) -> str | None:
    kv = etcd.get(worker.key)
    return None if kv is None else str(kv["lease"])


@pytest.mark.task(6)
def test_sigterm_deregisters_before_the_process_exits(
    etcd: Etcd, workers: Callable[..., Worker]
) -> None:
    worker = workers("a", ttl=600)  # far longer than the test: only a revoke can remove it
    lease = lease_of(etcd, worker)
    assert lease is not None
    worker.process.send(signal.SIGTERM)
    assert worker.process.process.wait(GUARD_S) == 0, worker.process.output()[-2000:]
    assert etcd.get(worker.key) is None, "gone as soon as the process is"
    assert etcd.time_to_live(lease) == -1, "its lease revoked"


@pytest.mark.task(6)
def test_sigkill_leaves_the_ttl_to_remove_it_while_the_others_heartbeat(
    etcd: Etcd, workers: Callable[..., Worker]
) -> None:
    first, second = workers("a"), workers("b")  # ttl 2 s each; "a" registered first
    leases = lease_of(etcd, first), lease_of(etcd, second)
    second.process.kill()
    until(lambda: etcd.get(second.key) is None, "the killed instance's lease to expire")
    assert lease_of(etcd, first) == leases[0], "heartbeats kept the first on its lease all along"
    assert etcd.time_to_live(str(leases[1])) == -1


@pytest.mark.task(6)
def test_a_lost_registration_is_made_again(etcd: Etcd, workers: Callable[..., Worker]) -> None:
    worker = workers("a")
    lost = lease_of(etcd, worker)
    assert lost is not None
    etcd.revoke(lost)  # as if a long pause had let it expire
    until(lambda: lease_of(etcd, worker) not in (None, lost), "the instance to register again")
    assert etcd.get(worker.key)["value"]["status"] == "passing"  # type: ignore[index]
    assert worker.process.process.poll() is None, "losing a lease is not a reason to exit"


@pytest.mark.task(6)
async def test_run_instance_stops_when_told_without_waiting_for_a_beat(
    registry: EtcdRegistry, etcd: Etcd, root: str, service: str
) -> None:
    instance = Instance(service, "a", "127.0.0.1", 8000)
    stop = asyncio.Event()
    running = asyncio.create_task(run_instance(registry, instance, 600, stop))
    key = f"{root}/{service}/a"
    async with asyncio.timeout(GUARD_S):
        while etcd.get(key) is None:
            await asyncio.sleep(0.02)
    stop.set()
    async with asyncio.timeout(GUARD_S):  # a heartbeat is 200 s away: stop must not wait for it
        await running
    assert etcd.get(key) is None
