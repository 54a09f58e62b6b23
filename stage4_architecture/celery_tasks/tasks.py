"""The tasks: a charge, a partner notification, an invoice fan-out, a report, a row import.

Given here: the failpoint the tests use to stop a task at a chosen line (to crash its worker
there, or to make a page hang), the partner's gateway, and the tasks of the invoice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, cast

from celery import Task, chord
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.result import AsyncResult

from .app import app, deployment, store

FAILPOINT_POLL = 0.05  # seconds between looks at an armed failpoint


def failpoint(name: str) -> None:
    """Block here while the failpoint ``name`` is armed (fault injection, as in etcd or TiKV).

    A test arms it (a Redis key), waits for the task to report this process's id, then kills the
    process or lets the soft time limit interrupt the wait. Disarmed, it costs one EXISTS.
    """
    armed = deployment().key("failpoint", name)
    if not store().exists(armed):
        return
    store().rpush(deployment().key("failpoint", name, "reached"), os.getpid())
    while store().exists(armed):
        time.sleep(FAILPOINT_POLL)


@app.task
def pause(name: str) -> int:
    """Wait at failpoint ``name`` while it is armed; answer the process id (a delivery probe)."""
    failpoint(name)
    return os.getpid()


# --- 2. an idempotent charge -------------------------------------------------------------------


def charge_receipt(order_id: str) -> dict[str, str]:
    """The charge recorded for ``order_id`` ({} when none): amount_cents, customer, task_id."""
    return cast(dict[str, str], store().hgetall(deployment().key("charge", order_id)))


def balance(customer: str) -> int:
    """Cents charged to ``customer`` so far."""
    return int(store().hget(deployment().key("balance"), customer) or 0)


# kata: begin an idempotent charge: recorded once per order, whatever the deliveries
# Check and write in one atomic step on the server: two deliveries of one order can run at the
# same moment on two workers, and a GET-then-SET lets both see "not charged yet".
RECORD_CHARGE = """
if redis.call('exists', KEYS[1]) == 0 then
    redis.call('hset', KEYS[1], 'amount_cents', ARGV[1], 'customer', ARGV[2], 'task_id', ARGV[3])
    redis.call('hincrby', KEYS[2], ARGV[2], ARGV[1])
end
return redis.call('hgetall', KEYS[1])
"""


@app.task(bind=True)
def charge(self: Task[Any, Any], order_id: str, customer: str, amount_cents: int) -> dict[str, str]:
    keys = [deployment().key("charge", order_id), deployment().key("balance")]
    fields = store().eval(RECORD_CHARGE, 2, *keys, amount_cents, customer, str(self.request.id))
    failpoint(f"charge:{order_id}")  # the tests crash the worker here, after the charge
    return dict(zip(fields[::2], fields[1::2], strict=True))


# kata: end


# --- 3. retries with exponential backoff and jitter ----------------------------------------------


class PartnerTimeout(Exception):
    """The partner did not answer in time: worth trying again later."""


class PartnerRefused(Exception):
    """The partner refused the request: trying again gives the same answer."""


def call_partner(order_id: str, attempt: int) -> str:
    """The partner's API. The tests script its answers: a Redis list of "timeout", "refused"
    or "ok", one popped per call ("ok" once the list is empty). Every call is recorded."""
    store().rpush(deployment().key("partner", order_id, "attempts"), attempt)
    answer = store().lpop(deployment().key("partner", order_id, "script")) or "ok"
    if answer == "timeout":
        raise PartnerTimeout(f"no answer about order {order_id}")
    if answer == "refused":
        raise PartnerRefused(f"order {order_id} refused")
    return f"partner notified of {order_id}"


# kata: begin retry timeouts with exponential backoff, full jitter and a cap; never retry a refusal
@app.task(
    bind=True,
    autoretry_for=(PartnerTimeout,),
    retry_backoff=True,  # 1 s, 2 s, 4 s, ... between attempts
    retry_backoff_max=8,
    retry_jitter=True,  # each wait drawn from [0, backoff]: clients that failed together spread out
    max_retries=5,
)
def notify_partner(self: Task[Any, Any], order_id: str) -> str:
    return call_partner(order_id, attempt=self.request.retries)


# kata: end


# --- 4. a fan-out and its callback: a chord -------------------------------------------------------


@app.task
def line_total(price_cents: int, quantity: int) -> int:
    """One invoice line, priced on its own (in a real system: a tax or stock lookup each)."""
    if quantity < 1:
        raise ValueError(f"quantity must be at least 1, got {quantity}")
    return price_cents * quantity


# kata: begin a chord: every line priced in parallel, then one callback adds them up
@app.task
def invoice_total(line_totals: list[int]) -> dict[str, Any]:
    # The chord hands the callback the header's results in the header's order.
    return {"lines": line_totals, "total_cents": sum(line_totals)}


def invoice(lines: Sequence[tuple[int, int]]) -> AsyncResult[Any]:
    """Price each ``(price_cents, quantity)`` line as its own task, then total them."""
    return chord(line_total.s(price, quantity) for price, quantity in lines)(invoice_total.s())


# kata: end


# --- 5. a soft time limit ----------------------------------------------------------------------------


def render_page(report_id: str, page: int) -> None:
    """Render one page (a test can make a page hang with its failpoint)."""
    failpoint(f"report:{report_id}:{page}")
    store().rpush(deployment().key("report", report_id), page)


# kata: begin a report that stops at its soft time limit and returns what it has
@app.task(soft_time_limit=2, time_limit=10)
def render_report(report_id: str, pages: int) -> dict[str, Any]:
    done = 0
    try:
        for page in range(pages):
            render_page(report_id, page)
            done += 1
    except SoftTimeLimitExceeded:
        # The hard limit kills the process a few seconds later: answer now, with what is done.
        return {"report_id": report_id, "pages": done, "complete": False}
    return {"report_id": report_id, "pages": done, "complete": True}


# kata: end


# --- 6. poison messages go to the dead-letter queue ---------------------------------------------------


# kata: begin import a stock row; reject a malformed one without requeueing it
@app.task
def import_row(row: dict[str, Any]) -> str:
    sku, quantity = row.get("sku"), row.get("quantity")
    if not isinstance(sku, str) or not sku:
        raise Reject(f"row without a sku: {row!r}", requeue=False)
    if type(quantity) is not int or quantity < 0:
        raise Reject(f"row with a bad quantity: {row!r}", requeue=False)
    store().hset(deployment().key("stock"), sku, quantity)
    return sku


# kata: end
