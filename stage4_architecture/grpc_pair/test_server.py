"""Task 7: health checking, reflection, and a graceful stop that says NOT_SERVING first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from .conftest import GUARD_S, ITEMS, untyped
from .rpc import SERVICE_NAME, inventory_stub, pb2
from .server import Running, start_server, stop_server
from .service import InventoryService, Shelf

pytestmark = pytest.mark.timeout(60)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    running = await start_server(InventoryService(Shelf(ITEMS)), with_health=True)
    try:
        yield running
    finally:
        await running.server.stop(None)  # whatever the test did, no server is left running


@pytest.mark.task(7)
async def test_health_reports_serving_for_the_server_and_the_service(running: Running) -> None:
    async with grpc.aio.insecure_channel(running.target) as channel:
        stub = untyped(health_pb2_grpc.HealthStub, channel)
        for service in ("", SERVICE_NAME):
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=GUARD_S
            )
            assert reply.status == SERVING, f"health of {service!r}"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Check(health_pb2.HealthCheckRequest(service="no.Such"), timeout=GUARD_S)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def reflect(
    channel: grpc.aio.Channel, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    stub = untyped(reflection_pb2_grpc.ServerReflectionStub, channel)
    call = stub.ServerReflectionInfo(iter([request]), timeout=GUARD_S)
    async for response in call:
        answer: reflection_pb2.ServerReflectionResponse = response
        return answer
    raise AssertionError("reflection sent no answer")


@pytest.mark.task(7)
async def test_reflection_lists_the_services_and_describes_the_contract(running: Running) -> None:
    async with grpc.aio.insecure_channel(running.target) as channel:
        listed = await reflect(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
        names = {service.name for service in listed.list_services_response.service}
        assert names == {SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME}
        found = await reflect(
            channel, reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME)
        )
    files = found.file_descriptor_response.file_descriptor_proto
    proto = descriptor_pb2.FileDescriptorProto.FromString(files[0])
    (service,) = proto.service
    shapes = {m.name: (m.client_streaming, m.server_streaming) for m in service.method}
    assert shapes == {
        "GetItem": (False, False),
        "ListItems": (False, True),
        "AddStock": (True, False),
        "Reserve": (True, True),
        "Watch": (False, True),
    }, "a client can learn every method and its call shape from the server itself"


@pytest.mark.task(7)
async def test_a_graceful_stop_says_not_serving_first_and_leaves_nothing_running(
    running: Running,
) -> None:
    channel = grpc.aio.insecure_channel(running.target)
    watch = untyped(health_pb2_grpc.HealthStub, channel).Watch(
        health_pb2.HealthCheckRequest(service=SERVICE_NAME)
    )
    async with asyncio.timeout(GUARD_S):
        first = await watch.read()
        assert isinstance(first, health_pb2.HealthCheckResponse) and first.status == SERVING
        stopping = asyncio.create_task(stop_server(running, grace=GUARD_S))
        update = await watch.read()
        assert isinstance(update, health_pb2.HealthCheckResponse), "the watch ended without news"
        assert update.status == NOT_SERVING, "watchers hear NOT_SERVING before the server goes"
        watch.cancel()  # the last call in flight: the graceful stop can finish now
        await stopping
        await channel.close()
    async with grpc.aio.insecure_channel(running.target) as fresh:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await inventory_stub(fresh).GetItem(pb2.GetItemRequest(sku="apple"), timeout=GUARD_S)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE, "the server is gone"
