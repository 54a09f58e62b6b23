"""What every registry speaks: an instance, its lease, a snapshot of a service, a change event.

``Registry`` is the protocol both backends implement (``EtcdRegistry``, ``ConsulRegistry``), so
the balancer and the instance loop never know which one they talk to.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol, Self

import httpx

# A DNS label: the name must also work as `<name>.service.consul` and in a key path.
SERVICE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
PASSING, CRITICAL = "passing", "critical"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return HOST_NAME.fullmatch(host) is not None
    return True


@dataclass(frozen=True)
class Instance:
    """One running copy of a service: where to reach it. Refuses to exist malformed."""

    service: str
    id: str
    host: str
    port: int

    def __post_init__(self) -> None:
        # kata: begin refuse a malformed instance with a ValueError that names the field
        if not isinstance(self.service, str) or not SERVICE_NAME.fullmatch(self.service):
            raise ValueError(
                f"service name {self.service!r}: use 1-63 lowercase letters, digits and inner "
                "hyphens (a DNS label)"
            )
        if not isinstance(self.id, str) or not INSTANCE_ID.fullmatch(self.id):
            raise ValueError(
                f"instance id {self.id!r}: use 1-128 letters, digits, '_', '.', ':' or '-', "
                "starting with a letter or digit"
            )
        if not isinstance(self.host, str) or not _valid_host(self.host):
            raise ValueError(f"host {self.host!r}: not an IP address or a host name")
        if type(self.port) is not int or not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port!r}: an int from 1 to 65535")
        # kata: end

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Lease:
    """A registration: ``id`` is the etcd lease, or the Consul TTL check that stands for it."""

    instance: Instance
    id: str
    ttl: int


@dataclass(frozen=True)
class Snapshot:
    """The passing instances of a service, sorted by id, as of ``version`` (a revision/index)."""

    service: str
    instances: tuple[Instance, ...]
    version: int


@dataclass(frozen=True)
class Event:
    """A change after a snapshot: an instance became usable ("added") or stopped ("removed")."""

    kind: Literal["added", "removed"]
    id: str
    instance: Instance | None = None  # None when only the id is known (a deleted key)


class Registry(Protocol):
    async def register(self, instance: Instance, ttl: int) -> Lease: ...
    async def heartbeat(self, lease: Lease) -> bool: ...
    async def set_health(self, lease: Lease, passing: bool) -> None: ...
    async def deregister(self, lease: Lease) -> None: ...
    async def lookup(self, service: str) -> Snapshot: ...
    def watch(self, snapshot: Snapshot) -> AsyncGenerator[Event, None]: ...
    async def aclose(self) -> None: ...


class HttpRegistry:
    """The part both backends share: one pooled HTTP client, closed with the registry."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
