"""Task 6: the auth + logging interceptor, around a probe servicer with all four call shapes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from .conftest import GUARD_S, untyped
from .interceptor import AuthLoggingInterceptor
from .rpc import InventoryStub, inventory_stub, method, pb2
from .server import start_server

pytestmark = pytest.mark.timeout(60)

TOKEN = "t0ken-for-tests"
GOOD = (("authorization", f"Bearer {TOKEN}"),)


class Probe:
    """A servicer whose outcomes the tests choose by sku; it records every call it serves."""

    def __init__(self) -> None:
        self.served: list[str] = []
        self.watching = asyncio.Event()

    async def GetItem(self, request: pb2.GetItemRequest, context: Any) -> pb2.Item:
        self.served.append("GetItem")
        if request.sku == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such item")
        if request.sku == "bug":
            raise RuntimeError("a bug in the handler")
        if request.sku == "coded-bug":  # a code set, then a crash: grpc.aio sends the code set
            context.set_code(grpc.StatusCode.NOT_FOUND)
            raise RuntimeError("a bug after setting a code")
        return pb2.Item(sku=request.sku)

    async def ListItems(
        self, request: pb2.ListItemsRequest, context: Any
    ) -> AsyncIterator[pb2.Item]:
        self.served.append("ListItems")
        for sku in ("a", "b", "c"):
            yield pb2.Item(sku=sku)

    async def AddStock(
        self, requests: AsyncIterator[pb2.StockChange], context: Any
    ) -> pb2.StockSummary:
        self.served.append("AddStock")
        units = [change.quantity async for change in requests]
        return pb2.StockSummary(changes=len(units), units=sum(units))

    async def Reserve(
        self, requests: AsyncIterator[pb2.ReserveRequest], context: Any
    ) -> AsyncIterator[pb2.ReserveReply]:
        self.served.append("Reserve")
        async for request in requests:
            yield pb2.ReserveReply(sku=request.sku, ok=True)

    async def Watch(self, request: pb2.WatchRequest, context: Any) -> AsyncIterator[pb2.StockLevel]:
        self.served.append("Watch")
        yield pb2.StockLevel(sku=request.sku)
        self.watching.set()
        await asyncio.Event().wait()  # until the client goes
        yield pb2.StockLevel(sku=request.sku)  # pragma: no cover


class Lines(logging.Handler):
    """Log lines into an asyncio queue, so a test can await the next one."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def emit(self, record: logging.LogRecord) -> None:
        self.queue.put_nowait(record.getMessage())

    async def next(self) -> str:
        async with asyncio.timeout(GUARD_S):
            return await self.queue.get()

    def rest(self) -> list[str]:
        lines = []
        while not self.queue.empty():
            lines.append(self.queue.get_nowait())
        return lines


@dataclass
class Guarded:
    stub: InventoryStub
    channel: grpc.aio.Channel
    probe: Probe
    lines: Lines


@pytest.fixture
async def guarded(request: pytest.FixtureRequest) -> AsyncIterator[Guarded]:
    logger = logging.getLogger(f"test.grpc_pair.{request.node.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    lines = Lines()
    logger.addHandler(lines)
    probe = Probe()
    interceptor = AuthLoggingInterceptor([TOKEN, "another"], logger)
    running = await start_server(probe, interceptors=[interceptor], with_health=False)
    channel = grpc.aio.insecure_channel(running.target)
    try:
        yield Guarded(inventory_stub(channel), channel, probe, lines)
    finally:
        await channel.close()
        await running.server.stop(None)
        logger.removeHandler(lines)


async def code_of(call: Any) -> grpc.StatusCode:
    """The status a call ends with, whatever its shape (read it to the end)."""
    async with asyncio.timeout(GUARD_S):
        try:
            if hasattr(call, "__aiter__"):
                async for _ in call:
                    pass
            else:
                await call
        except grpc.aio.AioRpcError as error:
            return error.code()
        code: grpc.StatusCode = await call.code()
        return code


def requests_of(*skus: str) -> Iterator[pb2.ReserveRequest]:
    return iter([pb2.ReserveRequest(sku=sku, quantity=1) for sku in skus])


async def nothing_yet() -> AsyncIterator[Any]:
    """A request stream that sends nothing: a refused call must not wait for one.

    (A client still writing its first message when the server refuses may see INTERNAL from
    grpc.aio instead of the server's code: that race is not the lesson.)
    """
    await asyncio.Event().wait()
    yield None


@pytest.mark.task(6)
async def test_no_token_is_unauthenticated_for_every_call_shape(guarded: Guarded) -> None:
    stub = guarded.stub
    calls = [
        stub.GetItem(pb2.GetItemRequest(sku="a")),
        stub.ListItems(pb2.ListItemsRequest()),
        stub.AddStock(nothing_yet()),
        stub.Reserve(nothing_yet()),
    ]
    for call in calls:
        assert await code_of(call) is grpc.StatusCode.UNAUTHENTICATED
    assert guarded.probe.served == [], "a call without a token never reaches the servicer"
    try:
        await stub.GetItem(pb2.GetItemRequest(sku="a"))
    except grpc.aio.AioRpcError as error:
        assert "authorization" in (error.details() or ""), "the details say what to send"


@pytest.mark.task(6)
async def test_a_wrong_or_malformed_token_is_unauthenticated(guarded: Guarded) -> None:
    for metadata in [
        (("authorization", "Bearer wrong"),),
        (("authorization", TOKEN),),  # no "Bearer " scheme
        (("authorization", f"Bearer {TOKEN}x"),),
        (("authorization", f"Bearer {TOKEN[:-1]}"),),
        (("x-token", TOKEN),),
        # the right credentials under another key are not an authorization header
        (("x-token", f"Bearer {TOKEN}"),),
        (("a-token", f"Bearer {TOKEN}"),),
    ]:
        call = guarded.stub.GetItem(pb2.GetItemRequest(sku="a"), metadata=metadata)
        assert await code_of(call) is grpc.StatusCode.UNAUTHENTICATED, metadata
    assert guarded.probe.served == []


@pytest.mark.task(6)
async def test_a_valid_token_reaches_the_servicer(guarded: Guarded) -> None:
    item = await guarded.stub.GetItem(pb2.GetItemRequest(sku="a"), metadata=GOOD)
    assert item.sku == "a"
    other = (("authorization", "Bearer another"),)
    skus = [i.sku async for i in guarded.stub.ListItems(pb2.ListItemsRequest(), metadata=other)]
    assert skus == ["a", "b", "c"], "every token of the list is accepted, streams pass through"
    replies = guarded.stub.Reserve(requests_of("x", "y"), metadata=GOOD)
    assert [reply.sku async for reply in replies] == ["x", "y"]
    summary = await guarded.stub.AddStock(iter([pb2.StockChange(quantity=2)]), metadata=GOOD)
    assert summary.units == 2


@pytest.mark.task(6)
async def test_every_call_is_logged_once_with_its_method_and_status(guarded: Guarded) -> None:
    stub = guarded.stub
    assert (
        await code_of(stub.GetItem(pb2.GetItemRequest(sku="a"), metadata=GOOD))
        is grpc.StatusCode.OK
    )
    assert await code_of(stub.GetItem(pb2.GetItemRequest(sku="missing"), metadata=GOOD)) is (
        grpc.StatusCode.NOT_FOUND
    )
    assert await code_of(stub.GetItem(pb2.GetItemRequest(sku="bug"), metadata=GOOD)) is (
        grpc.StatusCode.UNKNOWN
    )
    assert await code_of(stub.GetItem(pb2.GetItemRequest(sku="coded-bug"), metadata=GOOD)) is (
        grpc.StatusCode.NOT_FOUND
    )
    assert (
        await code_of(stub.GetItem(pb2.GetItemRequest(sku="a"))) is grpc.StatusCode.UNAUTHENTICATED
    )
    assert (
        await code_of(stub.ListItems(pb2.ListItemsRequest(), metadata=GOOD)) is grpc.StatusCode.OK
    )
    assert await code_of(stub.Reserve(requests_of("x", "y"), metadata=GOOD)) is grpc.StatusCode.OK
    expected = [
        f"{method('GetItem')} OK",
        f"{method('GetItem')} NOT_FOUND",
        f"{method('GetItem')} UNKNOWN",
        f"{method('GetItem')} NOT_FOUND",  # what the client saw: the code set before the crash
        f"{method('GetItem')} UNAUTHENTICATED",
        f"{method('ListItems')} OK",  # once per call, not once per message
        f"{method('Reserve')} OK",
    ]
    assert [await guarded.lines.next() for _ in expected] == expected
    assert guarded.lines.rest() == [], "one line per call, no more"


@pytest.mark.task(6)
async def test_a_call_cancelled_mid_stream_is_logged_as_cancelled(guarded: Guarded) -> None:
    call = guarded.stub.Watch(pb2.WatchRequest(sku="a"), metadata=GOOD)
    async with asyncio.timeout(GUARD_S):
        await call.read()
        await guarded.probe.watching.wait()
    call.cancel()
    assert await guarded.lines.next() == f"{method('Watch')} CANCELLED"
    assert guarded.lines.rest() == []


@pytest.mark.task(6)
async def test_an_unknown_method_is_unimplemented_not_unauthenticated(guarded: Guarded) -> None:
    health = untyped(
        health_pb2_grpc.HealthStub, guarded.channel
    )  # this server has no health service
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health.Check(health_pb2.HealthCheckRequest())
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.task(6)
async def test_health_checks_need_no_token() -> None:
    server = grpc.aio.server(interceptors=[AuthLoggingInterceptor([TOKEN])])
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = untyped(health_pb2_grpc.HealthStub, channel)
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=GUARD_S)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, (
                "load balancers probe health without a token: it is public"
            )
    finally:
        await server.stop(None)
