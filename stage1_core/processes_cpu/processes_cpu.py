"""Processes for CPU-bound work: a process pool, chunks of work, and what can cross to a worker."""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# "spawn" starts every worker as a fresh interpreter that imports the function by its module and
# name. It behaves the same on Linux, macOS and Windows, and is safe in a program that already
# runs threads: "fork" copies the parent mid-flight, locks held by other threads included.
SPAWN = multiprocessing.get_context("spawn")


def is_prime(n: int) -> bool:
    """Trial division: slow on purpose, pure-Python CPU work that holds the GIL throughout."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def count_primes_in(numbers: range) -> int:
    """The work for one chunk. Module level, so a worker can import it: picklable by name."""
    return sum(1 for n in numbers if is_prime(n))


def parallel_map(
    func: Callable[[T], R], items: Iterable[T], *, workers: int = 2, chunksize: int = 1
) -> list[R]:
    """Call ``func`` on every item in ``workers`` worker processes; results in input order.

    ``chunksize`` items travel to a worker together, in one message: fewer round trips when
    there are many small items. ``func`` and every item and result must be picklable.
    """
    # kata: begin map func over items in a ProcessPoolExecutor(workers, mp_context=SPAWN), chunksize
    with ProcessPoolExecutor(max_workers=workers, mp_context=SPAWN) as pool:
        return list(pool.map(func, items, chunksize=chunksize))
    # kata: end


def split_range(n: int, k: int) -> list[range]:
    """Split ``range(n)`` into ``min(k, n)`` contiguous ranges whose sizes differ by at most one.

    The first ``n % k`` ranges get the extra item: ``split_range(10, 4)`` is
    ``[range(0, 3), range(3, 6), range(6, 8), range(8, 10)]``. There are no empty ranges.
    """
    if k < 1:
        raise ValueError(f"split_range(n={n}, k={k}): k must be at least 1")
    # kata: begin split range(n) into min(k, n) contiguous ranges; the first n % k get one extra
    size, extra = divmod(n, k)
    chunks: list[range] = []
    start = 0
    for i in range(min(k, n)):
        stop = start + size + (1 if i < extra else 0)
        chunks.append(range(start, stop))
        start = stop
    return chunks
    # kata: end


def parallel_count_primes(limit: int, *, workers: int = 2, chunks: int = 8) -> int:
    """Count the primes below ``limit``: one task per chunk, partial counts added up.

    More chunks than workers balance the load: big numbers cost more to test than small ones,
    so equal ranges are not equal work.
    """
    # kata: begin parallel_map count_primes_in over split_range(limit, chunks) and sum the counts
    return sum(parallel_map(count_primes_in, split_range(limit, chunks), workers=workers))
    # kata: end


def why_not_picklable(obj: object) -> str | None:
    """None if ``obj`` can be sent to a worker process, else why not: ``"TypeError: ..."``.

    Pickling fails with different exceptions depending on the object and the Python version:
    ``PicklingError`` (a lambda), ``AttributeError`` (a local function, up to Python 3.13),
    ``TypeError`` (a lock, a generator, an open file).
    """
    # kata: begin pickle.dumps(obj): None if it works, "<ErrorType>: <message>" if pickling fails
    try:
        pickle.dumps(obj)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
    # kata: end
