"""Pool sizing with Little's law: connections in use = arrival rate x time each one is held."""

from __future__ import annotations

import math


def pool_size(arrival_rate: float, service_time: float, *, headroom: float = 0.25) -> int:
    """Connections for ``arrival_rate`` requests/s, each holding one for ``service_time`` s.

    Little's law gives the average number in use (rate x time); ``headroom`` is the share
    added for bursts (0.25: a quarter more). Never below 1. A negative rate or headroom, or a
    service time that is not positive, is a ValueError.
    """
    # kata: begin validate, then ceil(rate x time x (1 + headroom)), float noise aside, at least 1
    if arrival_rate < 0:
        raise ValueError(f"arrival_rate must be >= 0, got {arrival_rate}")
    if service_time <= 0:
        raise ValueError(f"service_time must be > 0, got {service_time}")
    if headroom < 0:
        raise ValueError(f"headroom must be >= 0, got {headroom}")
    in_use = arrival_rate * service_time * (1 + headroom)
    # 300 x 0.1 is 30.000000000000004 in binary floating point: round before ceil.
    return max(1, math.ceil(round(in_use, 9)))
    # kata: end


def max_throughput(size: int, service_time: float) -> float:
    """Requests/s a pool of ``size`` serves before requests start to queue (Little, inverted)."""
    # kata: begin size connections, each free again after service_time seconds
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if service_time <= 0:
        raise ValueError(f"service_time must be > 0, got {service_time}")
    return size / service_time
    # kata: end


def per_instance_max(server_max: int, *, instances: int, reserved: int = 3) -> int:
    """The largest pool each of ``instances`` app processes may have on one server.

    The server accepts ``server_max`` connections (PostgreSQL's max_connections), ``reserved`` of
    them kept for administrators (superuser_reserved_connections) and tools. A budget that
    leaves an instance no connection at all is a ValueError.
    """
    # kata: begin share what is left after the reserved ones, rounding down; below 1 is an error
    if instances < 1:
        raise ValueError(f"instances must be >= 1, got {instances}")
    each = (server_max - reserved) // instances
    if each < 1:
        raise ValueError(
            f"{server_max} connections, {reserved} reserved, cannot serve {instances} instances"
        )
    return each
    # kata: end
