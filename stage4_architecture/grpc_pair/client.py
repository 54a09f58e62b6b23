"""The client half of the pair: a typed wrapper over the generated stub.

Every call carries the bearer token as metadata and a deadline (``timeout``, in seconds): a
client without a deadline can wait forever on a server that will never answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import grpc

from .rpc import inventory_stub, pb2


class InventoryClient:
    def __init__(self, channel: grpc.aio.Channel, token: str, *, timeout: float = 5.0) -> None:
        self.stub = inventory_stub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.timeout = timeout

    async def get_item(self, sku: str) -> pb2.Item | None:
        """The item, or None when the server says NOT_FOUND; any other failure raises."""
        # kata: begin call GetItem with metadata and timeout; NOT_FOUND becomes None, other errors propagate
        try:
            return await self.stub.GetItem(
                pb2.GetItemRequest(sku=sku), metadata=self.metadata, timeout=self.timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise
        # kata: end

    async def restock(self, changes: Iterable[tuple[str, int]]) -> pb2.StockSummary:
        """Send every ``(sku, units)`` change on one AddStock stream; the server's summary."""

        # kata: begin stream one StockChange per pair from an async generator into AddStock
        async def requests() -> AsyncIterator[pb2.StockChange]:
            for sku, units in changes:
                yield pb2.StockChange(sku=sku, quantity=units)

        return await self.stub.AddStock(requests(), metadata=self.metadata, timeout=self.timeout)
        # kata: end

    async def reserve(self, wanted: Iterable[tuple[str, int]]) -> list[pb2.ReserveReply] | None:
        """Reserve each ``(sku, units)`` in turn on one Reserve conversation, waiting for each
        reply before sending the next. All granted: send a commit message and finish the stream
        (the server keeps them), and return the replies. One refused: cancel the call (the server gives everything
        back), send nothing more, and return None."""
        # kata: begin write one request, read its reply; cancel on the first refusal, else commit and done_writing
        call = self.stub.Reserve(metadata=self.metadata, timeout=self.timeout)
        replies: list[pb2.ReserveReply] = []
        for sku, units in wanted:
            await call.write(pb2.ReserveRequest(sku=sku, quantity=units))
            reply = await call.read()
            if not isinstance(reply, pb2.ReserveReply) or not reply.ok:
                call.cancel()
                return None
            replies.append(reply)
        await call.write(pb2.ReserveRequest(commit=True))
        await call.done_writing()
        code = await call.code()
        if code is not grpc.StatusCode.OK:
            raise RuntimeError(f"Reserve ended with {code.name}: {await call.details()}")
        return replies
        # kata: end
