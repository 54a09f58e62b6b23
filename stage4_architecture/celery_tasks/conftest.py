"""Fixtures: one deployment per test run, real workers started on it, failpoints to stop a task.

The broker is the RabbitMQ of the run (``KATAS_AMQP_URL``, a container); where none can be had,
the Redis of the run stands in as the broker, and the tests that need RabbitMQ itself (dead-letter
exchanges, redelivery when a worker dies) skip saying so. Results and the tasks' records live in
Redis. Every queue, exchange and key carries a prefix of this run's own, and is deleted at the end.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from kombu import Exchange, Queue

from katas.kit import Daemon, Endpoint, daemon

from .app import Deployment, app, configure, declare_topology

ROOT = Path(__file__).resolve().parents[2]
WORKER_APP = "stage4_architecture.celery_tasks.worker"
START_TIMEOUT = 90.0  # seconds: a worker starts in a few, on a loaded machine in more
TIMEOUT = 30.0  # seconds a test waits for a result; it only bounds a failure


@pytest.fixture(scope="session")
def broker_url(request: pytest.FixtureRequest) -> str:
    """RabbitMQ's URL, or Redis's where no RabbitMQ can be had (not under --require-services)."""
    try:
        endpoint: Endpoint = request.getfixturevalue("rabbitmq_service")
    except pytest.skip.Exception:
        endpoint = request.getfixturevalue("redis_service")
    return endpoint.url


@pytest.fixture(scope="session")
def deployment(broker_url: str, redis_service: Endpoint) -> Iterator[Deployment]:
    """This run's deployment: the app configured for it and its queues declared; removed after."""
    here = Deployment(broker_url, redis_service.url, f"katas.celery.{uuid.uuid4().hex[:10]}")
    configure(here)
    declare_topology()
    client = redis.Redis.from_url(here.redis_url)
    try:
        yield here
    finally:
        with client:
            for key in client.scan_iter(match=f"{here.prefix}:*", count=500):
                client.delete(key)
        spare = here.name("spare")
        delete_queues(
            [*(app.conf.task_queues or ()), Queue(spare, Exchange(spare), routing_key=spare)]
        )
        # remote control's exchanges (ping, add_consumer) outlive the run unless deleted
        control = f"{app.conf.control_exchange}.pidbox"
        delete_exchanges([control, f"reply.{control}"])


def delete_exchanges(names: Sequence[str]) -> None:
    with app.connection_for_write() as connection:
        for name in names:
            with contextlib.suppress(Exception):
                Exchange(name).bind(connection.default_channel).delete()


def delete_queues(queues: Sequence[Queue]) -> None:
    """Delete queues and their exchanges from the broker (RabbitMQ keeps durable ones forever)."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in queues:
            with contextlib.suppress(Exception):
                queue.bind(channel).delete()
            if queue.exchange.name:
                with contextlib.suppress(Exception):
                    queue.exchange.bind(channel).delete()


@pytest.fixture
def requires_rabbitmq(deployment: Deployment) -> None:
    if not deployment.on_rabbitmq:
        pytest.skip("needs RabbitMQ itself; the Redis broker standing in here has no such feature")


def _worker_argv(hostname: str, queues: Sequence[str], pool: str, concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", WORKER_APP, "worker",
        f"--pool={pool}", f"--concurrency={concurrency}", f"--hostname={hostname}",
        f"--queues={','.join(queues)}", "--loglevel=INFO",
        # Nothing to synchronise with at start-up, and no events: a quicker, quieter worker.
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip


def await_workers(started: Sequence[Daemon], hostnames: Sequence[str]) -> None:
    """Wait until every worker answers a remote-control ping (it consumes its queues by then)."""
    deadline = time.monotonic() + START_TIMEOUT
    waiting = set(hostnames)
    while waiting:
        for reply in app.control.ping(destination=sorted(waiting), timeout=0.5) or []:
            waiting -= set(reply)
        for worker in started:
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} exited early; its output:\n{worker.output()}")
        if waiting and time.monotonic() > deadline:
            logs = "\n".join(w.output()[-3000:] for w in started)
            raise RuntimeError(f"workers {sorted(waiting)} did not answer; output:\n{logs}")


@dataclass(frozen=True)
class Worker:
    name: str  # the node name is <name>@<deployment prefix>
    queues: Sequence[str]
    pool: str = "solo"  # one task at a time in the worker's own process
    concurrency: int = 1


StartWorkers = Callable[..., list[Daemon]]


@pytest.fixture(scope="session")
def session_workers(deployment: Deployment) -> Iterator[StartWorkers]:
    """Starts workers that live until the run ends (stopped together at the end)."""
    with ExitStack() as stack:
        yield _starter(stack, deployment)


@pytest.fixture
def start_workers(deployment: Deployment) -> Iterator[StartWorkers]:
    """Starts workers for one test (stopped when it ends)."""
    with ExitStack() as stack:
        yield _starter(stack, deployment)


def _starter(stack: ExitStack, deployment: Deployment) -> StartWorkers:
    def start(*workers: Worker) -> list[Daemon]:
        """Start the workers side by side, then wait until all of them answer."""
        hostnames = [f"{worker.name}@{deployment.prefix}" for worker in workers]
        started = [
            stack.enter_context(
                daemon(
                    _worker_argv(host, worker.queues, worker.pool, worker.concurrency),
                    name=f"celery worker {host}",
                    env={**deployment.environ(), "PYTHONPATH": str(ROOT)},
                    cwd=ROOT,
                )
            )
            for host, worker in zip(hostnames, workers, strict=True)
        ]
        for worker in started:
            # Crashed rather than shut down at the end: quicker than a warm shutdown, and
            # nothing is lost (what a worker had not acknowledged goes back to its queue).
            stack.callback(worker.kill)
        await_workers(started, hostnames)
        return started

    return start


@pytest.fixture(scope="session")
def workers(session_workers: StartWorkers, deployment: Deployment) -> dict[str, Daemon]:
    """The run's workers: "main" on the work queue and "spare" on none yet (solo pools: one task
    at a time, in the worker's own process), and "reports" on the reports queue (prefork with
    one child: time limits need a child process to interrupt)."""
    main, spare, reports = session_workers(
        Worker("main", [deployment.name("work")]),
        Worker("spare", [deployment.name("spare")]),
        Worker("reports", [deployment.name("reports")], pool="prefork"),
    )
    return {"main": main, "spare": spare, "reports": reports}


def node(worker: Daemon) -> str:
    """A started worker's node name (``main@<prefix>``)."""
    return worker.name.removeprefix("celery worker ")


Consume = Callable[..., None]


def replies_from(nodes: Sequence[str]) -> dict[str, Any]:
    """Remote-control options: wait for one reply from each node, up to TIMEOUT (not 1 s)."""
    return {"reply": True, "limit": len(nodes), "timeout": TIMEOUT}


@pytest.fixture
def consume(workers: dict[str, Daemon], private_queue: str) -> Iterator[Consume]:
    """Make running workers consume this test's queue too (remote control: add_consumer)."""
    added: list[str] = []

    def add(*names: str) -> None:
        nodes = [node(workers[name]) for name in names]
        replies = app.control.add_consumer(private_queue, destination=nodes, **replies_from(nodes))
        assert len(replies or []) == len(nodes), f"add_consumer answered {replies}"
        added.extend(nodes)

    yield add
    if added:
        # Wait for every worker to stop consuming: a queue deleted under a consumer comes back.
        replies = app.control.cancel_consumer(
            private_queue, destination=added, **replies_from(added)
        )
        assert len(replies or []) == len(added), f"cancel_consumer answered {replies}"


@pytest.fixture
def private_queue(deployment: Deployment, unique_name: str) -> Iterator[str]:
    """A queue only this test's workers consume; deleted afterwards."""
    name = deployment.name(unique_name)
    yield name
    delete_queues([Queue(name, Exchange(name), routing_key=name)])


class Failpoints:
    """Arm a failpoint in the tasks (see ``tasks.failpoint``), see which process reached it."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.redis = redis.Redis.from_url(deployment.redis_url, decode_responses=True)
        self.armed: set[str] = set()

    def arm(self, name: str) -> None:
        self.armed.add(name)
        self.redis.set(self.deployment.key("failpoint", name), 1)

    def disarm(self, name: str) -> None:
        self.redis.delete(self.deployment.key("failpoint", name))
        self.redis.delete(self.deployment.key("failpoint", name, "reached"))

    def reached(self, name: str, timeout: float = TIMEOUT) -> int:
        """The pid of the next process to reach the failpoint (in order of arrival)."""
        key = self.deployment.key("failpoint", name, "reached")
        popped = self.redis.blpop([key], timeout=timeout)
        assert popped is not None, f"no task reached failpoint {name!r} within {timeout:.0f} s"
        return int(popped[1])

    def close(self) -> None:
        for name in self.armed:
            self.disarm(name)
        self.redis.close()


@pytest.fixture
def failpoints(deployment: Deployment) -> Iterator[Failpoints]:
    armed = Failpoints(deployment)
    try:
        yield armed
    finally:
        armed.close()


@pytest.fixture
def records(deployment: Deployment) -> Iterator[redis.Redis]:
    """A client for what the tasks recorded (decoded strings)."""
    client = redis.Redis.from_url(deployment.redis_url, decode_responses=True)
    with client:
        yield client
