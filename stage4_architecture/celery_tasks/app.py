"""The Celery app, its settings, and where it is deployed.

A :class:`Deployment` says which broker, which Redis and which name prefix one running copy of
the system uses; the worker reads it from the environment (``worker.py``) and the code that sends
tasks is configured with the same one. Every queue, exchange and Redis key carries the prefix, so
two copies (two test runs, staging and production on one broker) never see each other's messages.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
from celery import Celery
from kombu import Exchange, Queue

app = Celery("celery_tasks")

_ENV = {
    "broker_url": "CELERY_TASKS_BROKER",
    "redis_url": "CELERY_TASKS_REDIS",
    "prefix": "CELERY_TASKS_PREFIX",
}


@dataclass(frozen=True)
class Deployment:
    broker_url: str  # amqp://... (RabbitMQ) or redis://... (a stand-in broker)
    redis_url: str  # results and the tasks' own records
    prefix: str  # names every queue, exchange and key of this deployment

    def name(self, suffix: str) -> str:
        """A queue or exchange name of this deployment: ``<prefix>.<suffix>``."""
        return f"{self.prefix}.{suffix}"

    def key(self, *parts: object) -> str:
        """A Redis key of this deployment: ``<prefix>:<part>:<part>``."""
        return ":".join([self.prefix, *map(str, parts)])

    @property
    def on_rabbitmq(self) -> bool:
        return self.broker_url.startswith(("amqp://", "amqps://", "pyamqp://"))

    def environ(self) -> dict[str, str]:
        fields = asdict(self)
        return {variable: fields[field] for field, variable in _ENV.items()}

    @classmethod
    def from_environ(cls) -> Deployment:
        return cls(**{field: os.environ[variable] for field, variable in _ENV.items()})


def celery_redis_url(url: str) -> str:
    """redis-py's ``unix://path?db=N`` spelled the way Celery and kombu spell a Unix socket."""
    if not url.startswith("unix://"):
        return url
    parts = urlsplit(url)
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


def settings(deployment: Deployment) -> dict[str, Any]:
    """Every setting of the app: broker and results, JSON only, delivery guarantees, queues."""
    # kata: begin configure the app: broker, Redis results, JSON only, late acks, prefetch 1, queues with a dead-letter exchange, routes
    work = deployment.name("work")
    reports = deployment.name("reports")
    dead = deployment.name("dead")
    # A message rejected on the work queue is re-published to this exchange, whose only queue
    # nobody consumes: poison messages wait there for a person instead of looping forever.
    dead_letters = Exchange(deployment.name("dlx"), type="direct")
    return {
        "broker_url": deployment.broker_url,
        "result_backend": celery_redis_url(deployment.redis_url),
        "result_extended": True,  # results name the worker and queue that ran the task
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # Acknowledge after the task ran, not on receipt: a crash means redelivery, not loss.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Reserve one message at a time, so a busy worker does not sit on messages another
        # worker could run now.
        "worker_prefetch_multiplier": 1,
        "task_default_queue": work,
        "task_queues": (
            Queue(
                work,
                Exchange(work, type="direct"),
                routing_key=work,
                queue_arguments={
                    "x-dead-letter-exchange": dead_letters.name,
                    "x-dead-letter-routing-key": dead,
                },
            ),
            Queue(reports, Exchange(reports, type="direct"), routing_key=reports),
            Queue(dead, dead_letters, routing_key=dead),
        ),
        "task_routes": {"stage4_architecture.celery_tasks.tasks.render_report": {"queue": reports}},
    }
    # kata: end


_current: list[Deployment] = []


def configure(deployment: Deployment) -> None:
    """Point the app at ``deployment`` (the worker at start-up, the sending side before it sends)."""
    conf = settings(deployment)
    # A shared Redis: results (and, on a Redis broker, its queues) under this deployment's keys.
    conf["result_backend_transport_options"] = {"global_keyprefix": deployment.key("")}
    if not deployment.on_rabbitmq:
        conf["broker_url"] = celery_redis_url(deployment.broker_url)
        conf["broker_transport_options"] = {"global_keyprefix": deployment.key("")}
    # Remote control (ping, add_consumer) on an exchange of this deployment's own.
    conf["control_exchange"] = deployment.name("control")
    app.conf.update(conf)
    _current[:] = [deployment]


def deployment() -> Deployment:
    if not _current:
        raise RuntimeError("configure(deployment) first: the app does not know its broker yet")
    return _current[0]


_clients: dict[int, redis.Redis] = {}


def store() -> redis.Redis:
    """This process's client for the tasks' records (a forked pool child opens its own)."""
    pid = os.getpid()
    if pid not in _clients:
        _clients.clear()  # inherited from the parent: never share a socket across a fork
        _clients[pid] = redis.Redis.from_url(deployment().redis_url, decode_responses=True)
    return _clients[pid]


def declare_topology() -> None:
    """Declare every queue and exchange of ``task_queues`` (a deploy step, before any worker).

    A worker declares only the queues it consumes; the dead-letter queue has no consumer, so
    without this step RabbitMQ would drop what is dead-lettered to it.
    """
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.conf.task_queues or ():
            queue.bind(channel).declare()
