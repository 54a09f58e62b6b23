"""A reliable work queue on Redis Streams.

Producers XADD; a consumer group hands each entry to one consumer (XREADGROUP ``>``), which
acknowledges it (XACK) only after the work is done. Entries a crashed consumer never acknowledged
are reclaimed by another (XAUTOCLAIM). Delivery is at least once, so applying is idempotent: the
"done" mark commits in the same MULTI/EXEC as the work's effects. An entry that keeps failing is
moved to a dead-letter stream after ``max_deliveries`` attempts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import redis
from redis.client import Pipeline
from redis.typing import EncodableT, FieldT

Fields = dict[str, str]
Status = Literal["processed", "duplicate", "failed", "dead"]


@dataclass(frozen=True)
class Message:
    id: str
    fields: Fields
    deliveries: int = 1  # times the group has handed it out, this one included


# The work: queue its Redis effects on the transaction pipeline; raise to fail the message.
Handler = Callable[[Message, Pipeline], None]


@dataclass
class Outcome:
    """What one consume() or recover() call did, by message id, in delivery order."""

    processed: list[str] = field(default_factory=list)  # applied now, and acknowledged
    duplicates: list[str] = field(default_factory=list)  # applied before: only acknowledged
    failed: list[str] = field(default_factory=list)  # left pending, to be retried
    dead: list[str] = field(default_factory=list)  # moved to the dead-letter stream

    def add(self, status: Status, message_id: str) -> None:
        {
            "processed": self.processed,
            "duplicate": self.duplicates,
            "failed": self.failed,
            "dead": self.dead,
        }[status].append(message_id)


class StreamQueue:
    """One consumer group reading one stream; each worker process makes its own instance."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        group: str,
        *,
        max_deliveries: int = 3,
        maxlen: int | None = None,
        done_ttl: int = 7 * 24 * 3600,
    ) -> None:
        if not client.get_connection_kwargs().get("decode_responses"):
            raise ValueError("StreamQueue needs a client made with decode_responses=True")
        self.redis = client
        self.stream = stream
        self.group = group
        self.max_deliveries = max_deliveries  # attempts before a message is dead-lettered
        self.maxlen = maxlen  # approximate cap on the stream's length (XADD MAXLEN ~)
        self.done_ttl = done_ttl  # seconds a "done" mark is kept: longer than any redelivery
        self.dead_stream = f"{stream}:dead"

    def done_key(self, message_id: str) -> str:
        return f"{self.stream}:{self.group}:done:{message_id}"

    # -- produce -------------------------------------------------------------------------------

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if missing; safe to call from every worker."""
        # kata: begin XGROUP CREATE the group at id "0" with MKSTREAM; an existing group (BUSYGROUP error) is fine
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        # kata: end

    def publish(self, fields: Fields) -> str:
        """Append a message; return its id."""
        # kata: begin XADD the fields, trimming with MAXLEN ~ self.maxlen when it is set; return the new id
        entry: dict[FieldT, EncodableT] = dict(fields.items())
        return str(self.redis.xadd(self.stream, entry, maxlen=self.maxlen, approximate=True))
        # kata: end

    # -- consume -------------------------------------------------------------------------------

    def read(self, consumer: str, count: int = 10, block_ms: int | None = None) -> list[Message]:
        """Messages never delivered to anyone in the group, now delivered to ``consumer``."""
        # kata: begin XREADGROUP GROUP self.group consumer COUNT count [BLOCK block_ms] STREAMS self.stream ">"; one Message per entry
        reply: Any = self.redis.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return [
            Message(message_id, fields)
            for _stream, entries in reply or []
            for message_id, fields in entries
        ]
        # kata: end

    def consume(
        self, consumer: str, handler: Handler, *, count: int = 10, block_ms: int | None = None
    ) -> Outcome:
        """Read new messages as ``consumer`` and settle each one."""
        return self._settle_all(self.read(consumer, count, block_ms), handler)

    def recover(
        self, consumer: str, handler: Handler, *, min_idle_ms: int, count: int = 10
    ) -> Outcome:
        """Reclaim messages other consumers left pending, and settle each one."""
        return self._settle_all(self.reclaim(consumer, min_idle_ms, count), handler)

    def _settle_all(self, messages: list[Message], handler: Handler) -> Outcome:
        outcome = Outcome()
        for message in messages:
            outcome.add(self.settle(message, handler), message.id)
        return outcome

    def settle(self, message: Message, handler: Handler) -> Status:
        """Apply, then acknowledge; on an error leave it pending, or dead-letter its last try."""
        # kata: begin self.apply then XACK ("processed", or "duplicate" when apply says so); on an Exception: self.dead_letter once deliveries reach max_deliveries ("dead"), else no ack ("failed")
        try:
            applied = self.apply(message, handler)
        except Exception as error:
            if message.deliveries >= self.max_deliveries:
                self.dead_letter(message, error)
                return "dead"
            return "failed"  # not acknowledged: it stays pending until reclaimed
        self.redis.xack(self.stream, self.group, message.id)
        return "processed" if applied else "duplicate"
        # kata: end

    # -- idempotency ---------------------------------------------------------------------------

    def apply(self, message: Message, handler: Handler) -> bool:
        """Run ``handler`` unless this message was applied before; True if it ran now.

        The done mark and the handler's effects commit together in one MULTI/EXEC, under WATCH
        of the mark: a crash can't leave one without the other, and two consumers racing on the
        same message can't both commit.
        """
        # kata: begin on a pipeline: WATCH done_key; if it EXISTS return False; else MULTI, SET it EX done_ttl, handler(message, pipe), EXEC, return True; on WatchError start over
        done = self.done_key(message.id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(done)  # type: ignore[no-untyped-call]  # unannotated in redis-py
                    if pipe.exists(done):
                        return False
                    pipe.multi()
                    pipe.set(done, "1", ex=self.done_ttl)
                    handler(message, pipe)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue  # another consumer wrote the mark after our check: look again
        # kata: end

    # -- reclaim -------------------------------------------------------------------------------

    def reclaim(self, consumer: str, min_idle_ms: int, count: int = 10) -> list[Message]:
        """Take over up to ``count`` messages pending for at least ``min_idle_ms``."""
        # kata: begin XAUTOCLAIM from "0-0" (skip entries trimmed away), then read each one's times_delivered with XPENDING (xpending_range) into Message.deliveries
        reply: Any = self.redis.xautoclaim(
            self.stream, self.group, consumer, min_idle_ms, start_id="0-0", count=count
        )
        claimed = [(message_id, fields) for message_id, fields in reply[1] if message_id]
        if not claimed:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for message_id, _ in claimed:
            pipe.xpending_range(self.stream, self.group, min=message_id, max=message_id, count=1)
        details: list[list[dict[str, Any]]] = pipe.execute()
        return [
            Message(message_id, fields, deliveries=int(detail[0]["times_delivered"]))
            for (message_id, fields), detail in zip(claimed, details, strict=True)
            if detail
        ]
        # kata: end

    # -- dead letters --------------------------------------------------------------------------

    def dead_letter(self, message: Message, error: BaseException) -> str:
        """Copy ``message`` to the dead-letter stream with why it died, and acknowledge it."""
        # kata: begin in one MULTI/EXEC: XADD to self.dead_stream the fields plus dlq.original_id, dlq.error ("Type: text"), dlq.deliveries; XACK the original; return the dead entry's id
        pipe = self.redis.pipeline(transaction=True)
        dead: dict[FieldT, EncodableT] = dict(message.fields.items())
        dead.update(
            {
                "dlq.original_id": message.id,
                "dlq.error": f"{type(error).__name__}: {error}",
                "dlq.deliveries": str(message.deliveries),
            }
        )
        pipe.xadd(self.dead_stream, dead)
        pipe.xack(self.stream, self.group, message.id)
        dead_id, _acked = pipe.execute()
        return str(dead_id)
        # kata: end
