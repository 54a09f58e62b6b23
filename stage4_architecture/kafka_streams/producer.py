"""Task 1: a durable producer that keeps every account's events in order.

Events are keyed by account: Kafka hashes the key to pick a partition, and a partition is an
ordered log, so all events of one account are read back in the order they were sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped]


@dataclass(frozen=True)
class Event:
    """One change to an account's balance; ``seq`` counts the account's events from 1."""

    account: str
    seq: int
    amount: int

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def decode(cls, value: bytes) -> Event:
        return cls(**json.loads(value))


def producer_options(bootstrap: str) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``: acknowledged by every in-sync replica, and
    idempotent, so a retried batch is written once and never reordered."""
    # kata: begin producer_options: acks from all in-sync replicas, idempotence on
    return {"bootstrap_servers": bootstrap, "acks": "all", "enable_idempotence": True}
    # kata: end


def partition_of(account: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as in the Java client) picks for
    ``account`` in a topic of ``partitions`` partitions."""
    # kata: begin partition_of: the default partitioner's choice for this key
    return int(DefaultPartitioner()(account.encode(), list(range(partitions)), []))
    # kata: end


async def publish(producer: AIOKafkaProducer, topic: str, events: Iterable[Event]) -> list[Any]:
    """Send every event keyed by its account, in order; return each one's ``RecordMetadata``
    (partition, offset) in the order of ``events``, once the broker has acknowledged them all."""
    # kata: begin publish: enqueue all (keyed), then await every delivery
    pending = [await producer.send(topic, key=e.account.encode(), value=e.encode()) for e in events]
    return [await delivery for delivery in pending]
    # kata: end
