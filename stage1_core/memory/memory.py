"""Memory: stream with generators instead of building lists, and drop __dict__ with __slots__."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

PATHS = ("/api/orders", "/api/users", "/api/items", "/api/cart", "/api/search", "/health")


def access_log(n: int) -> Iterator[str]:
    """A synthetic access log of ``n`` lines, produced lazily, one string at a time.

    Line format: ``<timestamp> <method> <path> <status> <latency_ms>``; every 17th request
    failed with 500, every 13th with 503, every 11th is a 404, the rest are 200.
    """
    for i in range(n):
        status = 500 if i % 17 == 0 else 503 if i % 13 == 0 else 404 if i % 11 == 0 else 200
        method = "POST" if i % 5 == 0 else "GET"
        seconds = 1_700_000_000 + i // 50
        yield f"{seconds} {method} {PATHS[i % len(PATHS)]} {status} {(i * 37) % 900 + 5}\n"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    status: int
    latency_ms: int


def parse_line(line: str) -> Request:
    _, method, path, status, latency = line.split()
    return Request(method, path, int(status), int(latency))


def error_counts_list(lines: Iterable[str]) -> dict[str, int]:
    """The list-based baseline: correct, but every stage holds the whole data set at once."""
    all_lines = list(lines)
    requests = [parse_line(line) for line in all_lines if line.strip()]
    errors = [r for r in requests if r.status >= 500]
    paths = [r.path for r in errors]
    return dict(Counter(paths))


def parse_requests(lines: Iterable[str]) -> Iterator[Request]:
    """Lazily parse ``lines`` with ``parse_line``, skipping blank lines."""
    # kata: begin a generator: loop over lines, skip blank ones, yield parse_line(line) one by one
    for line in lines:
        if line.strip():
            yield parse_line(line)
    # kata: end


def error_counts(lines: Iterable[str]) -> dict[str, int]:
    """Server errors (status >= 500) per path, streaming: memory stays flat however long the log."""
    # kata: begin chain parse_requests, a filter and a Counter with generator expressions (no lists)
    errors = (r for r in parse_requests(lines) if r.status >= 500)
    return dict(Counter(r.path for r in errors))
    # kata: end


class DictPoint:
    """A plain class: each instance carries a __dict__ (or its values array) for attributes."""

    def __init__(self, x: float, y: float, z: float) -> None:
        self.x = x
        self.y = y
        self.z = z


class SlotPoint:
    """The same point with ``__slots__``: fixed attribute slots, no per-instance __dict__."""

    # kata: begin declare __slots__ = ("x", "y", "z") and an __init__(x, y, z) that sets them
    __slots__ = ("x", "y", "z")

    def __init__(self, x: float, y: float, z: float) -> None:
        self.x = x
        self.y = y
        self.z = z

    # kata: end
