"""Benchmarks: measured ratios, kept out of the tests.

A kata may ship ``bench.py`` with ``def bench() -> list[Ratio]``. ``nox -s bench -- stage1``
(or ``katas bench stage1``) imports each one, runs it against the reference solution and writes a
Markdown table to ``bench-results/<stage>.md``. Tests assert deterministic properties only.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import timeit
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from katas.catalog import Kata
from katas.services import Endpoint, provide, scratch_database

RATE_UNITS = {"req/s"}


@dataclass(frozen=True)
class Ratio:
    """One comparison: ``ratio`` > 1 means the candidate is better (faster, smaller, or more
    requests per second); for rates, below 1 reads as the candidate's share of the baseline."""

    what: str
    baseline: str
    candidate: str
    baseline_value: float
    candidate_value: float
    unit: str  # "s" for seconds, "B" for bytes (smaller is better), "req/s" (bigger is better)

    @property
    def ratio(self) -> float:
        better, worse = (
            (self.candidate_value, self.baseline_value)
            if self.unit in RATE_UNITS
            else (self.baseline_value, self.candidate_value)
        )
        return better / worse if worse else float("inf")


def best_time(func: Callable[[], object], *, repeat: int = 5, number: int = 1) -> float:
    """Seconds per call: the best of ``repeat`` rounds (the least disturbed by other load)."""
    return min(timeit.repeat(func, repeat=repeat, number=number)) / number


@contextmanager
def service(name: str) -> Iterator[Endpoint]:
    """A real service for a benchmark, by the same chain as the tests; stopped afterwards.

    Benchmarks run outside pytest, so they ask the chain directly (URL, container, embedded).
    """
    endpoint = provide(name)
    try:
        yield endpoint
    finally:
        if endpoint.stop is not None:
            endpoint.stop()


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a fresh database for a benchmark, on the PostgreSQL of the service chain."""
    with service("postgres") as endpoint, scratch_database(endpoint.url) as url:
        yield url


def _fmt(value: float, unit: str) -> str:
    if unit in RATE_UNITS:
        return f"{value:,.0f} {unit}"
    if unit == "B":
        for size, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= size:
                return f"{value / size:.1f} {name}"
        return f"{value:.0f} B"
    for seconds, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= seconds:
            return f"{value / seconds:.2f} {name}"
    return f"{value * 1e9:.0f} ns"


def _ratio(value: float) -> str:
    return f"{value:,.0f}×" if value >= 100 else f"{value:.3g}×"


def run(root: Path, katas: Iterable[Kata]) -> list[tuple[Kata, Ratio]]:
    """Each kata's ``bench()``, imported from this checkout (the stage folders are packages)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    results: list[tuple[Kata, Ratio]] = []
    for kata in katas:
        if not (kata.path / "bench.py").is_file():
            continue
        module = importlib.import_module(f"{kata.stage}.{kata.name}.bench")
        results.extend((kata, ratio) for ratio in module.bench())
    return results


def markdown(title: str, results: list[tuple[Kata, Ratio]]) -> str:
    lines = [
        f"# Bench: {title}",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. "
        "Ratio: above 1 the candidate wins (less time or memory, more requests per second); "
        "below 1 it is the candidate's share of the baseline. Times are the best of repeated runs.",
        "",
        "| kata | what | baseline | candidate | ratio |",
        "|---|---|---|---|---:|",
    ]
    for kata, r in results:
        lines.append(
            f"| {kata.name} | {r.what} | {r.baseline}: {_fmt(r.baseline_value, r.unit)} "
            f"| {r.candidate}: {_fmt(r.candidate_value, r.unit)} | {_ratio(r.ratio)} |"
        )
    return "\n".join(lines) + "\n"


def write(root: Path, title: str, results: list[tuple[Kata, Ratio]]) -> Path:
    out = root / "bench-results" / f"{title}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(markdown(title, results), encoding="utf-8")
    return out
