"""Threads versus sequential for I/O-bound calls: 32 calls that each wait 20 ms.

``time.sleep`` stands for a network round trip: it releases the GIL, so waits overlap.
"""

from __future__ import annotations

import functools
import time

from katas.kit import Ratio, best_time

from .threads_io import map_io

CALLS = 32
WAIT = 0.02


def _fake_request(i: int) -> int:
    time.sleep(WAIT)
    return i


def bench() -> list[Ratio]:
    what = f"{CALLS} I/O-bound calls of {WAIT * 1000:.0f} ms"
    items = range(CALLS)
    sequential = best_time(lambda: [_fake_request(i) for i in items], repeat=3)
    ratios = []
    for workers in (8, 16):
        threaded = best_time(functools.partial(map_io, _fake_request, items, max_workers=workers))
        ratios.append(Ratio(what, "sequential", f"{workers} threads", sequential, threaded, "s"))
    return ratios
