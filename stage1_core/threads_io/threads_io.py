"""Threads for I/O-bound work: a bounded pool, a lock around read-modify-write, a job queue."""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_io(func: Callable[[T], R], items: Iterable[T], *, max_workers: int) -> list[R]:
    """Call ``func`` on every item, at most ``max_workers`` calls at a time; results in input order.

    Worth it when ``func`` mostly waits (sockets, files, ``time.sleep``): a blocking call releases
    the GIL, so the other threads run meanwhile. An exception in any call reaches the caller.
    """
    # kata: begin map func over items in a ThreadPoolExecutor(max_workers); list in input order
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(func, items))
    # kata: end


def switch_threads() -> None:
    """Let another thread run now: ``time.sleep`` releases the GIL, even for zero seconds."""
    time.sleep(0)


class UnsafeCounter:
    """A counter whose increment is a read-modify-write with a thread switch in the middle.

    ``self.value += 1`` is a load, an add and a store; another thread may run between them and
    its update is then overwritten. ``switch`` makes that gap explicit, so the race shows up on
    every run instead of once in a million.
    """

    def __init__(self, switch: Callable[[], None] = switch_threads) -> None:
        self.value = 0
        self._switch = switch

    def increment(self) -> None:
        current = self.value  # read
        self._switch()  # ...another thread may increment here...
        self.value = current + 1  # write: overwrites whatever happened in between


class SafeCounter(UnsafeCounter):
    """The same counter, made correct: one lock per counter, held for the whole update."""

    def __init__(self, switch: Callable[[], None] = switch_threads) -> None:
        super().__init__(switch)
        self._lock = threading.Lock()

    def increment(self) -> None:
        # kata: begin hold self._lock around the whole read-switch-write (UnsafeCounter.increment)
        with self._lock:
            super().increment()
        # kata: end


class _Sentinel(enum.Enum):
    STOP = enum.auto()


STOP = _Sentinel.STOP
"""Put once per worker after the last job: a worker that gets it returns."""


def run_workers(jobs: Iterable[T], handle: Callable[[T], None], *, workers: int) -> None:
    """Producer/consumer: the caller puts ``jobs`` on a ``queue.Queue``; ``workers`` threads take
    them off and call ``handle``. Return only when every job is handled and every thread ended.

    ``handle`` is expected to deal with its own errors (an exception would end its thread).
    """
    inbox: queue.Queue[T | Literal[_Sentinel.STOP]] = queue.Queue()

    # kata: begin start workers threads that consume inbox until STOP; put jobs, a STOP each; join
    def consume() -> None:
        while (job := inbox.get()) is not STOP:
            handle(job)

    threads = [threading.Thread(target=consume, name=f"worker-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for job in jobs:
        inbox.put(job)
    for _ in threads:
        inbox.put(STOP)
    for thread in threads:
        thread.join()
    # kata: end
