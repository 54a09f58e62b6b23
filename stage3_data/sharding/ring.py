"""Consistent hashing: a ring of virtual nodes, so adding a shard moves only its share of keys."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence


def stable_hash(key: str) -> int:
    """A 64-bit hash of ``key`` that is the same in every process, on every machine."""
    # kata: begin hash key to a 64-bit int with hashlib (never the built-in hash(): it is salted per process)
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    # kata: end


def modulo_shard(key: str, nodes: Sequence[str]) -> str:
    """The naive router, for comparison: ``hash % N``. Changing N re-homes almost every key."""
    return nodes[stable_hash(key) % len(nodes)]


class HashRing:
    """A consistent-hash ring: each node owns ``vnodes`` points; a key belongs to the first point
    at or after its hash, going clockwise (wrapping past the largest point to the smallest)."""

    def __init__(self, nodes: Iterable[str] = (), *, vnodes: int = 100) -> None:
        if vnodes < 1:
            raise ValueError(f"vnodes={vnodes}: every node needs at least one point")
        self.vnodes = vnodes
        self._points: list[tuple[int, str]] = []  # (hash, node), kept sorted
        for node in nodes:
            self.add(node)

    @property
    def nodes(self) -> set[str]:
        return {node for _, node in self._points}

    def add(self, node: str) -> None:
        """Put ``vnodes`` points for ``node`` on the ring."""
        # kata: begin insert vnodes points (stable_hash(f"{node}#{i}"), node) into self._points, keeping it sorted
        if node in self.nodes:
            raise ValueError(f"{node!r} is already on the ring")
        for i in range(self.vnodes):
            bisect.insort(self._points, (stable_hash(f"{node}#{i}"), node))
        # kata: end

    def remove(self, node: str) -> None:
        """Take ``node``'s points off the ring: only its keys move, to the next points along."""
        # kata: begin drop every point of node from self._points (KeyError if it is not on the ring)
        if node not in self.nodes:
            raise KeyError(node)
        self._points = [point for point in self._points if point[1] != node]
        # kata: end

    def node_for(self, key: str) -> str:
        """The node owning ``key``: the first point clockwise from ``stable_hash(key)``."""
        # kata: begin find the first point with hash >= stable_hash(key) by bisect, wrapping to index 0
        if not self._points:
            raise LookupError("the ring has no nodes")
        index = bisect.bisect_left(self._points, stable_hash(key), key=lambda point: point[0])
        return self._points[index % len(self._points)][1]
        # kata: end
