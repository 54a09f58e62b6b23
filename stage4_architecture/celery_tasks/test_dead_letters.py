"""Task 6: a malformed row is rejected once, and RabbitMQ moves it to the dead-letter queue."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from kombu import Connection, Queue

from . import tasks
from .app import Deployment
from .conftest import TIMEOUT

pytestmark = pytest.mark.usefixtures("workers")

POISON: list[dict[str, Any]] = [
    {"quantity": 3},
    {"sku": "", "quantity": 3},
    {"sku": "B-2", "quantity": -1},
    {"sku": "B-3", "quantity": "7"},
    {"sku": "B-4", "quantity": True},
    {"sku": "B-5"},
]


@pytest.mark.task(6)
def test_good_rows_are_stored(records: redis.Redis, deployment: Deployment) -> None:
    rows = [{"sku": "A-1", "quantity": 5}, {"sku": "A-2", "quantity": 0}]
    assert [tasks.import_row.delay(row).get(timeout=TIMEOUT) for row in rows] == ["A-1", "A-2"]
    stock = records.hgetall(deployment.key("stock"))
    assert (stock["A-1"], stock["A-2"]) == ("5", "0")


def dead_letters(deployment: Deployment, expected: int) -> list[Any]:
    """Take ``expected`` messages off the dead-letter queue (or what came within TIMEOUT)."""
    taken: list[Any] = []
    deadline = time.monotonic() + TIMEOUT
    with Connection(deployment.broker_url) as connection:
        queue = Queue(deployment.name("dead")).bind(connection.default_channel)
        while len(taken) < expected and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.1)
            else:
                taken.append(message)
        time.sleep(0.5)  # anything more (a poison row rejected twice) would show up now
        while (extra := queue.get(no_ack=True)) is not None:
            taken.append(extra)
    return taken


@pytest.mark.task(6)
@pytest.mark.usefixtures("requires_rabbitmq")
def test_poison_rows_are_dead_lettered_once(records: redis.Redis, deployment: Deployment) -> None:
    sent = {tasks.import_row.delay(row).id: row for row in POISON}
    good = tasks.import_row.delay({"sku": "C-1", "quantity": 1})
    assert good.get(timeout=TIMEOUT) == "C-1"
    taken = dead_letters(deployment, len(sent))
    assert sorted(message.headers["id"] for message in taken) == sorted(sent)
    for message in taken:
        (death,) = message.headers["x-death"]
        assert death["reason"] == "rejected"
        assert death["queue"] == deployment.name("work")
        assert death["count"] == 1
        args, _, _ = message.decode()
        assert args == [sent[message.headers["id"]]]  # the row as sent, for a person to fix
    stock = records.hgetall(deployment.key("stock"))
    assert stock["C-1"] == "1"
    assert not set(stock) & {"", "B-2", "B-3", "B-4", "B-5"}
