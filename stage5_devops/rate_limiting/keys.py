"""Whom a request counts against: an authenticated user, else the client's IP address.

The IP is the TCP peer, unless that peer is one of our own proxies: then the proxies' chain in
``X-Forwarded-For`` says who connected to them. Each proxy appends the address it saw, so the
chain reads left to right from the farthest hop to the nearest, and only the entries our own
proxies appended can be believed: everything left of them is whatever the client wrote.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ForwardedForError(ValueError):
    """A hop our proxies vouch for is not an IP address: the proxy setup is broken."""


@dataclass(frozen=True)
class KeyPolicy:
    users_by_token: Mapping[str, str]  # bearer token -> user name (a real app verifies a JWT)
    trusted_proxies: tuple[Network, ...] = ()


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "127.0.0.1"]`` as networks (a lone address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(cidr.strip()) for cidr in cidrs if cidr.strip())


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    """Whether ``address`` is one of our proxies; anything that is not an IP is not."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def forwarded_hops(headers: Sequence[str]) -> list[str]:
    """Every entry of every X-Forwarded-For header, in order (a list may span headers)."""
    return [hop.strip() for header in headers for hop in header.split(",") if hop.strip()]


def client_ip(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: the peer, or the right-most hop of the chain that is not ours."""
    # kata: begin believe X-Forwarded-For only from a trusted peer; walk it from the right
    if not is_trusted(peer, trusted):
        return peer
    hops = forwarded_hops(forwarded_for)
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            raise ForwardedForError(f"X-Forwarded-For hop {hop!r} is not an IP address") from None
        if not any(address in network for network in trusted):
            return str(address)
    return str(ipaddress.ip_address(hops[0])) if hops else peer
    # kata: end


def rate_key(request: Request, policy: KeyPolicy) -> str:
    """``user:<name>`` for a known bearer token, else ``ip:<address>``."""
    # kata: begin a known bearer token keys by its user; anything else by the client's IP
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = policy.users_by_token.get(token.strip()) if scheme.lower() == "bearer" else None
    if user is not None:
        return f"user:{user}"
    peer = request.client.host if request.client else ""
    forwarded = request.headers.getlist("x-forwarded-for")
    return f"ip:{client_ip(peer, forwarded, policy.trusted_proxies)}"
    # kata: end
