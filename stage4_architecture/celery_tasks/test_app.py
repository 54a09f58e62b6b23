"""Task 1: the app's settings, read as Celery reads them, and seen at work on real workers."""

from __future__ import annotations

import pytest
from celery import Celery
from kombu import Queue
from kombu.exceptions import EncodeError

from katas.kit import Daemon

from . import tasks
from .app import Deployment, settings
from .conftest import TIMEOUT, Consume, Failpoints, node

SHOP = Deployment(
    "amqp://guest:guest@broker.internal:5672//", "redis://cache.internal:6379/3", "shop"
)
REPORT_TASK = "stage4_architecture.celery_tasks.tasks.render_report"


def shop_app() -> Celery:
    """A separate app with the settings for SHOP: what a worker of that deployment would use."""
    probe = Celery("probe", set_as_current=False)
    probe.conf.update(settings(SHOP))
    return probe


def queues() -> dict[str, Queue]:
    return dict(shop_app().amqp.queues)


@pytest.mark.task(1)
def test_broker_results_and_json_only() -> None:
    conf = shop_app().conf
    assert conf.broker_url == SHOP.broker_url
    assert conf.result_backend == SHOP.redis_url
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert set(conf.accept_content) <= {"json", "application/json"}
    assert conf.accept_content


@pytest.mark.task(1)
def test_late_acknowledgement_and_one_message_at_a_time() -> None:
    conf = shop_app().conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


@pytest.mark.task(1)
def test_three_queues_named_after_the_deployment() -> None:
    assert sorted(queues()) == ["shop.dead", "shop.reports", "shop.work"]
    assert shop_app().conf.task_default_queue == "shop.work"


@pytest.mark.task(1)
def test_the_work_queue_dead_letters_to_the_dead_queue() -> None:
    found = queues()
    work, dead = found["shop.work"], found["shop.dead"]
    arguments = work.queue_arguments or {}
    exchange = arguments.get("x-dead-letter-exchange")
    assert exchange, "the work queue needs an x-dead-letter-exchange argument"
    assert exchange != work.exchange.name, "dead letters back on the work queue would loop"
    assert dead.exchange.name == exchange
    # Without x-dead-letter-routing-key, a dead letter keeps the routing key it was sent with.
    assert arguments.get("x-dead-letter-routing-key", work.routing_key) == dead.routing_key
    for name in ("shop.reports", "shop.dead"):
        assert not found[name].queue_arguments, f"only the work queue dead-letters ({name})"


@pytest.mark.task(1)
def test_reports_are_routed_to_their_own_queue() -> None:
    router = shop_app().amqp.router
    assert router.route({}, REPORT_TASK)["queue"].name == "shop.reports"
    for name in ("stage4_architecture.celery_tasks.tasks.charge", "any.other.task"):
        assert router.route({}, name)["queue"].name == "shop.work"


@pytest.mark.task(1)
def test_a_result_comes_back_through_redis(workers: dict[str, Daemon]) -> None:
    result = tasks.line_total.delay(250, 3)
    assert result.get(timeout=TIMEOUT) == 750
    assert result.state == "SUCCESS"
    # result_extended: the stored result names the worker and the queue that ran the task.
    assert result.worker is not None and result.worker.startswith("main@")
    assert result.queue is not None and result.queue.endswith(".work")


@pytest.mark.task(1)
def test_only_json_can_be_sent(workers: dict[str, Daemon]) -> None:
    # pickle would send this (and run whatever a forged message contains on the worker)
    with pytest.raises(EncodeError):
        tasks.line_total.delay(object(), 1)


@pytest.mark.task(1)
def test_a_busy_worker_holds_no_other_message(
    workers: dict[str, Daemon], consume: Consume, private_queue: str, failpoints: Failpoints
) -> None:
    consume("main", "spare")
    failpoints.arm("busy")
    busy = tasks.pause.apply_async(("busy",), queue=private_queue)
    busy_pid = failpoints.reached("busy")
    (idle,) = [name for name in ("main", "spare") if workers[name].pid != busy_pid]
    # With a prefetch of 1 the busy worker has reserved nothing more: every quick task goes to
    # the idle one. With more, some would wait behind the busy task (and time out here).
    quick = [tasks.line_total.apply_async((n, 1), queue=private_queue) for n in range(1, 7)]
    assert [result.get(timeout=TIMEOUT) for result in quick] == [1, 2, 3, 4, 5, 6]
    assert {result.worker for result in quick} == {node(workers[idle])}
    failpoints.disarm("busy")
    assert busy.get(timeout=TIMEOUT) == busy_pid
