"""A service instance's side of discovery: serve, stay registered, leave cleanly.

``run_instance`` is what every instance runs next to its real work: register with a TTL, renew
well inside the TTL, register again if the registration was lost (the lease expired during a
pause, or someone removed it), and deregister the moment it is told to stop, so clients stop
sending to it at once instead of after the TTL.
"""

from __future__ import annotations

import asyncio
import contextlib

from .registry import Instance, Registry

BEATS_PER_TTL = 3  # a heartbeat may be lost or late twice before the lease runs out


async def serve_identity(instance: Instance) -> asyncio.Server:
    """The instance's own work, kept tiny: answer every connection with the instance id."""

    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"{instance.id}\n".encode())
        with contextlib.suppress(OSError):
            await writer.drain()
            writer.close()
            await writer.wait_closed()

    return await asyncio.start_server(answer, instance.host, instance.port)


async def run_instance(
    registry: Registry, instance: Instance, ttl: int, stop: asyncio.Event
) -> None:
    """Keep ``instance`` registered until ``stop`` is set, then deregister it."""
    # kata: begin register; until stop, heartbeat BEATS_PER_TTL times a TTL and re-register when lost; then deregister
    lease = await registry.register(instance, ttl)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), ttl / BEATS_PER_TTL)
            if stop.is_set():
                return
            if not await registry.heartbeat(lease):
                lease = await registry.register(instance, ttl)
    finally:
        await registry.deregister(lease)
    # kata: end
