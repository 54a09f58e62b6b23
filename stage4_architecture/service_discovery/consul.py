"""The same registry on Consul's HTTP API: an agent service with a TTL check, blocking queries.

Consul has no lease: the TTL *check* plays its part. The agent marks the check critical when no
heartbeat (``check/pass``) arrived within the TTL, and ``/health/service/<name>?passing`` leaves
critical instances out. A watch is a *blocking query*: the same GET with ``index=<X-Consul-Index>``
hangs until the answer changes (or ``wait`` passes), and the new state is diffed with the old.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx

from .registry import Event, HttpRegistry, Instance, Lease, Snapshot

WAIT_S = 5  # how long one blocking query may hang; below the client's read timeout
CRITICAL_GRACE = "1m"  # Consul's minimum: a dead instance's entry is removed after this


def changes(before: Mapping[str, Instance], after: Mapping[str, Instance]) -> list[Event]:
    """The events that turn ``before`` into ``after`` (both keyed by instance id), by id order:
    "removed" for an id that is gone, "added" for one that is new or whose address changed."""
    # kata: begin diff two states into events, in id order
    events = []
    for instance_id in sorted(before.keys() | after.keys()):
        if instance_id not in after:
            events.append(Event("removed", instance_id))
        elif before.get(instance_id) != after[instance_id]:
            events.append(Event("added", instance_id, after[instance_id]))
    return events
    # kata: end


class ConsulRegistry(HttpRegistry):
    """Talks to a Consul *agent* (``http://host:8500``), as every Consul client does."""

    async def _put(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.put(f"/v1/{path}", json=body)

    async def register(self, instance: Instance, ttl: int) -> Lease:
        """Register the service with a TTL check that starts passing; the check id is the lease."""
        # kata: begin register the service with a TTL check that starts passing
        check_id = f"service:{instance.id}"
        service = {
            "ID": instance.id,
            "Name": instance.service,
            "Address": instance.host,
            "Port": instance.port,
            "Check": {
                "CheckID": check_id,
                "TTL": f"{ttl}s",
                "Status": "passing",
                "DeregisterCriticalServiceAfter": CRITICAL_GRACE,
            },
        }
        (await self._put("agent/service/register", service)).raise_for_status()
        return Lease(instance, check_id, ttl)
        # kata: end

    async def heartbeat(self, lease: Lease) -> bool:
        """Pass the TTL check; False when the agent no longer knows it (deregistered)."""
        # kata: begin pass the TTL check; an unknown check means the registration is gone
        response = await self._put(f"agent/check/pass/{lease.id}")
        if response.status_code == httpx.codes.NOT_FOUND:
            return False
        response.raise_for_status()
        return True
        # kata: end

    async def set_health(self, lease: Lease, passing: bool) -> None:
        # kata: begin pass or fail the TTL check
        verb = "pass" if passing else "fail"
        (await self._put(f"agent/check/{verb}/{lease.id}")).raise_for_status()
        # kata: end

    async def deregister(self, lease: Lease) -> None:
        # kata: begin deregister the service; one already gone is fine
        response = await self._put(f"agent/service/deregister/{lease.instance.id}")
        if response.status_code != httpx.codes.NOT_FOUND:
            response.raise_for_status()
        # kata: end

    async def _passing(self, service: str, index: int, wait: int) -> Snapshot:
        # kata: begin one (blocking) health query for the passing instances of a service
        params: dict[str, str | int] = {"passing": "true"}
        if index:
            params.update(index=index, wait=f"{wait}s")
        response = await self.http.get(
            f"/v1/health/service/{service}", params=params, timeout=wait + 10.0
        )
        response.raise_for_status()
        instances = []
        for entry in response.json():
            found = entry["Service"]
            host = found["Address"] or entry["Node"]["Address"]
            instances.append(Instance(service, found["ID"], host, found["Port"]))
        version = int(response.headers["X-Consul-Index"])
        return Snapshot(service, tuple(sorted(instances, key=lambda i: i.id)), version)
        # kata: end

    async def lookup(self, service: str) -> Snapshot:
        return await self._passing(service, 0, 0)

    async def watch(self, snapshot: Snapshot) -> AsyncGenerator[Event, None]:
        """Blocking queries from the snapshot's index; each changed answer diffed into events."""
        # kata: begin loop blocking queries from the snapshot's index, yielding the differences
        known = {i.id: i for i in snapshot.instances}
        index = snapshot.version
        while True:
            answer = await self._passing(snapshot.service, index, WAIT_S)
            # An index that goes backwards (a snapshot restore) means: start over from 0.
            index = answer.version if answer.version >= index else 0
            current = {i.id: i for i in answer.instances}
            for event in changes(known, current):
                yield event
            known = current
        # kata: end
