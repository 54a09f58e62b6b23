"""Tasks 8-9: the client, against a recording servicer on a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from .client import InventoryClient
from .conftest import GUARD_S
from .rpc import pb2
from .server import start_server

pytestmark = pytest.mark.timeout(60)

TOKEN = "client-t0ken"


@dataclass
class Recorder:
    """Records what the client sent: metadata, deadline, messages, and how streams ended."""

    metadata: list[dict[str, str]] = field(default_factory=list)
    remaining: list[float | None] = field(default_factory=list)
    changes: list[tuple[str, int]] = field(default_factory=list)
    reserve_requests: list[pb2.ReserveRequest] = field(default_factory=list)
    reserve_end: str = ""
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, context: Any) -> None:
        self.metadata.append({key: value for key, value in context.invocation_metadata() or ()})
        self.remaining.append(context.time_remaining())

    async def GetItem(self, request: pb2.GetItemRequest, context: Any) -> pb2.Item:
        self.note(context)
        if request.sku == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such item")
        if request.sku == "secret":
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
        if request.sku == "slow":
            try:
                await asyncio.Event().wait()  # never answers: only the deadline ends this
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return pb2.Item(sku=request.sku, name="Thing", quantity=3)

    async def AddStock(
        self, requests: AsyncIterator[pb2.StockChange], context: Any
    ) -> pb2.StockSummary:
        self.note(context)
        async for change in requests:
            self.changes.append((change.sku, change.quantity))
        return pb2.StockSummary(changes=len(self.changes), units=99)

    async def Reserve(
        self, requests: AsyncIterator[pb2.ReserveRequest], context: Any
    ) -> AsyncIterator[pb2.ReserveReply]:
        self.note(context)
        try:
            async for request in requests:
                self.reserve_requests.append(request)
                if request.commit:
                    self.reserve_end = "commit"
                    return
                ok = request.quantity <= 5
                yield pb2.ReserveReply(sku=request.sku, ok=ok, remaining=5 - request.quantity)
            self.reserve_end = "ended without commit"
        finally:
            self.ended.set()

    async def ListItems(self, request: Any, context: Any) -> AsyncIterator[pb2.Item]:
        yield pb2.Item()  # pragma: no cover - not used by the client

    async def Watch(self, request: Any, context: Any) -> AsyncIterator[pb2.StockLevel]:
        yield pb2.StockLevel()  # pragma: no cover - not used by the client


@dataclass
class Pair:
    recorder: Recorder
    channel: grpc.aio.Channel


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    recorder = Recorder()
    running = await start_server(recorder)
    channel = grpc.aio.insecure_channel(running.target)
    try:
        yield Pair(recorder, channel)
    finally:
        await channel.close()
        await running.server.stop(None)


@pytest.mark.task(8)
async def test_get_item_sends_the_token_and_a_deadline(pair: Pair) -> None:
    client = InventoryClient(pair.channel, TOKEN, timeout=4.0)
    item = await client.get_item("apple")
    assert item is not None and (item.sku, item.quantity) == ("apple", 3)
    assert pair.recorder.metadata[0].get("authorization") == f"Bearer {TOKEN}"
    remaining = pair.recorder.remaining[0]
    # The server's clock reads the propagated deadline: allow it a little slack past 4 s.
    assert remaining is not None and 0 < remaining <= 4.5, "every call carries the deadline"


@pytest.mark.task(8)
async def test_get_item_turns_not_found_into_none_and_lets_other_errors_out(pair: Pair) -> None:
    client = InventoryClient(pair.channel, TOKEN)
    assert await client.get_item("missing") is None
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.get_item("secret")
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.task(8)
async def test_the_client_deadline_cancels_the_call_on_the_server(pair: Pair) -> None:
    client = InventoryClient(pair.channel, TOKEN, timeout=0.3)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async with asyncio.timeout(GUARD_S):
            await client.get_item("slow")
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    async with asyncio.timeout(GUARD_S):
        await pair.recorder.cancelled.wait()  # the server's handler was cancelled, not left behind


@pytest.mark.task(8)
async def test_restock_streams_every_change_on_one_call(pair: Pair) -> None:
    client = InventoryClient(pair.channel, TOKEN, timeout=4.0)

    def lazily() -> Iterator[tuple[str, int]]:
        yield ("apple", 2)
        yield ("pear", 5)

    summary = await client.restock(lazily())
    assert (summary.changes, summary.units) == (2, 99), "the server's summary, as it sent it"
    assert pair.recorder.changes == [("apple", 2), ("pear", 5)]
    assert len(pair.recorder.metadata) == 1, "one call for the whole stream"
    assert pair.recorder.metadata[0].get("authorization") == f"Bearer {TOKEN}"
    remaining = pair.recorder.remaining[0]
    # The server's clock reads the propagated deadline: allow it a little slack past 4 s.
    assert remaining is not None and 0 < remaining <= 4.5, "the client's 4 s deadline"


@pytest.mark.task(9)
async def test_reserve_commits_when_everything_is_granted(pair: Pair) -> None:
    client = InventoryClient(pair.channel, TOKEN)
    replies = await client.reserve([("apple", 1), ("pear", 2)])
    assert replies is not None and [(r.sku, r.ok) for r in replies] == [
        ("apple", True),
        ("pear", True),
    ]
    assert [(r.sku, r.quantity, r.commit) for r in pair.recorder.reserve_requests] == [
        ("apple", 1, False),
        ("pear", 2, False),
        ("", 0, True),
    ], "the requests, then a commit"
    assert pair.recorder.reserve_end == "commit"
    assert pair.recorder.metadata[0].get("authorization") == f"Bearer {TOKEN}"


@pytest.mark.task(9)
async def test_reserve_stops_at_the_first_refusal_and_never_commits(pair: Pair) -> None:
    client = InventoryClient(pair.channel, TOKEN)
    assert await client.reserve([("apple", 1), ("pear", 9), ("plum", 1)]) is None
    async with asyncio.timeout(GUARD_S):
        await pair.recorder.ended.wait()
    sent = [(r.sku, r.commit) for r in pair.recorder.reserve_requests]
    assert sent == [("apple", False), ("pear", False)], (
        "one request at a time: nothing is sent after the refusal, and no commit"
    )
    assert pair.recorder.reserve_end != "commit"
