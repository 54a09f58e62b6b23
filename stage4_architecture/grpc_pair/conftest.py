"""Fixtures: a real grpc.aio server on 127.0.0.1 (port 0) and a real channel to it.

``Tracker`` is a test-only server interceptor: it counts the requests each call has received and
records how each call ended, so a test can wait for the server to *notice* something (a
cancellation, a deadline) instead of sleeping and hoping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from .interceptor import Ctx, Streaming, Unary, wrap_handler
from .rpc import InventoryStub, inventory_stub
from .server import Running, start_server
from .service import InventoryService, Shelf

ITEMS = [("apple", "Apple", 10), ("apricot", "Apricot", 4), ("banana", "Banana", 0)]
GUARD_S = 10.0  # a wrong solution fails within this, instead of hanging the run


class Tracker(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        self.received: dict[str, int] = {}
        self.ended: dict[str, list[str]] = {}
        self._changed = asyncio.Event()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(GUARD_S):
            while not condition():
                await self._changed.wait()

    async def until_received(self, name: str, count: int) -> None:
        await self._until(lambda: self.received.get(name, 0) >= count)

    async def until_ended(self, name: str) -> str:
        """Wait until a call to ``name`` has ended on the server; how it ended."""
        await self._until(lambda: bool(self.ended.get(name)))
        return self.ended[name][-1]

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        name = handler_call_details.method.rsplit("/", 1)[-1]
        tracker = self

        def counted(request: Any) -> Any:
            if not hasattr(request, "__aiter__"):
                return request

            async def each() -> AsyncIterator[Any]:
                async for message in request:
                    tracker.received[name] = tracker.received.get(name, 0) + 1
                    tracker._wake()
                    yield message

            return each()

        def end(outcome: str) -> None:
            tracker.ended.setdefault(name, []).append(outcome)
            tracker._wake()

        def unary(behaviour: Unary) -> Unary:
            async def run(request: Any, context: Ctx) -> Any:
                outcome = "error"
                try:
                    result = await behaviour(counted(request), context)
                    outcome = "ok"
                    return result
                except asyncio.CancelledError:
                    outcome = "cancelled"
                    raise
                finally:
                    end(outcome)

            return run

        def streaming(behaviour: Streaming) -> Streaming:
            async def run(request: Any, context: Ctx) -> AsyncIterator[Any]:
                outcome = "error"
                responses = behaviour(counted(request), context)
                try:
                    async for response in responses:
                        yield response
                    outcome = "ok"
                except (asyncio.CancelledError, GeneratorExit):
                    outcome = "cancelled"
                    raise
                finally:
                    # Close the servicer's generator now, so its own finally has run when the
                    # call counts as ended (left alone, it is closed later, by the event loop).
                    await responses.aclose()  # type: ignore[attr-defined]
                    end(outcome)

            return run

        return wrap_handler(handler, unary, streaming)


def untyped(stub_class: Any, channel: grpc.aio.Channel) -> Any:
    """A stub of grpcio-health-checking or grpcio-reflection: their type stubs know only the
    synchronous API, so the aio calls are untyped."""
    return stub_class(channel)


@dataclass
class Served:
    running: Running
    channel: grpc.aio.Channel
    stub: InventoryStub
    shelf: Shelf
    tracker: Tracker


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """The inventory service (no auth) on a real server, and a stub on a real channel."""
    shelf = Shelf(ITEMS)
    tracker = Tracker()
    running = await start_server(InventoryService(shelf), interceptors=[tracker])
    channel = grpc.aio.insecure_channel(running.target)
    try:
        yield Served(running, channel, inventory_stub(channel), shelf, tracker)
    finally:
        await channel.close()
        await running.server.stop(None)
