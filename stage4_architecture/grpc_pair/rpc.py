"""The generated code's typed face (given code, no task here).

protoc writes ``inventory_pb2.pyi``, so mypy knows every message field, but it writes the gRPC
module (``inventory_pb2_grpc.py``) without type hints. This module gives the two things we use
from it a type: the client stub, as a Protocol of typed multi-callables, and the server's
registration function. The rest of the kata imports the generated code from here.
"""

from __future__ import annotations

from typing import Any, Protocol

import grpc

# Imported by full name: mypy's cache then notices the modules once they are generated.
import stage4_architecture.grpc_pair._generated.inventory_pb2 as pb2
import stage4_architecture.grpc_pair._generated.inventory_pb2_grpc as pb2_grpc

__all__ = ["SERVICE_NAME", "InventoryStub", "add_inventory", "inventory_stub", "method", "pb2"]

SERVICE_NAME = "katas.inventory.v1.Inventory"  # package + service name from inventory.proto


def method(name: str) -> str:
    """The full method name gRPC puts on the wire (HTTP/2 ``:path``): ``/package.Service/Method``."""
    return f"/{SERVICE_NAME}/{name}"


class InventoryStub(Protocol):
    """What ``inventory_pb2_grpc.InventoryStub(channel)`` has, one multi-callable per RPC."""

    GetItem: grpc.aio.UnaryUnaryMultiCallable[pb2.GetItemRequest, pb2.Item]
    ListItems: grpc.aio.UnaryStreamMultiCallable[pb2.ListItemsRequest, pb2.Item]
    AddStock: grpc.aio.StreamUnaryMultiCallable[pb2.StockChange, pb2.StockSummary]
    Reserve: grpc.aio.StreamStreamMultiCallable[pb2.ReserveRequest, pb2.ReserveReply]
    Watch: grpc.aio.UnaryStreamMultiCallable[pb2.WatchRequest, pb2.StockLevel]


def inventory_stub(channel: grpc.aio.Channel) -> InventoryStub:
    """The generated client stub on ``channel`` (an aio channel gives awaitable calls)."""
    untyped: Any = pb2_grpc.InventoryStub
    stub: InventoryStub = untyped(channel)
    return stub


def add_inventory(server: grpc.aio.Server, servicer: object) -> None:
    """Register ``servicer`` (any object with the five methods) under ``SERVICE_NAME``."""
    untyped: Any = pb2_grpc.add_InventoryServicer_to_server
    untyped(servicer, server)
