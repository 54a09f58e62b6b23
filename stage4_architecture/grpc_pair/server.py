"""Starting and stopping the server: the inventory service, health checking and reflection.

``start_server`` (given) binds 127.0.0.1 on port 0, so the OS picks a free port, and returns it
in ``Running``. Task 7 adds the two standard services every production gRPC server carries:
``grpc.health.v1.Health`` (is it serving?) and server reflection (what does it serve?), and a
shutdown that tells health watchers NOT_SERVING before the server stops taking calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .rpc import SERVICE_NAME, add_inventory

SERVICES = (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME)


@dataclass
class Running:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def add_health_and_reflection(server: grpc.aio.Server) -> health.aio.HealthServicer:
    """Register the health service (SERVING, for the server and for the inventory service) and
    server reflection (listing ``SERVICES``); return the health servicer."""
    # kata: begin add an aio HealthServicer, set "" and SERVICE_NAME to SERVING, enable reflection for SERVICES
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in ("", SERVICE_NAME):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(SERVICES, server)
    return servicer
    # kata: end


async def start_server(
    servicer: object,
    *,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    with_health: bool = False,
) -> Running:
    """Serve ``servicer`` as the Inventory service on 127.0.0.1, on a port the OS picks."""
    server = grpc.aio.server(interceptors=list(interceptors))
    add_inventory(server, servicer)
    servicer_health = await add_health_and_reflection(server) if with_health else None
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return Running(server, port, servicer_health)


async def stop_server(running: Running, grace: float) -> None:
    """Graceful shutdown: NOT_SERVING first (health watchers learn it at once), then stop,
    letting calls in flight finish for up to ``grace`` seconds."""
    # kata: begin health NOT_SERVING (enter_graceful_shutdown) before server.stop(grace)
    if running.health is not None:
        await running.health.enter_graceful_shutdown()
    await running.server.stop(grace)
    # kata: end
