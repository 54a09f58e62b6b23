"""Benchmarks: measured ratios, kept out of the tests.

A kata may ship ``bench.py`` with ``def bench() -> list[Ratio]``. ``nox -s bench -- stage1``
(or ``katas bench stage1``) imports each one, runs it against the reference solution and writes a
Markdown table to ``bench-results/<stage>.md``. Tests assert deterministic properties only.
What a ``bench.py`` measures with (``Ratio``, ``best_time``, ``service``, ``postgres_database``)
is public, in ``katas.kit``; this module finds the benchmarks, runs them and writes the report.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from katas.catalog import Kata
from katas.kit import RATE_UNITS, Ratio


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
