"""Task 4: read-process-write in one Kafka transaction (exactly-once between topics).

The records written to the output topic and the input offsets committed for the consumer group
go into one transaction: a reader with ``isolation_level="read_committed"`` sees either all of
a batch's results, with its input marked as consumed, or none of them, with the input still to
be read.
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]

Transform = Callable[[bytes], bytes]


def transactional_producer(bootstrap: str, transactional_id: str) -> AIOKafkaProducer:
    """A producer for transactions (idempotent, acks from all in-sync replicas). A stable
    ``transactional_id`` per input partition set lets a restarted instance fence its zombie."""
    # kata: begin transactional_producer: a producer with this transactional id
    # A transactional id turns idempotence on by itself.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    # kata: end


async def process_batch(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    group_id: str,
    out_topic: str,
    transform: Transform,
    timeout_ms: int = 1000,
) -> int:
    """Fetch one batch; in one transaction, write ``transform(value)`` of each record (same key)
    to ``out_topic`` and commit the batch's input offsets for ``group_id``. The number of records.

    When ``transform`` raises, the transaction is aborted, every partition of the batch is
    rewound to the batch's first record (the next call reads it again), and the error re-raised.
    """
    # kata: begin process_batch: send results and offsets in one transaction; abort and rewind on error
    batch = await consumer.getmany(timeout_ms=timeout_ms)
    if not batch:
        return 0
    try:
        async with producer.transaction():
            for records in batch.values():
                for record in records:
                    await producer.send(out_topic, key=record.key, value=transform(record.value))
            offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            await producer.send_offsets_to_transaction(offsets, group_id)
    except Exception:
        for tp, records in batch.items():
            consumer.seek(tp, records[0].offset)
        raise
    return sum(len(records) for records in batch.values())
    # kata: end
