"""The Inventory service: the server half of the pair, one method per RPC of inventory.proto.

A unary method is ``async def`` and returns its response; a method that streams responses is an
async generator (``yield``); a method that receives a stream gets an async iterator of requests.
Bad input ends the call with a precise status code and a message (``await context.abort(...)``),
never with an exception, which clients would see as UNKNOWN.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import grpc

from .rpc import pb2

Context = grpc.aio.ServicerContext


class Shelf:
    """The stock behind the service (given): names and levels by sku, and who watches them.

    Every change of a level is pushed to the queues of that sku's watchers and wakes
    ``wait_until``. No method awaits, so each one is atomic on the event loop.
    """

    def __init__(self, items: Iterable[tuple[str, str, int]] = ()) -> None:
        self.names: dict[str, str] = {}
        self.levels: dict[str, int] = {}
        self.watchers: dict[str, list[asyncio.Queue[int]]] = {}
        self._changed = asyncio.Event()
        for sku, name, quantity in items:
            self.names[sku] = name
            self.levels[sku] = quantity

    def item(self, sku: str) -> pb2.Item | None:
        """The item as a message, or None for an unknown sku."""
        if sku not in self.names:
            return None
        return pb2.Item(sku=sku, name=self.names[sku], quantity=self.levels[sku])

    def skus(self) -> list[str]:
        return sorted(self.names)

    def add(self, sku: str, units: int) -> None:
        self.levels[sku] += units
        self._notify(sku)

    def take(self, sku: str, units: int) -> bool:
        """Take ``units`` off the shelf if that many are there; False (nothing taken) if not."""
        if self.levels[sku] < units:
            return False
        self.levels[sku] -= units
        self._notify(sku)
        return True

    def subscribe(self, sku: str) -> asyncio.Queue[int]:
        """A queue that receives the new level of ``sku`` after every change."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        self.watchers.setdefault(sku, []).append(queue)
        self._wake()
        return queue

    def unsubscribe(self, sku: str, queue: asyncio.Queue[int]) -> None:
        self.watchers[sku].remove(queue)
        if not self.watchers[sku]:
            del self.watchers[sku]
        self._wake()

    def watching(self, sku: str) -> int:
        """How many watchers ``sku`` has right now."""
        return len(self.watchers.get(sku, []))

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Wait, without polling, until ``condition()`` holds (checked after every change)."""
        while not condition():
            await self._changed.wait()

    def _notify(self, sku: str) -> None:
        for queue in self.watchers.get(sku, []):
            queue.put_nowait(self.levels[sku])
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class InventoryService:
    """The servicer: ``add_inventory(server, InventoryService(shelf))`` serves it."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf

    async def _known(self, sku: str, context: Context[Any, Any]) -> None:
        """Abort with NOT_FOUND, naming the sku, unless the shelf has it (given)."""
        if sku not in self.shelf.names:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no item with sku {sku!r}")

    async def GetItem(
        self, request: pb2.GetItemRequest, context: Context[pb2.GetItemRequest, pb2.Item]
    ) -> pb2.Item:
        """Unary: the item with ``request.sku``."""
        # kata: begin INVALID_ARGUMENT for an empty sku, NOT_FOUND naming an unknown one, else the item
        if not request.sku:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "sku must not be empty")
        item = self.shelf.item(request.sku)
        if item is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no item with sku {request.sku!r}")
        return item
        # kata: end

    async def ListItems(
        self, request: pb2.ListItemsRequest, context: Context[pb2.ListItemsRequest, pb2.Item]
    ) -> AsyncIterator[pb2.Item]:
        """Server streaming: every item whose sku starts with ``request.prefix``, in sku order."""
        # kata: begin yield one Item per matching sku, in sku order (an empty prefix matches all)
        for sku in self.shelf.skus():
            item = self.shelf.item(sku)
            if item is not None and sku.startswith(request.prefix):
                yield item
        # kata: end

    async def AddStock(
        self,
        requests: AsyncIterator[pb2.StockChange],
        context: Context[pb2.StockChange, pb2.StockSummary],
    ) -> pb2.StockSummary:
        """Client streaming: add every change, all or nothing, once the client has finished."""
        # kata: begin validate every change as it arrives; apply them all only after the last one
        changes: list[tuple[str, int]] = []
        async for change in requests:
            if change.quantity < 1:
                wrong = f"quantity must be at least 1, got {change.quantity} for sku {change.sku!r}"
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, wrong)
            await self._known(change.sku, context)
            changes.append((change.sku, change.quantity))
        for sku, units in changes:
            self.shelf.add(sku, units)
        return pb2.StockSummary(changes=len(changes), units=sum(units for _, units in changes))
        # kata: end

    async def Reserve(
        self,
        requests: AsyncIterator[pb2.ReserveRequest],
        context: Context[pb2.ReserveRequest, pb2.ReserveReply],
    ) -> AsyncIterator[pb2.ReserveReply]:
        """Bidirectional: answer each request as it arrives. The reservations stand only when
        the client sends a commit message; a stream that ends without one gives them back."""
        # kata: begin reply to each request at once; on commit keep the stock and stop; otherwise put it all back in finally
        taken: list[tuple[str, int]] = []
        committed = False
        try:
            async for request in requests:
                if request.commit:
                    committed = True
                    return
                if request.quantity < 1:
                    refused = f"quantity must be at least 1, got {request.quantity}"
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, refused)
                await self._known(request.sku, context)
                ok = self.shelf.take(request.sku, request.quantity)
                if ok:
                    taken.append((request.sku, request.quantity))
                remaining = self.shelf.levels[request.sku]
                yield pb2.ReserveReply(sku=request.sku, ok=ok, remaining=remaining)
        finally:
            if not committed:
                for sku, units in reversed(taken):
                    self.shelf.add(sku, units)
        # kata: end

    async def Watch(
        self, request: pb2.WatchRequest, context: Context[pb2.WatchRequest, pb2.StockLevel]
    ) -> AsyncIterator[pb2.StockLevel]:
        """Server streaming until the client goes: the level now, then one message per change."""
        # kata: begin NOT_FOUND for an unknown sku; subscribe, yield the level now and after every change; unsubscribe in finally
        await self._known(request.sku, context)
        queue = self.shelf.subscribe(request.sku)
        try:
            yield pb2.StockLevel(sku=request.sku, quantity=self.shelf.levels[request.sku])
            while True:
                quantity = await queue.get()
                yield pb2.StockLevel(sku=request.sku, quantity=quantity)
        finally:
            self.shelf.unsubscribe(request.sku, queue)
        # kata: end
