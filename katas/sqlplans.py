"""Reading PostgreSQL query plans in tests: does the planner use the index we built?"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def plan_nodes(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every node of an ``EXPLAIN (FORMAT JSON)`` plan tree, depth first (children in "Plans")."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
