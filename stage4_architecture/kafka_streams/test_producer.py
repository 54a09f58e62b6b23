"""Task 1: durable options, the key's partition, and per-key order on a real broker."""

from __future__ import annotations

from collections import defaultdict

import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from .conftest import Kafka, read_all
from .producer import Event, partition_of, producer_options, publish

# Kafka's default partitioner (murmur2 of the key bytes, as the Java client computes it).
PARTITION_3 = {"alice": 0, "bob": 0, "carol": 2, "dave": 1, "erin": 2, "frank": 1}
PARTITION_12 = {"alice": 9, "bob": 6, "carol": 2, "dave": 10, "erin": 8, "frank": 7}


@pytest.mark.task(1)
async def test_options_ask_every_replica_and_are_idempotent() -> None:
    options = producer_options("broker-1:9092")
    assert options["bootstrap_servers"] == "broker-1:9092"
    assert options["acks"] == "all"
    assert options["enable_idempotence"] is True
    AIOKafkaProducer(**options)  # aiokafka accepts them together


@pytest.mark.task(1)
@pytest.mark.parametrize(("partitions", "expected"), [(3, PARTITION_3), (12, PARTITION_12)])
def test_partition_of_is_the_default_partitioners_choice(
    partitions: int, expected: dict[str, int]
) -> None:
    assert {account: partition_of(account, partitions) for account in expected} == expected


@pytest.mark.task(1)
def test_partition_of_a_one_partition_topic() -> None:
    assert {partition_of(account, 1) for account in PARTITION_3} == {0}


def interleaved(accounts: list[str], count: int) -> list[Event]:
    """``count`` events per account, the accounts taking turns (as traffic arrives)."""
    return [Event(a, seq, seq * 10) for seq in range(1, count + 1) for a in accounts]


@pytest.mark.task(1)
async def test_each_accounts_events_stay_in_one_partition_in_order(
    kafka: Kafka, topic: str
) -> None:
    events = interleaved(list(PARTITION_3), 6)
    producer = kafka.producer(**producer_options(kafka.bootstrap))
    await producer.start()
    try:
        metadata = await publish(producer, topic, events)
    finally:
        await producer.stop()

    assert [m.partition for m in metadata] == [PARTITION_3[e.account] for e in events]
    records = await read_all(kafka, topic, len(events))
    seqs: dict[str, list[int]] = defaultdict(list)
    for record in records:  # each partition's records arrive in offset order
        event = Event.decode(record.value)
        assert record.key == event.account.encode()
        assert record.partition == PARTITION_3[event.account]
        seqs[event.account].append(event.seq)
    assert seqs == {account: [1, 2, 3, 4, 5, 6] for account in PARTITION_3}


@pytest.mark.task(1)
async def test_metadata_follows_the_order_of_the_events(kafka: Kafka, topic: str) -> None:
    events = interleaved(["carol", "dave", "alice"], 4)
    producer = kafka.producer(**producer_options(kafka.bootstrap))
    await producer.start()
    try:
        metadata = await publish(producer, topic, iter(events))  # any iterable
    finally:
        await producer.stop()
    records = await read_all(kafka, topic, len(events))

    stored = {(r.partition, r.offset): Event.decode(r.value) for r in records}
    assert [stored[m.partition, m.offset] for m in metadata] == events


@pytest.mark.task(1)
async def test_publishing_nothing_sends_nothing(kafka: Kafka, topic: str) -> None:
    producer = kafka.producer(**producer_options(kafka.bootstrap))
    await producer.start()
    try:
        assert await publish(producer, topic, []) == []
        metadata = await publish(producer, topic, [Event("erin", 1, 5)])
    finally:
        await producer.stop()
    assert [(m.partition, m.offset) for m in metadata] == [(PARTITION_3["erin"], 0)]
