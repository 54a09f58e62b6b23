"""Tasks 2 and 3: a consumer that commits only what it has handled, and hands its partitions
over cleanly when the group rebalances.

The consumer is made (and subscribed or assigned) by the caller with ``enable_auto_commit=False``:
this worker decides when offsets are committed. A committed offset is the *next* record to read,
so after handling the record at offset ``n`` the worker commits ``n + 1``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import (  # type: ignore[import-untyped]
    AIOKafkaConsumer,
    ConsumerRebalanceListener,
    TopicPartition,
)

Record = Any  # aiokafka's ConsumerRecord[bytes, bytes]
Handler = Callable[[Record], Awaitable[None]]


class AtLeastOnceWorker(ConsumerRebalanceListener):  # type: ignore[misc]
    """Handles records one by one and commits after handling: a crash redelivers, never loses.

    Pass the worker as the ``listener`` when subscribing, so a rebalance commits before the
    partitions move to another member.
    """

    def __init__(self, consumer: AIOKafkaConsumer, handle: Handler, *, commit_every: int = 1):
        if commit_every < 1:
            raise ValueError("commit_every must be at least 1")
        self.consumer = consumer
        self.handle = handle
        self.commit_every = commit_every
        # Per partition: the offset after the last handled record, not yet committed.
        self.pending: dict[TopicPartition, int] = {}
        self.uncommitted = 0  # records handled since the last commit
        self.assigned: set[TopicPartition] = set()

    async def commit(self) -> None:
        """Commit every handled offset not committed yet (nothing to do when there is none)."""
        # kata: begin commit: commit the pending offsets, then forget them
        offsets, self.pending, self.uncommitted = self.pending, {}, 0
        if offsets:
            await self.consumer.commit(offsets)
        # kata: end

    async def poll(self, timeout_ms: int = 1000) -> int:
        """Fetch one batch and handle its records in offset order; the number handled.

        Commits each time ``commit_every`` records have been handled since the last commit. When
        ``handle`` raises, commits what was handled, rewinds every partition of the batch to its
        first unhandled record (so the next poll delivers it again) and re-raises.
        """
        # kata: begin poll: handle, remember offset + 1, commit every N; on error commit, seek back, raise
        batch = await self.consumer.getmany(timeout_ms=timeout_ms)
        handled = 0
        unhandled = {tp: records[0].offset for tp, records in batch.items()}
        try:
            for tp, records in batch.items():
                for record in records:
                    await self.handle(record)
                    unhandled[tp] = self.pending[tp] = record.offset + 1
                    handled += 1
                    self.uncommitted += 1
                    if self.uncommitted >= self.commit_every:
                        await self.commit()
        except Exception:
            await self.commit()
            for tp, offset in unhandled.items():
                self.consumer.seek(tp, offset)
            raise
        return handled
        # kata: end

    async def close(self) -> None:
        """Leave cleanly: commit what was handled, then stop the consumer (leaving the group)."""
        # kata: begin close: commit, then stop
        await self.commit()
        await self.consumer.stop()
        # kata: end

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Before a rebalance: commit what was handled on the partitions this member gives up,
        so their next owner starts after it."""
        # kata: begin on_partitions_revoked: commit for the revoked partitions, stop tracking them
        revoked = set(revoked)
        offsets = {tp: o for tp, o in self.pending.items() if tp in revoked}
        self.pending = {tp: o for tp, o in self.pending.items() if tp not in revoked}
        self.assigned -= revoked
        if offsets:
            await self.consumer.commit(offsets)
        # kata: end

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """After a rebalance: the partitions this member now owns."""
        # kata: begin on_partitions_assigned: remember the new assignment
        self.assigned = set(assigned)
        # kata: end
