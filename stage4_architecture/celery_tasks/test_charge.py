"""Task 2: a charge has one effect per order, however often its message is delivered."""

from __future__ import annotations

import os
import signal

import pytest

from katas.kit import Daemon

from . import tasks
from .conftest import TIMEOUT, Consume, Failpoints, StartWorkers, Worker, node


@pytest.fixture
def order(unique_name: str) -> str:
    return f"order-{unique_name}"


@pytest.mark.task(2)
def test_a_charge_is_recorded_with_its_receipt(workers: dict[str, Daemon], order: str) -> None:
    result = tasks.charge.delay(order, f"ann-{order}", 1250)
    receipt = result.get(timeout=TIMEOUT)
    assert receipt == {"amount_cents": "1250", "customer": f"ann-{order}", "task_id": result.id}
    assert tasks.charge_receipt(order) == receipt
    assert tasks.balance(f"ann-{order}") == 1250


@pytest.mark.task(2)
def test_an_order_sent_twice_is_charged_once(workers: dict[str, Daemon], order: str) -> None:
    customer = f"bob-{order}"
    first = tasks.charge.delay(order, customer, 500)
    first_receipt = first.get(timeout=TIMEOUT)
    # A client that resends (a new task id) gets the first receipt back, amount included.
    again = tasks.charge.delay(order, customer, 900).get(timeout=TIMEOUT)
    assert again == first_receipt
    assert again["task_id"] == first.id
    assert tasks.balance(customer) == 500
    # Another order of the same customer is a charge of its own.
    tasks.charge.delay(f"{order}-2", customer, 300).get(timeout=TIMEOUT)
    assert tasks.balance(customer) == 800


@pytest.mark.task(2)
def test_a_message_delivered_twice_is_charged_once(workers: dict[str, Daemon], order: str) -> None:
    customer = f"cy-{order}"
    # The same message twice (the same task id), as a redelivery after a crash looks.
    results = [tasks.charge.apply_async((order, customer, 700), task_id=order) for _ in range(2)]
    receipts = [result.get(timeout=TIMEOUT) for result in results]
    assert receipts[0] == receipts[1] == tasks.charge_receipt(order)
    assert tasks.balance(customer) == 700


@pytest.mark.task(2)
def test_a_pool_process_killed_mid_task_loses_nothing(
    consume: Consume, private_queue: str, failpoints: Failpoints, order: str
) -> None:
    consume("reports")  # a prefork worker: the task runs in a child process
    failpoints.arm(f"charge:{order}")
    result = tasks.charge.apply_async((order, f"di-{order}", 400), queue=private_queue)
    child = failpoints.reached(f"charge:{order}")
    os.kill(child, signal.SIGKILL)  # the pool process dies after the charge, before the ack
    failpoints.disarm(f"charge:{order}")
    # task_reject_on_worker_lost: the worker puts the message back, a new child runs it again.
    receipt = result.get(timeout=TIMEOUT)
    assert receipt["task_id"] == result.id
    assert tasks.balance(f"di-{order}") == 400


@pytest.mark.task(2)
@pytest.mark.usefixtures("requires_rabbitmq")
def test_a_worker_killed_mid_task_loses_nothing(
    start_workers: StartWorkers,
    consume: Consume,
    private_queue: str,
    failpoints: Failpoints,
    order: str,
    workers: dict[str, Daemon],
) -> None:
    (doomed,) = start_workers(Worker("doomed", [private_queue]))
    failpoints.arm(f"charge:{order}")
    result = tasks.charge.apply_async((order, f"ed-{order}", 600), queue=private_queue)
    assert failpoints.reached(f"charge:{order}") == doomed.pid
    doomed.kill()  # the whole worker, at once: its connection drops with the message unacked
    failpoints.disarm(f"charge:{order}")
    consume("spare")  # another worker takes over the queue
    receipt = result.get(timeout=TIMEOUT)
    assert receipt["task_id"] == result.id
    assert result.worker == node(workers["spare"])
    assert tasks.balance(f"ed-{order}") == 600
