"""Task 4: read-process-write in one transaction; needs Apache Kafka (see conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition  # type: ignore[import-untyped]

from .conftest import Kafka, NewTopicFn, produce, read_until, until
from .exactly_once import process_batch, transactional_producer

END = b"--end--"  # written last by the test: readers stop there


class Boom(Exception):
    pass


def shout(value: bytes) -> bytes:
    return value.upper()


@pytest.mark.task(4)
async def test_a_transactional_producer_commits_what_it_sends(
    transactions: Kafka, new_topic: NewTopicFn, unique_name: str
) -> None:
    out = await new_topic(1)
    producer = transactional_producer(transactions.bootstrap, unique_name)
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send(out, b"kept", key=b"k")
        await producer.commit_transaction()
        await producer.begin_transaction()
        await producer.send(out, b"dropped", key=b"k")
        await producer.abort_transaction()
    finally:
        await producer.stop()
    await produce(transactions, out, [(0, b"k", END)])
    seen = await read_until(transactions, out, END, isolation_level="read_committed")
    assert [r.value for r in seen] == [b"kept"]


async def pipeline(
    kafka: Kafka, new_topic: NewTopicFn, group: str, values: list[bytes]
) -> tuple[Any, Any, str, TopicPartition]:
    source, out = await new_topic(1), await new_topic(1)
    await produce(kafka, source, [(0, b"key-" + v, v) for v in values])
    tp = TopicPartition(source, 0)
    consumer = kafka.consumer(group_id=group, isolation_level="read_committed")
    await consumer.start()
    consumer.assign([tp])
    producer = transactional_producer(kafka.bootstrap, f"{group}.tx")
    await producer.start()
    return consumer, producer, out, tp


@pytest.mark.task(4)
async def test_results_and_input_offsets_commit_together(
    transactions: Kafka, new_topic: NewTopicFn, unique_name: str
) -> None:
    values = [b"a", b"b", b"c", b"d", b"e"]
    consumer, producer, out, tp = await pipeline(transactions, new_topic, unique_name, values)
    done = 0
    try:

        async def all_done() -> bool:
            nonlocal done
            done += await process_batch(consumer, producer, unique_name, out, shout, 200)
            return done == 5

        await until(all_done, "five records processed")
        assert await consumer.committed(tp) == 5
    finally:
        await producer.stop()
        await consumer.stop()
    await produce(transactions, out, [(0, b"k", END)])
    seen = await read_until(transactions, out, END, isolation_level="read_committed")
    assert [(r.key, r.value) for r in seen] == [(b"key-" + v, v.upper()) for v in values]


@pytest.mark.task(4)
async def test_a_failed_batch_is_aborted_and_read_again(
    transactions: Kafka, new_topic: NewTopicFn, unique_name: str
) -> None:
    values = [b"a", b"b", b"boom", b"d"]
    consumer, producer, out, tp = await pipeline(transactions, new_topic, unique_name, values)
    tries = 0

    def fragile(value: bytes) -> bytes:
        nonlocal tries
        if value == b"boom" and not tries:
            tries += 1
            raise Boom(value)
        return value.upper()

    try:

        async def failed() -> bool:
            try:
                await process_batch(consumer, producer, unique_name, out, fragile, 200)
            except Boom:
                return True
            return False

        await until(failed, "the transform to fail on 'boom'")
        assert await consumer.committed(tp) in (None, 0, 1, 2)  # never past the failed batch
        done = int(await consumer.committed(tp) or 0)

        async def all_done() -> bool:
            nonlocal done
            done += await process_batch(consumer, producer, unique_name, out, fragile, 200)
            return done == 4

        await until(all_done, "every record processed after the retry")
        assert await consumer.committed(tp) == 4
    finally:
        await producer.stop()
        await consumer.stop()
    await produce(transactions, out, [(0, b"k", END)])
    seen = await read_until(transactions, out, END, isolation_level="read_committed")
    assert [r.value for r in seen] == [b"A", b"B", b"BOOM", b"D"]  # each once
