"""CPU-bound pure Python on 2 threads versus 2 processes (and one after another).

The same chunks of prime counting run three ways. Threads take turns holding the GIL, so they
are no faster than a plain loop; processes each have their own interpreter and GIL. The process
times include starting two spawned workers, as ``parallel_map`` does on every call.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from katas.kit import Ratio, best_time

from .processes_cpu import count_primes_in, parallel_map, split_range

LIMIT = 2_000_000
CHUNKS = 8
WORKERS = 2


def _sequential() -> int:
    return sum(count_primes_in(chunk) for chunk in split_range(LIMIT, CHUNKS))


def _threads() -> int:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return sum(pool.map(count_primes_in, split_range(LIMIT, CHUNKS)))


def _processes() -> int:
    return sum(parallel_map(count_primes_in, split_range(LIMIT, CHUNKS), workers=WORKERS))


def bench() -> list[Ratio]:
    what = f"count primes below {LIMIT:,} in {CHUNKS} chunks (pure Python)"
    sequential = best_time(_sequential, repeat=3)
    threads = best_time(_threads, repeat=3)
    processes = best_time(_processes, repeat=3)
    return [
        Ratio(what, "sequential", f"{WORKERS} threads", sequential, threads, "s"),
        Ratio(what, "sequential", f"{WORKERS} processes", sequential, processes, "s"),
        Ratio(what, f"{WORKERS} threads", f"{WORKERS} processes", threads, processes, "s"),
    ]
