"""Threads kata: concurrency is measured with barriers and counters, never with a stopwatch.

Every wait has a timeout, so a wrong solution fails instead of hanging the test run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from unittest import mock

import pytest

from .threads_io import SafeCounter, UnsafeCounter, map_io, run_workers

WAIT = 2.0  # seconds; only a wrong solution ever waits this long


class PeakProbe:
    """A blocking call that only returns once ``parties`` calls are running at the same time."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=WAIT)
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def __call__(self, item: int) -> int:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            self.barrier.wait()  # like waiting on the network: the GIL is released
            time.sleep(0.005)  # linger, so a pool wider than asked shows up in the peak
        finally:
            with self.lock:
                self.running -= 1
        return item * item


@pytest.mark.task(1)
@pytest.mark.parametrize("max_workers", [2, 4])
def test_map_io_runs_exactly_max_workers_calls_at_once(max_workers: int) -> None:
    probe = PeakProbe(parties=max_workers)
    try:
        got = map_io(probe, range(3 * max_workers), max_workers=max_workers)
    except threading.BrokenBarrierError:
        pytest.fail(
            f"fewer than {max_workers} calls ever ran at the same time: "
            "are the calls made one after another instead of in a thread pool?"
        )
    assert got == [i * i for i in range(3 * max_workers)], "one result per item, in input order"
    assert probe.peak == max_workers, (
        f"max_workers={max_workers} bounds how many calls run at once, got a peak of {probe.peak}: "
        "pass max_workers to the ThreadPoolExecutor (its default is min(32, cpus + 4))"
    )


@pytest.mark.task(1)
def test_map_io_returns_results_in_input_order_not_completion_order() -> None:
    done = [threading.Event() for _ in range(3)]

    def finish_in_reverse(i: int) -> str:
        # item 2 returns first, then 1, then 0
        if i + 1 < len(done) and not done[i + 1].wait(WAIT):
            raise TimeoutError(f"item {i} waited for item {i + 1}, which never finished")
        done[i].set()
        return f"result {i}"

    got = map_io(finish_in_reverse, [0, 1, 2], max_workers=3)
    assert got == ["result 0", "result 1", "result 2"], (
        "results follow the input order (Executor.map), not the order calls finish in"
    )


@pytest.mark.task(1)
def test_map_io_takes_any_iterable() -> None:
    probe = PeakProbe(parties=2)
    got = map_io(probe, (i for i in range(4)), max_workers=2)  # a generator: no len(), one pass
    assert got == [0, 1, 4, 9], "one result per item, in input order"
    assert map_io(probe, [], max_workers=2) == [], "no items, no calls, no results"


@pytest.mark.task(1)
def test_map_io_raises_the_error_of_a_failed_call() -> None:
    def fetch(i: int) -> int:
        if i == 3:
            raise ConnectionError("item 3: connection reset")
        return i

    with pytest.raises(ConnectionError, match="item 3"):
        map_io(fetch, range(6), max_workers=2)


def _hammer(counter: UnsafeCounter, threads: int, increments: int) -> None:
    """Increment from several threads at once; re-raise the first error a thread hit."""
    raised: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(increments):
                counter.increment()
        except BaseException as exc:
            raised.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if raised:
        raise raised[0]


@pytest.mark.task(2)
def test_safe_counter_loses_no_update_where_the_unsafe_one_does() -> None:
    threads, increments = 4, 200

    # The race, made certain: all 4 threads read, wait for one another, then all write.
    meet = threading.Barrier(threads, timeout=WAIT)

    def rendezvous() -> None:
        meet.wait()

    unsafe = UnsafeCounter(switch=rendezvous)
    _hammer(unsafe, threads, 50)
    assert unsafe.value == 50, "the demo: 4 threads x 50 increments, but every 4 collapse into 1"

    safe = SafeCounter()  # the default switch yields the GIL between read and write
    _hammer(safe, threads, increments)
    assert safe.value == threads * increments, (
        f"{threads} threads x {increments} increments must give {threads * increments}, "
        f"got {safe.value}: updates were lost, the read-modify-write is not under one lock"
    )


@pytest.mark.task(2)
def test_safe_counter_holds_the_lock_across_the_switch() -> None:
    held: list[bool] = []
    counter = SafeCounter(switch=lambda: held.append(counter._lock.locked()))
    counter.increment()
    counter.increment()
    assert counter.value == 2
    assert held == [True, True], (
        "the lock must be held between the read and the write, not only around the write: "
        "`with self._lock:` around the whole update (and no new Lock() per call)"
    )


@pytest.mark.task(2)
def test_safe_counter_releases_the_lock_when_the_update_fails() -> None:
    def broken_switch() -> None:
        raise RuntimeError("the service call failed mid-update")

    counter = SafeCounter(switch=broken_switch)
    with pytest.raises(RuntimeError, match="mid-update"):
        counter.increment()
    assert not counter._lock.locked(), (
        "an exception left the lock held, so the next increment deadlocks: "
        "take it with `with self._lock:`, not acquire() ... release()"
    )


def _run_workers_or_fail(jobs: Iterable[int], handle: Callable[[int], None], workers: int) -> int:
    """Call run_workers in a daemon thread, so that a hang fails the test instead of the run.

    Threads started from a daemon thread are daemons too: a stuck worker can't block the exit.
    Return the caller thread's id; re-raise whatever run_workers raised.
    """
    raised: list[BaseException] = []

    def call() -> None:
        try:
            run_workers(jobs, handle, workers=workers)
        except BaseException as exc:
            raised.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(WAIT * 2)
    assert not caller.is_alive(), "run_workers never returned: put one STOP per worker, then join"
    if raised:
        raise raised[0]
    assert caller.ident is not None
    return caller.ident


@pytest.mark.task(3)
def test_run_workers_handles_every_job_in_exactly_workers_threads() -> None:
    workers = 3
    meet = threading.Barrier(workers, timeout=WAIT)
    lock = threading.Lock()
    handled: list[int] = []
    threads_seen: set[int] = set()
    errors: list[BaseException] = []

    def handle(job: int) -> None:
        try:
            meet.wait()  # needs `workers` consumers waiting at the same time
        except threading.BrokenBarrierError as exc:
            errors.append(exc)
        with lock:
            handled.append(job)
            threads_seen.add(threading.get_ident())

    caller = _run_workers_or_fail(range(3 * workers), handle, workers)
    assert sorted(handled) == list(range(3 * workers)), "every job is handled exactly once"
    assert not errors, f"{workers} jobs must be handled at the same time, by {workers} threads"
    assert len(threads_seen) == workers, f"exactly {workers} consumer threads, saw {threads_seen}"
    assert caller not in threads_seen, "the caller produces; the worker threads consume"


@pytest.mark.task(3)
def test_run_workers_returns_after_every_worker_thread_ended() -> None:
    lock = threading.Lock()
    handled: list[int] = []
    threads_seen: set[int] = set()

    def handle(job: int) -> None:
        with lock:
            handled.append(job)
            threads_seen.add(threading.get_ident())

    _run_workers_or_fail(range(20), handle, workers=4)
    assert sorted(handled) == list(range(20)), "every job is handled exactly once"
    still_running = {t.name for t in threading.enumerate() if t.ident in threads_seen}
    assert not still_running, (
        f"worker threads {still_running} outlived run_workers: they still block on get(); "
        "put one STOP per worker and join() every thread before returning"
    )


@pytest.mark.task(3)
def test_run_workers_consumes_while_the_producer_is_still_producing() -> None:
    handled = [threading.Event() for _ in range(5)]

    def produce() -> Iterator[int]:
        # a slow producer: the next job only comes once the previous one was handled
        for job in range(5):
            yield job
            if not handled[job].wait(WAIT):
                raise TimeoutError(f"job {job} was put but never handled")

    def handle(job: int) -> None:
        handled[job].set()

    _run_workers_or_fail(produce(), handle, workers=2)
    assert all(event.is_set() for event in handled), (
        "start the consumers before putting jobs, and let them block on get() until STOP: "
        "a consumer that quits when the queue is momentarily empty drops a slow producer's jobs"
    )


@pytest.mark.task(3)
def test_run_workers_stops_on_the_sentinel_itself_not_on_an_equal_job() -> None:
    handled: list[object] = []
    lock = threading.Lock()

    def handle(job: object) -> None:
        with lock:
            handled.append(job)

    jobs = [mock.ANY, 1, mock.ANY]  # mock.ANY == anything, STOP included
    _run_workers_or_fail(jobs, handle, 1)  # type: ignore[arg-type]
    assert handled == jobs, (
        "a job that compares equal to STOP is still a job: test the sentinel with `is`, not =="
    )
