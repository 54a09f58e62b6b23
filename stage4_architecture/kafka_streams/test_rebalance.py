"""Task 3: a group splits the partitions, and hands them over with nothing handled twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aiokafka import TopicPartition  # type: ignore[import-untyped]
from aiokafka.errors import ConsumerStoppedError  # type: ignore[import-untyped]

from .conftest import Kafka, produce, until
from .consumer import AtLeastOnceWorker


async def committed(worker: AtLeastOnceWorker, tp: TopicPartition) -> int:
    return int(await worker.consumer.committed(tp) or 0)


@pytest.mark.task(3)
async def test_revoking_commits_only_the_revoked_partitions(
    kafka: Kafka, topic: str, unique_name: str
) -> None:
    tp0, tp1, tp2 = (TopicPartition(topic, p) for p in range(3))
    consumer = kafka.consumer(group_id=unique_name)
    await consumer.start()
    try:
        consumer.assign([tp0, tp1, tp2])
        worker = AtLeastOnceWorker(consumer, lambda r: asyncio.sleep(0))
        await worker.on_partitions_assigned([tp0, tp1, tp2])
        assert worker.assigned == {tp0, tp1, tp2}
        worker.pending = {tp0: 4, tp1: 2}

        await worker.on_partitions_revoked([tp0, tp2])

        assert [await committed(worker, tp) for tp in (tp0, tp1, tp2)] == [4, 0, 0]
        assert worker.pending == {tp1: 2}
        assert worker.assigned == {tp1}
        await worker.on_partitions_assigned({tp2})  # the new assignment replaces the old
        assert worker.assigned == {tp2}
    finally:
        await consumer.stop()


@pytest.mark.task(3)
async def test_close_commits_then_leaves(kafka: Kafka, topic: str, unique_name: str) -> None:
    await produce(kafka, topic, [(1, b"k", b"x"), (1, b"k", b"y"), (1, b"k", b"z")])
    tp = TopicPartition(topic, 1)
    consumer = kafka.consumer(group_id=unique_name)
    await consumer.start()
    consumer.assign([tp])
    handled: list[Any] = []

    async def handle(record: Any) -> None:
        handled.append(record)

    worker = AtLeastOnceWorker(consumer, handle, commit_every=50)

    async def all_handled() -> bool:
        await worker.poll(200)
        return len(handled) == 3

    await until(all_handled, "three records handled")
    assert await committed(worker, tp) == 0
    await worker.close()
    with pytest.raises(ConsumerStoppedError):
        await consumer.getmany(timeout_ms=10)

    reader = kafka.consumer(group_id=unique_name)
    await reader.start()
    try:
        assert await reader.committed(tp) == 3
    finally:
        await reader.stop()


@pytest.mark.task(3)
async def test_members_split_the_partitions_and_hand_them_over_without_duplicates(
    kafka: Kafka, topic: str, unique_name: str
) -> None:
    everything = {TopicPartition(topic, p) for p in range(3)}
    handled: Counter[tuple[int, int]] = Counter()  # (partition, offset): times handled
    by: dict[str, set[int]] = {"a": set(), "b": set()}  # partitions each member handled

    def member(name: str) -> AtLeastOnceWorker:
        async def handle(record: Any) -> None:
            handled[record.partition, record.offset] += 1
            by[name].add(record.partition)

        consumer = kafka.consumer(
            group_id=unique_name, session_timeout_ms=10_000, heartbeat_interval_ms=500
        )
        # Commits happen only on a rebalance or a close: the hand-over is what is tested.
        worker = AtLeastOnceWorker(consumer, handle, commit_every=1000)
        consumer.subscribe([topic], listener=worker)
        return worker

    async def round_of(n: int) -> None:
        await produce(
            kafka, topic, [(p, b"k", f"{n}-{p}-{i}".encode()) for p in range(3) for i in range(4)]
        )

    def total() -> int:
        return sum(handled.values())

    a = member("a")
    await a.consumer.start()
    b = member("b")
    try:
        await round_of(1)

        async def a_has_all() -> bool:
            await a.poll(200)
            return total() == 12

        await until(a_has_all, "member a to handle the first round")
        assert a.assigned == everything

        # b joins: a gives up some partitions, committing them first.
        joining = asyncio.create_task(b.consumer.start())

        async def split() -> bool:
            await a.poll(200)
            if joining.done():
                await joining
                await b.poll(200)
            return bool(a.assigned and b.assigned) and a.assigned | b.assigned == everything

        await until(split, "the group to split the partitions between a and b")
        assert not a.assigned & b.assigned
        by["a"].clear()
        await round_of(2)

        async def both_done() -> bool:
            await asyncio.gather(a.poll(200), b.poll(200))
            return total() >= 24

        await until(both_done, "the second round handled")
        assert by == {
            "a": {tp.partition for tp in a.assigned},
            "b": {tp.partition for tp in b.assigned},
        }

        # b leaves cleanly: a takes every partition back, after b's last commit.
        await b.close()

        async def a_alone() -> bool:
            await a.poll(200)
            return a.assigned == everything

        await until(a_alone, "member a to own every partition again")
        await round_of(3)

        async def a_done() -> bool:
            await a.poll(200)
            return total() >= 36

        await until(a_done, "the third round handled")
    finally:
        await a.consumer.stop()
        await b.consumer.stop()
    assert total() == 36
    assert [key for key, times in handled.items() if times > 1] == []
