"""A consumer process for the crash test: ``python -m stage4_architecture.kafka_streams.worker``.

It handles partition 0 of a topic with :class:`AtLeastOnceWorker` (committing after every
record) for a consumer group, appending ``offset value`` lines to a journal file as it handles
them. On a record whose value is ``hang`` it writes the line and then never returns, so the
process can be killed after handling a record and before committing it.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

from .consumer import AtLeastOnceWorker


async def run(bootstrap: str, topic: str, group: str, journal: Path) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=10_000,
    )

    async def handle(record: Any) -> None:
        with journal.open("a") as out:
            out.write(f"{record.offset} {record.value.decode()}\n")
        if record.value == b"hang":
            await asyncio.Event().wait()  # stuck until killed

    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    worker = AtLeastOnceWorker(consumer, handle)
    while True:
        await worker.poll()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("bootstrap", "topic", "group", "journal"):
        parser.add_argument(name)
    args = parser.parse_args()
    asyncio.run(run(args.bootstrap, args.topic, args.group, Path(args.journal)))


if __name__ == "__main__":
    main()
