"""Task 2: commit after handling (at-least-once), also when a handler fails or a worker dies."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

from katas.kit import daemon

from .conftest import Kafka, produce, until
from .consumer import AtLeastOnceWorker

REPO = Path(__file__).resolve().parents[2]


class Boom(Exception):
    pass


@pytest.fixture
async def group_consumer(kafka: Kafka, unique_name: str) -> AsyncIterator[Callable[..., Any]]:
    """Start consumers of one group that own partitions given by hand (no rebalancing)."""
    started: list[AIOKafkaConsumer] = []

    async def start(*partitions: TopicPartition) -> AIOKafkaConsumer:
        consumer = kafka.consumer(group_id=unique_name)
        await consumer.start()
        consumer.assign(list(partitions))
        started.append(consumer)
        return consumer

    try:
        yield start
    finally:
        for consumer in started:
            await consumer.stop()


async def committed(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    return int(await consumer.committed(tp) or 0)  # None (or 0) when nothing was committed


def records(partition: int, *values: str) -> list[tuple[int, bytes, bytes]]:
    return [(partition, b"k", v.encode()) for v in values]


@pytest.mark.task(2)
async def test_each_record_is_committed_after_it_is_handled(
    kafka: Kafka, topic: str, group_consumer: Callable[..., Any]
) -> None:
    await produce(kafka, topic, records(0, "a", "b", "c", "d", "e"))
    tp = TopicPartition(topic, 0)
    consumer = await group_consumer(tp)
    seen: list[tuple[int, int]] = []  # (offset, committed offset while handling it)

    async def handle(record: Any) -> None:
        seen.append((record.offset, await committed(consumer, tp)))

    worker = AtLeastOnceWorker(consumer, handle)
    handled = 0

    async def all_handled() -> bool:
        nonlocal handled
        handled += await worker.poll(200)
        return handled == 5

    await until(all_handled, "five records handled")
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]
    assert await committed(consumer, tp) == 5
    assert worker.pending == {}


@pytest.mark.task(2)
async def test_commits_every_n_records_across_polls(
    kafka: Kafka, topic: str, group_consumer: Callable[..., Any]
) -> None:
    await produce(kafka, topic, records(1, *"abcdefg"))
    tp = TopicPartition(topic, 1)
    consumer = await group_consumer(tp)
    seen: list[int] = []  # the committed offset while handling each record

    async def handle(record: Any) -> None:
        seen.append(await committed(consumer, tp))

    worker = AtLeastOnceWorker(consumer, handle, commit_every=3)

    async def all_handled() -> bool:
        await worker.poll(200)
        return len(seen) == 7

    await until(all_handled, "seven records handled")
    assert seen == [0, 0, 0, 3, 3, 3, 6]
    assert await committed(consumer, tp) == 6
    assert worker.pending == {tp: 7}

    await worker.commit()
    assert await committed(consumer, tp) == 7
    assert worker.pending == {}
    await worker.commit()  # nothing pending: nothing to do
    assert await committed(consumer, tp) == 7


@pytest.mark.task(2)
async def test_a_failing_record_is_committed_up_to_and_delivered_again(
    kafka: Kafka, topic: str, group_consumer: Callable[..., Any]
) -> None:
    await produce(kafka, topic, records(0, "a0", "a1", "a2", "bad", "a4", "a5"))
    await produce(kafka, topic, records(2, "c0", "c1", "c2"))
    tp0, tp2 = TopicPartition(topic, 0), TopicPartition(topic, 2)
    consumer = await group_consumer(tp0, tp2)
    handled: list[str] = []
    failures = 0

    async def handle(record: Any) -> None:
        nonlocal failures
        if record.value == b"bad" and not failures:
            failures += 1
            raise Boom("the first try fails")
        handled.append(record.value.decode())

    worker = AtLeastOnceWorker(consumer, handle, commit_every=100)

    async def failed() -> bool:
        try:
            await worker.poll(200)
        except Boom:
            return True
        return False

    await until(failed, "the handler to fail on 'bad'")
    # What was handled before the failure is committed; 'bad' and what follows is not.
    assert await committed(consumer, tp0) == 3
    assert await committed(consumer, tp2) == sum(v.startswith("c") for v in handled)

    async def all_handled() -> bool:
        await worker.poll(200)
        return len(handled) == 9

    await until(all_handled, "every record handled once, 'bad' after its retry")
    assert [v for v in handled if v[0] != "c"] == ["a0", "a1", "a2", "bad", "a4", "a5"]
    assert [v for v in handled if v[0] == "c"] == ["c0", "c1", "c2"]
    await worker.commit()
    assert (await committed(consumer, tp0), await committed(consumer, tp2)) == (6, 3)


@pytest.mark.task(2)
async def test_a_killed_worker_loses_nothing(
    kafka: Kafka, topic: str, unique_name: str, tmp_path: Path, group_consumer: Callable[..., Any]
) -> None:
    values = ["r0", "r1", "r2", "r3", "r4", "hang", "r6", "r7", "r8", "r9"]
    await produce(kafka, topic, records(0, *values))
    journal = tmp_path / "journal.txt"
    journal.touch()
    argv = [sys.executable, "-m", f"{__package__}.worker", kafka.bootstrap, topic, unique_name]
    with daemon([*argv, str(journal)], name="worker", cwd=REPO) as worker_process:

        async def stuck() -> bool:
            await asyncio.sleep(0.05)  # polling a file, with the deadline of until()
            assert worker_process.process.poll() is None, worker_process.output()
            return journal.read_text().endswith("5 hang\n")

        await until(stuck, "the worker process to handle 'hang'")
        worker_process.kill()  # SIGKILL: no clean-up, no last commit
    before = journal.read_text().splitlines()
    assert before == [f"{offset} {value}" for offset, value in enumerate(values[:6])]

    # A new worker of the same group starts after the last commit: 'hang' comes again.
    tp = TopicPartition(topic, 0)
    consumer = await group_consumer(tp)
    after: list[str] = []

    async def handle(record: Any) -> None:
        after.append(f"{record.offset} {record.value.decode()}")

    worker = AtLeastOnceWorker(consumer, handle)

    async def caught_up() -> bool:
        await worker.poll(200)
        return len(after) >= 5

    await until(caught_up, "the new worker to handle the rest")
    assert after == [f"{offset} {value}" for offset, value in enumerate(values)][5:]


@pytest.mark.task(2)
async def test_a_batch_that_fails_at_once_is_delivered_again_whole(
    kafka: Kafka, topic: str, group_consumer: Callable[..., Any]
) -> None:
    await produce(kafka, topic, records(1, "bad", "x1", "x2"))
    tp = TopicPartition(topic, 1)
    consumer = await group_consumer(tp)
    handled: list[str] = []

    async def handle(record: Any) -> None:
        if record.value == b"bad" and not handled:
            handled.append("failed")
            raise Boom("the first try fails")
        handled.append(record.value.decode())

    worker = AtLeastOnceWorker(consumer, handle)

    async def failed() -> bool:
        try:
            await worker.poll(200)
        except Boom:
            return True
        return False

    await until(failed, "the handler to fail on 'bad'")
    assert await committed(consumer, tp) == 0

    async def all_handled() -> bool:
        await worker.poll(200)
        return len(handled) == 4

    await until(all_handled, "'bad' again, then the rest")
    assert handled == ["failed", "bad", "x1", "x2"]


@pytest.mark.task(2)
async def test_a_large_commit_interval_is_counted_exactly(
    kafka: Kafka, topic: str, group_consumer: Callable[..., Any]
) -> None:
    await produce(kafka, topic, records(2, *(f"v{i}" for i in range(301))))
    tp = TopicPartition(topic, 2)
    consumer = await group_consumer(tp)
    count = 0

    async def handle(record: Any) -> None:
        nonlocal count
        count += 1

    worker = AtLeastOnceWorker(consumer, handle, commit_every=300)

    async def all_handled() -> bool:
        await worker.poll(200)
        return count == 301

    await until(all_handled, "301 records handled")
    assert await committed(consumer, tp) == 300
    assert worker.pending == {tp: 301}
