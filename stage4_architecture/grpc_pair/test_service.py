"""Tasks 1-5: the four call shapes, status codes, deadlines and cancellation, on a real server."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from .conftest import GUARD_S, Served
from .rpc import pb2

pytestmark = pytest.mark.timeout(60)


async def failure(call: object) -> grpc.aio.AioRpcError:
    """Await ``call`` (a unary call or any awaitable); the AioRpcError it must end with."""
    try:
        async with asyncio.timeout(GUARD_S):
            await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded; it should have failed with a status code")


# 1. GetItem (unary) ---------------------------------------------------------------------------


@pytest.mark.task(1)
async def test_get_item_returns_the_item(served: Served) -> None:
    item = await served.stub.GetItem(pb2.GetItemRequest(sku="apple"))
    assert (item.sku, item.name, item.quantity) == ("apple", "Apple", 10)


@pytest.mark.task(1)
async def test_an_unknown_sku_is_not_found_and_the_details_name_it(served: Served) -> None:
    error = await failure(served.stub.GetItem(pb2.GetItemRequest(sku="cherry")))
    assert error.code() is grpc.StatusCode.NOT_FOUND, "an unknown sku is NOT_FOUND, not UNKNOWN"
    assert "cherry" in (error.details() or ""), "the details name the sku that was not found"


@pytest.mark.task(1)
async def test_an_empty_sku_is_an_invalid_argument_with_a_message(served: Served) -> None:
    error = await failure(served.stub.GetItem(pb2.GetItemRequest(sku="")))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, "bad input is INVALID_ARGUMENT"
    assert "sku" in (error.details() or ""), "the details say which field is wrong"


# 2. ListItems (server streaming) --------------------------------------------------------------


async def listed(served: Served, prefix: str) -> list[tuple[str, int]]:
    async with asyncio.timeout(GUARD_S):
        call = served.stub.ListItems(pb2.ListItemsRequest(prefix=prefix))
        items = [(item.sku, item.quantity) async for item in call]
        assert await call.code() is grpc.StatusCode.OK
        return items


@pytest.mark.task(2)
async def test_list_items_streams_every_item_in_sku_order(served: Served) -> None:
    assert await listed(served, "") == [("apple", 10), ("apricot", 4), ("banana", 0)]


@pytest.mark.task(2)
async def test_list_items_filters_by_prefix_and_an_empty_result_is_ok(served: Served) -> None:
    served.shelf.add("apricot", 2)
    assert await listed(served, "ap") == [("apple", 10), ("apricot", 6)]
    assert await listed(served, "cherry") == [], "no match: an empty stream, status OK"


# 3. AddStock (client streaming) ---------------------------------------------------------------


def changes(*pairs: tuple[str, int]) -> list[pb2.StockChange]:
    return [pb2.StockChange(sku=sku, quantity=units) for sku, units in pairs]


@pytest.mark.task(3)
async def test_add_stock_applies_the_whole_stream_and_sums_it_up(served: Served) -> None:
    summary = await served.stub.AddStock(iter(changes(("apple", 5), ("banana", 3), ("apple", 1))))
    assert (summary.changes, summary.units) == (3, 9)
    assert served.shelf.levels == {"apple": 16, "apricot": 4, "banana": 3}
    empty = await served.stub.AddStock(iter([]))
    assert (empty.changes, empty.units) == (0, 0), "an empty stream is a valid, empty upload"


@pytest.mark.task(3)
async def test_a_bad_change_rejects_the_whole_stream(served: Served) -> None:
    bad_quantity = changes(("apple", 5), ("banana", 3), ("apple", 0))
    error = await failure(served.stub.AddStock(iter(bad_quantity)))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "quantity" in (error.details() or ""), "the details say what was wrong"
    unknown = changes(("apple", 5), ("cherry", 1))
    error = await failure(served.stub.AddStock(iter(unknown)))
    assert error.code() is grpc.StatusCode.NOT_FOUND and "cherry" in (error.details() or "")
    assert served.shelf.levels == {"apple": 10, "apricot": 4, "banana": 0}, (
        "all or nothing: the valid changes before a bad one are not applied"
    )


# 4. Reserve (bidirectional streaming) ---------------------------------------------------------


async def exchange(
    call: grpc.aio.StreamStreamCall[pb2.ReserveRequest, pb2.ReserveReply], sku: str, units: int
) -> tuple[str, bool, int]:
    """Send one request and wait for its reply (a server that buffers fails the guard)."""
    await call.write(pb2.ReserveRequest(sku=sku, quantity=units))
    async with asyncio.timeout(GUARD_S):
        reply = await call.read()
    assert isinstance(reply, pb2.ReserveReply), "one reply per request, sent at once"
    return reply.sku, reply.ok, reply.remaining


@pytest.mark.task(4)
async def test_reserve_answers_each_request_before_the_next_one(served: Served) -> None:
    call = served.stub.Reserve()
    assert await exchange(call, "apple", 3) == ("apple", True, 7)
    assert served.shelf.levels["apple"] == 7, "the stock is taken as each request is granted"
    assert await exchange(call, "apple", 20) == ("apple", False, 7), "not enough: refused"
    assert await exchange(call, "apricot", 4) == ("apricot", True, 0)
    await call.write(pb2.ReserveRequest(commit=True))
    await call.done_writing()
    async with asyncio.timeout(GUARD_S):
        assert await call.read() is grpc.aio.EOF, "the server ends its side after the client"
        assert await call.code() is grpc.StatusCode.OK
    assert served.shelf.levels == {"apple": 7, "apricot": 0, "banana": 0}, (
        "a committed conversation keeps its reservations"
    )


@pytest.mark.task(4)
async def test_a_stream_that_ends_without_a_commit_gives_everything_back(served: Served) -> None:
    call = served.stub.Reserve()
    assert await exchange(call, "apple", 3) == ("apple", True, 7)
    await call.done_writing()  # the client stops sending, but never committed
    async with asyncio.timeout(GUARD_S):
        assert await call.read() is grpc.aio.EOF
        assert await call.code() is grpc.StatusCode.OK
    assert served.shelf.levels["apple"] == 10, "no commit, no reservation"


@pytest.mark.task(4)
async def test_a_cancelled_conversation_gives_every_reservation_back(served: Served) -> None:
    call = served.stub.Reserve()
    assert await exchange(call, "apple", 3) == ("apple", True, 7)
    assert await exchange(call, "apricot", 2) == ("apricot", True, 2)
    assert served.shelf.levels == {"apple": 7, "apricot": 2, "banana": 0}
    call.cancel()  # the client goes away mid-conversation
    await served.tracker.until_ended("Reserve")
    assert served.shelf.levels == {"apple": 10, "apricot": 4, "banana": 0}, (
        "nothing may leak: a cancelled conversation gives all its reservations back"
    )
    # a cancelled stream looks to the server like one that simply ended: only a commit counts
    assert await call.code() is grpc.StatusCode.CANCELLED


@pytest.mark.task(4)
async def test_bad_input_ends_the_conversation_and_gives_everything_back(served: Served) -> None:
    call = served.stub.Reserve()
    assert await exchange(call, "apple", 3) == ("apple", True, 7)
    await call.write(pb2.ReserveRequest(sku="apple", quantity=0))
    error = await failure(call.read())
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "quantity" in (error.details() or "")
    await served.tracker.until_ended("Reserve")
    assert served.shelf.levels["apple"] == 10, "an aborted conversation gives its stock back"
    call = served.stub.Reserve()
    await call.write(pb2.ReserveRequest(sku="cherry", quantity=1))
    error = await failure(call.read())
    assert error.code() is grpc.StatusCode.NOT_FOUND and "cherry" in (error.details() or "")


# 5. Watch (server streaming until cancelled; deadlines) --------------------------------------


async def next_level(call: grpc.aio.UnaryStreamCall[pb2.WatchRequest, pb2.StockLevel]) -> int:
    async with asyncio.timeout(GUARD_S):
        level = await call.read()
    assert isinstance(level, pb2.StockLevel), "the watch ended early"
    quantity: int = level.quantity
    return quantity


@pytest.mark.task(5)
async def test_watch_sends_the_level_now_and_after_every_change(served: Served) -> None:
    call = served.stub.Watch(pb2.WatchRequest(sku="apple"))
    assert await next_level(call) == 10
    assert served.shelf.watching("apple") == 1
    served.shelf.add("apple", 5)
    assert await next_level(call) == 15
    served.shelf.take("apple", 3)
    served.shelf.add("banana", 1)  # another sku: not this watch's business
    assert await next_level(call) == 12
    call.cancel()
    assert await served.tracker.until_ended("Watch") == "cancelled"
    assert served.shelf.watching("apple") == 0, "a cancelled watch must unsubscribe"


@pytest.mark.task(5)
async def test_a_deadline_ends_the_watch_and_the_server_notices(served: Served) -> None:
    call = served.stub.Watch(pb2.WatchRequest(sku="apricot"), timeout=0.5)
    assert await next_level(call) == 4
    error = await failure(call.read())  # nothing changes: the deadline passes while waiting
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert await served.tracker.until_ended("Watch") == "cancelled", (
        "the server side of a call past its deadline is cancelled"
    )
    assert served.shelf.watching("apricot") == 0, "nothing may leak: the watcher is gone"


@pytest.mark.task(5)
async def test_watch_an_unknown_sku_is_not_found(served: Served) -> None:
    error = await failure(served.stub.Watch(pb2.WatchRequest(sku="cherry")).read())
    assert error.code() is grpc.StatusCode.NOT_FOUND and "cherry" in (error.details() or "")


@pytest.mark.task(5)
async def test_one_watcher_leaving_does_not_disturb_another(served: Served) -> None:
    first = served.stub.Watch(pb2.WatchRequest(sku="banana"))
    second = served.stub.Watch(pb2.WatchRequest(sku="banana"))
    assert (await next_level(first), await next_level(second)) == (0, 0)
    first.cancel()
    await served.shelf.wait_until(lambda: served.shelf.watching("banana") == 1)
    served.shelf.add("banana", 2)
    assert await next_level(second) == 2
    second.cancel()
