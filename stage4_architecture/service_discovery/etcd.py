"""A service registry on etcd v3, through its JSON gateway (``/v3/...`` over HTTP).

Layout: one key per instance, ``<root>/<service>/<id>``, bound to the instance's lease; its value
is the instance as JSON plus ``"status"`` (passing or critical). The gateway speaks protobuf's JSON
mapping: keys and values are base64, int64 fields (revisions, lease ids) are strings, and a field
at its default (TTL 0, event type PUT) is left out.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from .registry import CRITICAL, PASSING, Event, HttpRegistry, Instance, Lease, Snapshot


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(data: str) -> str:
    return base64.b64decode(data).decode()


def prefix_end(prefix: str) -> str:
    """The ``range_end`` that makes a range cover every key starting with ``prefix``."""
    raw = prefix.encode()
    return base64.b64encode(raw[:-1] + bytes([raw[-1] + 1])).decode()


def decode(kv: dict[str, Any]) -> tuple[Instance, bool] | None:
    """The instance a key holds and whether it is passing; None for a value that is not one."""
    try:
        fields = json.loads(unb64(kv.get("value", "")))
        status = fields.pop("status")
        return Instance(**fields), status == PASSING
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class EtcdRegistry(HttpRegistry):
    def __init__(self, url: str, *, root: str = "/services", timeout: float = 10.0) -> None:
        super().__init__(url, timeout=timeout)
        self.root = root.rstrip("/")

    def prefix(self, service: str) -> str:
        # The trailing slash matters: without it, "web" would also cover "web-admin".
        return f"{self.root}/{service}/"

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one gateway call; an HTTP error status raises httpx.HTTPStatusError."""
        response = await self.http.post(f"/v3/{method}", json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def _put(self, lease: Lease, status: str) -> None:
        instance = lease.instance
        value = json.dumps({**dataclasses.asdict(instance), "status": status})
        key = self.prefix(instance.service) + instance.id
        await self.call("kv/put", {"key": b64(key), "value": b64(value), "lease": lease.id})

    async def register(self, instance: Instance, ttl: int) -> Lease:
        """Grant a lease of ``ttl`` seconds and put the instance's key on it, passing."""
        # kata: begin grant a lease, then put the instance under it as passing
        granted = await self.call("lease/grant", {"TTL": ttl})
        lease = Lease(instance, granted["ID"], int(granted["TTL"]))
        await self._put(lease, PASSING)
        return lease
        # kata: end

    async def heartbeat(self, lease: Lease) -> bool:
        """Renew the lease; False once it has expired or been revoked (the key is gone)."""
        # kata: begin keep the lease alive; say whether it still was
        answer = await self.call("lease/keepalive", {"ID": lease.id})
        return int(answer["result"].get("TTL", 0)) > 0
        # kata: end

    async def deregister(self, lease: Lease) -> None:
        """Revoke the lease, which deletes the key at once; a lease already gone is fine."""
        # kata: begin revoke the lease; a lease that is already gone is not an error
        try:
            await self.call("lease/revoke", {"ID": lease.id})
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != httpx.codes.NOT_FOUND:
                raise
        # kata: end

    async def set_health(self, lease: Lease, passing: bool) -> None:
        """Mark the instance passing or critical, keeping its key on the same lease."""
        # kata: begin put the instance again, on its lease, with its new status
        await self._put(lease, PASSING if passing else CRITICAL)
        # kata: end

    async def lookup(self, service: str) -> Snapshot:
        """The passing instances of ``service``, sorted by id, and the revision they are from."""
        # kata: begin range over the service's prefix; keep what decodes and passes
        prefix = self.prefix(service)
        answer = await self.call("kv/range", {"key": b64(prefix), "range_end": prefix_end(prefix)})
        found = [decode(kv) for kv in answer.get("kvs", [])]
        passing = [entry[0] for entry in found if entry is not None and entry[1]]
        revision = int(answer["header"]["revision"])
        return Snapshot(service, tuple(sorted(passing, key=lambda i: i.id)), revision)
        # kata: end

    async def watch(self, snapshot: Snapshot) -> AsyncGenerator[Event, None]:
        """Every change to the service after ``snapshot``, as it happens; runs until closed."""
        # kata: begin stream a watch from the revision after the snapshot's; map each event
        prefix = self.prefix(snapshot.service)
        create = {
            "key": b64(prefix),
            "range_end": prefix_end(prefix),
            "start_revision": snapshot.version + 1,
        }
        # A watch may stay quiet for hours: no read timeout; the caller cancels it.
        timeout = httpx.Timeout(self.http.timeout.connect, read=None)
        body = {"create_request": create}
        async with self.http.stream("POST", "/v3/watch", json=body, timeout=timeout) as stream:
            stream.raise_for_status()
            async for line in stream.aiter_lines():
                result = json.loads(line).get("result", {})
                if result.get("canceled"):
                    raise RuntimeError(f"etcd cancelled the watch: {result}")
                for event in result.get("events", []):
                    instance_id = unb64(event["kv"]["key"]).removeprefix(prefix)
                    entry = None if event.get("type") == "DELETE" else decode(event["kv"])
                    if entry is not None and entry[1]:
                        yield Event("added", instance_id, entry[0])
                    else:
                        yield Event("removed", instance_id)
        # kata: end
