"""Bench: bytes per instance (__slots__ vs __dict__) and pipeline peaks (generators vs lists)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

from katas.kit import Ratio

from .memory import DictPoint, SlotPoint, access_log, error_counts, error_counts_list


def _held_per_instance(cls: Callable[[float, float, float], object], n: int) -> float:
    points: list[object] = [None] * n
    tracemalloc.start()
    try:
        for i in range(n):
            points[i] = cls(0.0, 1.0, 2.0)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held / n


def _peak(func: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bench() -> list[Ratio]:
    n, records = 100_000, 100_000
    return [
        Ratio(
            f"memory per point instance ({n:,} instances)",
            "dict instance",
            "__slots__ instance",
            _held_per_instance(DictPoint, n),
            _held_per_instance(SlotPoint, n),
            "B",
        ),
        Ratio(
            f"tracemalloc peak, 5xx count over {records:,} log lines",
            "list pipeline",
            "generator pipeline",
            _peak(lambda: error_counts_list(access_log(records))),
            _peak(lambda: error_counts(access_log(records))),
            "B",
        ),
    ]
