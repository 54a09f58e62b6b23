"""Redis Streams as a reliable queue: each test has its own flushed Redis db and stream name.

The work is a deposit: ``HINCRBY balances <account> <amount>`` queued on the transaction, so
"exactly once in effect" is a balance you can check. A "worker process" is a StreamQueue of its
own; a crash is a consumer that reads (and maybe applies) and then never acknowledges.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY

import pytest
import redis
from redis.client import Pipeline

from .streams import Message, Outcome, StreamQueue

GROUP = "billing"


class Deposits:
    """The handler: credits ``amount`` to ``account``; counts how often it actually ran."""

    def __init__(self, balances: str) -> None:
        self.balances = balances
        self.calls: list[str] = []

    def __call__(self, message: Message, tx: Pipeline) -> None:
        self.calls.append(message.id)
        tx.hincrby(self.balances, message.fields["account"], int(message.fields["amount"]))


class ProcessDied(BaseException):
    """Stands for kill -9 in the middle of the work: nothing after it runs, nothing catches it."""


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def stream(unique_name: str) -> str:
    return f"{unique_name}:payments"


@pytest.fixture
def deposits(stream: str) -> Deposits:
    return Deposits(f"{stream}:balances")


def worker(r: redis.Redis, stream: str, **options: int) -> StreamQueue:
    """A worker process: a StreamQueue of its own that knows nothing of the others' memory."""
    queue = StreamQueue(r, stream, GROUP, **options)
    queue.ensure_group()
    return queue


def balance(r: redis.Redis, deposits: Deposits, account: str) -> int:
    return int(r.hget(deposits.balances, account) or 0)


def pending(r: redis.Redis, stream: str) -> int:
    summary = r.xpending(stream, GROUP)
    return int(summary["pending"])


@pytest.mark.task(1)
def test_the_group_delivers_what_was_published_before_it_existed(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    queue = StreamQueue(r, stream, GROUP)
    ids = [queue.publish({"account": "ada", "amount": str(n)}) for n in (5, 7)]
    assert r.xlen(stream) == 2, "XADD appends one entry per publish"
    assert r.xrange(stream) == [
        (ids[0], {"account": "ada", "amount": "5"}),
        (ids[1], {"account": "ada", "amount": "7"}),
    ], "each entry keeps its fields, in order"
    queue.ensure_group()
    queue.ensure_group()  # every worker calls it at startup: the second must not fail
    got = queue.consume("w1", deposits)
    assert got.processed == ids, (
        "create the group at id 0, not $: '$' means 'only what arrives from now on' and silently "
        "skips what producers sent before the first worker started"
    )
    assert balance(r, deposits, "ada") == 12


@pytest.mark.task(1)
def test_ensure_group_tolerates_only_an_existing_group(r: redis.Redis, stream: str) -> None:
    r.set(stream, "not a stream")  # a key of the wrong type: a real error, not "already there"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        StreamQueue(r, stream, GROUP).ensure_group()


@pytest.mark.task(2)
def test_publish_trims_the_stream_approximately(r: redis.Redis, stream: str) -> None:
    queue = worker(r, stream, maxlen=100)
    for n in range(1_050):
        queue.publish({"n": str(n)})
    length = r.xlen(stream)
    assert 100 < length < 1_050, (
        f"XADD MAXLEN ~ 100 keeps at least 100 entries and trims whole nodes of 100 entries, "
        f"so 150 of 1,050 stay; an exact MAXLEN 100 keeps 100 and pays a trim per XADD "
        f"({length} kept)"
    )


@pytest.mark.task(2)
def test_publish_without_maxlen_keeps_everything(r: redis.Redis, stream: str) -> None:
    queue = worker(r, stream)
    ids = [queue.publish({"n": str(n)}) for n in range(150)]
    assert r.xlen(stream) == 150, "no maxlen: no trimming"
    entries: Any = r.xrange(stream)
    assert [entry_id for entry_id, _ in entries] == ids, "publish returns each new id"


@pytest.mark.task(4)
def test_consume_applies_and_acknowledges_each_message_once(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    queue = worker(r, stream)
    ids = [queue.publish({"account": "ada", "amount": str(n)}) for n in (10, 20, 30)]
    got = queue.consume("w1", deposits, count=10)
    assert got == Outcome(processed=ids), "all three processed, in stream order"
    assert deposits.calls == ids, "the handler ran once per message"
    assert balance(r, deposits, "ada") == 60
    assert pending(r, stream) == 0, "XACK after success: nothing left in the pending list"
    assert 0 < r.ttl(queue.done_key(ids[0])) <= queue.done_ttl, (
        "the done mark is SET with EX done_ttl: marks that never expire grow without bound"
    )
    assert queue.consume("w1", deposits) == Outcome(), "'>' never hands the same message twice"


@pytest.mark.task(4)
def test_a_failure_is_not_acknowledged_and_applies_nothing(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    queue = worker(r, stream)
    message_id = queue.publish({"account": "ada", "amount": "10"})

    def half_done(message: Message, tx: Pipeline) -> None:
        deposits(message, tx)  # the effect is queued ...
        raise ConnectionError("payment provider timed out")  # ... and then the work fails

    assert queue.consume("w1", half_done) == Outcome(failed=[message_id])
    assert balance(r, deposits, "ada") == 0, "a failed message's effects are discarded with it"
    assert pending(r, stream) == 1, "not acknowledged: it stays pending, to be retried"
    assert r.exists(queue.done_key(message_id)) == 0, "not marked done, or the retry is skipped"
    retried = worker(r, stream).recover("w2", deposits, min_idle_ms=0)
    assert retried == Outcome(processed=[message_id]), "the retry applies it"
    assert balance(r, deposits, "ada") == 10
    assert pending(r, stream) == 0


@pytest.mark.task(3)
def test_two_consumers_share_the_work_without_overlap(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    producer = worker(r, stream)
    ids = [producer.publish({"account": f"acct{n % 3}", "amount": "1"}) for n in range(10)]
    first = worker(r, stream).consume("w1", deposits, count=4)
    second = worker(r, stream).consume("w2", deposits, count=10)
    assert first.processed == ids[:4], "w1 gets the first four"
    assert second.processed == ids[4:], "w2 gets the rest, none that w1 already has"
    assert set(first.processed).isdisjoint(second.processed), "a group delivers each entry once"
    assert sorted(deposits.calls) == sorted(ids), "each message processed exactly once"
    consumers = {c["name"]: c["pending"] for c in r.xpending(stream, GROUP)["consumers"]}
    assert pending(r, stream) == 0 and consumers == {}, "and every one acknowledged"


@pytest.mark.task(6)
def test_a_crash_before_the_work_is_reclaimed_and_done_once(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    producer = worker(r, stream)
    message_id = producer.publish({"account": "ada", "amount": "25"})
    crashed = worker(r, stream)
    assert [m.id for m in crashed.read("w1")] == [message_id]  # read, then the process died
    summary = r.xpending(stream, GROUP)
    assert (summary["pending"], summary["consumers"]) == (1, [{"name": "w1", "pending": 1}])

    rescuer = worker(r, stream)
    assert rescuer.consume("w2", deposits) == Outcome(), "'>' does not redeliver pending entries"
    assert rescuer.recover("w2", deposits, min_idle_ms=60_000) == Outcome(), (
        "min_idle_time protects a consumer that is merely slow: one minute has not passed"
    )
    got = rescuer.recover("w2", deposits, min_idle_ms=0)
    assert got == Outcome(processed=[message_id]), "XAUTOCLAIM hands the crashed one's entry over"
    assert deposits.calls == [message_id] and balance(r, deposits, "ada") == 25
    assert pending(r, stream) == 0


@pytest.mark.task(6)
def test_recover_takes_at_most_count_messages(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    producer = worker(r, stream)
    ids = [producer.publish({"account": "ada", "amount": "1"}) for _ in range(5)]
    assert len(worker(r, stream).read("w1")) == 5  # read, then the process died
    rescuer = worker(r, stream)
    assert rescuer.recover("w2", deposits, min_idle_ms=0, count=2) == Outcome(processed=ids[:2]), (
        "XAUTOCLAIM ... COUNT count: a recovering worker takes a batch, not the whole backlog"
    )
    assert pending(r, stream) == 3
    assert rescuer.recover("w2", deposits, min_idle_ms=0, count=10).processed == ids[2:]


@pytest.mark.task(5)
def test_a_crash_after_the_work_is_reclaimed_and_not_applied_again(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    message_id = worker(r, stream).publish({"account": "ada", "amount": "25"})
    crashed = worker(r, stream)
    [message] = crashed.read("w1")
    assert crashed.apply(message, deposits) is True, "applied ..."
    # ... and the process died before its XACK: the entry is still pending, and will come back.
    assert pending(r, stream) == 1

    got = worker(r, stream).recover("w2", deposits, min_idle_ms=0)
    assert got == Outcome(duplicates=[message_id]), (
        "at-least-once delivery brings it back; the done mark must make it a duplicate"
    )
    assert deposits.calls == [message_id], "the handler did not run a second time"
    assert balance(r, deposits, "ada") == 25, "exactly once in effect: credited once, not twice"
    assert pending(r, stream) == 0, "a duplicate is still acknowledged, or it returns forever"


@pytest.mark.task(5)
def test_a_crash_in_the_middle_of_the_work_leaves_no_trace(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    message_id = worker(r, stream).publish({"account": "ada", "amount": "25"})

    def dies_halfway(message: Message, tx: Pipeline) -> None:
        deposits(message, tx)
        raise ProcessDied

    with pytest.raises(ProcessDied):
        worker(r, stream).consume("w1", dies_halfway)
    got = worker(r, stream).recover("w2", deposits, min_idle_ms=0)
    assert got == Outcome(processed=[message_id]), (
        "a mark set before the work and never undone (the process died) would make the retry "
        "skip a message whose effect never happened: mark and effect commit together"
    )
    assert balance(r, deposits, "ada") == 25


@pytest.mark.task(5)
def test_two_consumers_racing_on_one_message_apply_it_once(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    message_id = worker(r, stream).publish({"account": "ada", "amount": "25"})
    [message] = worker(r, stream).read("w1")
    slow, fast = worker(r, stream), worker(r, stream)
    fast_applied: list[bool] = []

    def slow_deposit(message: Message, tx: Pipeline) -> None:
        if not fast_applied:  # while the slow one is inside its transaction, the fast one commits
            fast_applied.append(fast.apply(message, deposits))
        deposits(message, tx)

    slow_applied = slow.apply(message, slow_deposit)
    assert balance(r, deposits, "ada") == 25, (
        "check-then-act is a race: WATCH the done mark so that a commit by another consumer "
        "between our check and our EXEC aborts ours (the retry then sees the mark)"
    )
    assert sorted([slow_applied, *fast_applied]) == [False, True], "one applied, one did not"
    assert message.id == message_id


@pytest.mark.task(5)
def test_a_watch_error_means_look_again_not_done_by_someone_else(
    r: redis.Redis, stream: str, deposits: Deposits
) -> None:
    worker(r, stream).publish({"account": "ada", "amount": "25"})
    queue = worker(r, stream)
    [message] = queue.read("w1")
    touched: list[bool] = []

    def deposit_after_a_touch(message: Message, tx: Pipeline) -> None:
        if not touched:  # the mark is written and removed again: EXEC aborts, yet no mark exists
            touched.append(True)
            r.set(queue.done_key(message.id), "1")
            r.delete(queue.done_key(message.id))
        deposits(message, tx)

    assert queue.apply(message, deposit_after_a_touch) is True, (
        "on WatchError start over from WATCH: the mark is not there, so the work is still to do"
    )
    assert balance(r, deposits, "ada") == 25, "applied once, by the retry"
    assert r.exists(queue.done_key(message.id)) == 1


class DiesBeforeAck(redis.Redis):
    """A client whose process dies when it sends a lone XACK (a pipeline's XACK still works)."""

    def xack(self, *args: Any, **kwargs: Any) -> Any:
        raise ProcessDied


@pytest.mark.task(7)
def test_a_dead_letter_and_its_ack_commit_together(
    r: redis.Redis, redis_url: str, stream: str
) -> None:
    message_id = worker(r, stream).publish({"account": "ada", "amount": "ten"})

    def parse_amount(message: Message, tx: Pipeline) -> None:
        tx.hincrby(f"{stream}:balances", message.fields["account"], int(message.fields["amount"]))

    dying = DiesBeforeAck.from_url(redis_url, decode_responses=True)
    try:
        with contextlib.suppress(ProcessDied):  # died between a dead letter's XADD and its XACK
            worker(dying, stream, max_deliveries=1).consume("w1", parse_amount)
    finally:
        dying.close()
    dead_so_far = r.xlen(f"{stream}:dead")
    got = worker(r, stream, max_deliveries=1).recover("w2", parse_amount, min_idle_ms=0)
    assert r.xlen(f"{stream}:dead") == 1, (
        f"{dead_so_far} dead letter(s) before the restart and {r.xlen(f'{stream}:dead')} after: "
        "XADD to the dead-letter stream and XACK of the original belong in one MULTI/EXEC, so "
        "a crash between them cannot leave a dead letter whose message comes back"
    )
    assert got in (Outcome(), Outcome(dead=[message_id])) and pending(r, stream) == 0


@pytest.mark.task(7)
def test_dead_letter_returns_the_dead_entrys_id(r: redis.Redis, stream: str) -> None:
    worker(r, stream).publish({"account": "ada", "amount": "1"})
    queue = worker(r, stream)
    [message] = queue.read("w1")
    dead_id = queue.dead_letter(message, KeyError("account"))
    entries: Any = r.xrange(f"{stream}:dead")
    [(entry_id, fields)] = entries
    assert dead_id == entry_id, "return the id XADD gave the dead letter"
    assert fields["dlq.error"] == "KeyError: 'account'"
    assert fields["dlq.deliveries"] == "1"
    assert pending(r, stream) == 0, "the original is acknowledged"


@pytest.mark.task(7)
def test_a_poison_message_is_dead_lettered_after_exactly_max_deliveries(
    r: redis.Redis, stream: str
) -> None:
    message_id = worker(r, stream).publish({"account": "ada", "amount": "ten"})
    attempts: list[int] = []

    def parse_amount(message: Message, tx: Pipeline) -> None:
        attempts.append(message.deliveries)
        tx.hincrby(f"{stream}:balances", message.fields["account"], int(message.fields["amount"]))

    # Each attempt is another worker process: a count kept in memory would be lost.
    assert worker(r, stream, max_deliveries=3).consume("w1", parse_amount).failed == [message_id]
    again = worker(r, stream, max_deliveries=3).recover("w2", parse_amount, min_idle_ms=0)
    assert again.failed == [message_id]
    last = worker(r, stream, max_deliveries=3).recover("w3", parse_amount, min_idle_ms=0)
    assert last == Outcome(dead=[message_id]), "the third failed delivery is the last"
    assert attempts == [1, 2, 3], (
        "deliveries comes from Redis (XPENDING times_delivered): 1 for a new read, +1 per claim"
    )
    assert pending(r, stream) == 0, "a dead-lettered message is acknowledged in its stream"
    after = worker(r, stream, max_deliveries=3).recover("w4", parse_amount, min_idle_ms=0)
    assert after == Outcome() and attempts == [1, 2, 3], "and never delivered again"

    dead = {
        "account": "ada",
        "amount": "ten",
        "dlq.original_id": message_id,
        "dlq.error": "ValueError: invalid literal for int() with base 10: 'ten'",
        "dlq.deliveries": "3",
    }
    assert r.xrange(f"{stream}:dead") == [(ANY, dead)], (
        "one dead letter: the original fields, plus which message, why, and after how many tries"
    )
    assert r.hget(f"{stream}:balances", "ada") is None, "nothing of it was ever applied"


def refuse(message: Message, tx: Pipeline) -> None:
    raise ValueError(f"cannot apply {message.id}")


@pytest.mark.task(7)
def test_a_message_delivered_past_max_deliveries_is_dead_lettered(
    r: redis.Redis, stream: str
) -> None:
    worker(r, stream).publish({"account": "ada", "amount": "1"})
    queue = worker(r, stream, max_deliveries=3)
    [message] = queue.read("w1")
    # Delivered 5 times under an older, higher limit: it is past this worker's last try too.
    late = Message(message.id, message.fields, deliveries=5)
    assert queue.settle(late, refuse) == "dead", "deliveries >= max_deliveries, not =="
    assert r.xlen(f"{stream}:dead") == 1 and pending(r, stream) == 0


class RecordsPipelines(redis.Redis):
    """A client that notes, for each pipeline it makes, whether it is a MULTI/EXEC transaction."""

    transactions: list[bool]

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        self.transactions.append(transaction)
        return super().pipeline(transaction, shard_hint)


@pytest.mark.task(7)
def test_a_dead_letter_is_written_in_a_transaction(
    r: redis.Redis, redis_url: str, stream: str
) -> None:
    worker(r, stream).publish({"account": "ada", "amount": "1"})
    spy = RecordsPipelines.from_url(redis_url, decode_responses=True)
    assert isinstance(spy, RecordsPipelines)
    spy.transactions = []
    try:
        queue = worker(spy, stream)
        [message] = queue.read("w1")
        spy.transactions.clear()
        queue.dead_letter(message, KeyError("account"))
    finally:
        spy.close()
    assert spy.transactions == [True], (
        "one pipeline with transaction=True (MULTI/EXEC): no other client may see the dead "
        "letter while its original is still pending"
    )
