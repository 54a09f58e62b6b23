"""Client-side load balancing over what the registry says is live.

The client keeps its own list of instances (a snapshot, then every change the watch reports) and
picks one per request: no load balancer in between, no extra hop. The price is that the list can
be stale (an instance killed a moment ago is still on it until its TTL runs out), so a request
that cannot connect moves on to the next instance instead of failing.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from .registry import Event, Instance, Registry

T = TypeVar("T")
ASK_TIMEOUT_S = 5.0


class RoundRobin:
    """Round robin over live instances, in id order; membership may change between picks."""

    def __init__(self, instances: Iterable[Instance] = ()) -> None:
        self.live: dict[str, Instance] = {}
        self.last: str | None = None  # the id picked last, which may have gone since
        self.replace(instances)

    def ids(self) -> list[str]:
        return sorted(self.live)

    def replace(self, instances: Iterable[Instance]) -> None:
        self.live = {instance.id: instance for instance in instances}

    def apply(self, event: Event) -> None:
        """Follow one change: an added instance joins (or replaces its old address), a removed
        one leaves; removing an id that is not there is fine."""
        # kata: begin add, replace or drop one instance
        if event.kind == "added" and event.instance is not None:
            self.live[event.id] = event.instance
        else:
            self.live.pop(event.id, None)
        # kata: end

    def pick(self) -> Instance:
        """The live instance after the last one picked, in id order, wrapping around. Resuming
        *after the last id* (not at a position) keeps the turn fair when members come and go.
        LookupError when there is none."""
        # kata: begin the first live id after the last pick, wrapping; LookupError when empty
        ids = self.ids()
        if not ids:
            raise LookupError("no live instance to pick")
        after = 0 if self.last is None else bisect.bisect_right(ids, self.last)
        self.last = ids[after % len(ids)]
        return self.live[self.last]
        # kata: end


async def follow(registry: Registry, service: str, balancer: RoundRobin) -> None:
    """Keep ``balancer`` in step with the registry until cancelled: load a snapshot, then apply
    every change since that snapshot (none missed in between)."""
    # kata: begin replace with a snapshot, then apply each watch event after it
    snapshot = await registry.lookup(service)
    balancer.replace(snapshot.instances)
    async for event in registry.watch(snapshot):
        balancer.apply(event)
    # kata: end


async def ask(instance: Instance) -> str:
    """The request of this kata: connect to an instance and read the line it answers (its id)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(instance.host, instance.port), ASK_TIMEOUT_S
    )
    try:
        line = await asyncio.wait_for(reader.readline(), ASK_TIMEOUT_S)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if not line.endswith(b"\n"):
        raise ConnectionResetError(f"{instance.address} closed before it answered")
    return line.decode().strip()


async def call(balancer: RoundRobin, request: Callable[[Instance], Awaitable[T]]) -> T:
    """Send ``request`` to the next instance; one that cannot be reached (an OSError) is dropped
    from the balancer and the next one is tried. When none is left, the last error propagates
    (or LookupError if there was no instance at all)."""
    # kata: begin try instances in turn, dropping each unreachable one, until one answers
    while True:
        instance = balancer.pick()
        try:
            return await request(instance)
        except OSError:
            balancer.apply(Event("removed", instance.id))
            if not balancer.live:
                raise
    # kata: end
