"""asyncio tasks kata: no test measures time; they count cleanups, cancellations and peaks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from .tasks import Pool, cancel_and_wait, gather_all, map_bounded, with_timeout, worker


async def turns(n: int) -> None:
    """Give the event loop ``n`` turns, so other tasks run in between (no real waiting)."""
    for _ in range(n):
        await asyncio.sleep(0)


class Meter:
    """Instrumented jobs: counts how many run at once, the peak, and the order they finish in."""

    def __init__(self) -> None:
        self.started = 0
        self.in_flight = 0
        self.peak = 0
        self.finished: list[int] = []

    async def job(self, item: int, yields: int = 3, fail: bool = False) -> int:
        self.started += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await turns(yields)
            if fail:
                raise ValueError(f"job {item} failed")
        finally:
            self.in_flight -= 1
        self.finished.append(item)
        return item * 10


async def wait_forever(log: list[str], name: str) -> str:
    """Await an event nobody sets; record the cleanup when cancelled."""
    try:
        await asyncio.Event().wait()
    finally:
        log.append(f"{name} cleaned up")
    return "never"


# 1. gather_all -------------------------------------------------------------------------------


@pytest.mark.task(1)
async def test_gather_all_returns_results_in_input_order() -> None:
    meter = Meter()
    # job 0 yields most, so the jobs finish in reverse order
    got = await gather_all([meter.job(i, yields=5 - i) for i in range(5)])
    assert meter.finished == [4, 3, 2, 1, 0], "the jobs should run concurrently"
    assert got == [0, 10, 20, 30, 40], "results follow the input order, not the completion order"
    assert await gather_all([]) == [], "no coroutines, no results"


@pytest.mark.task(1)
async def test_gather_all_takes_any_iterable() -> None:
    meter = Meter()
    got = await gather_all(meter.job(i, yields=3 - i) for i in range(3))  # a generator
    assert got == [0, 10, 20], "one result per coroutine, in input order"


@pytest.mark.task(1)
async def test_gather_all_cancels_siblings_when_one_fails() -> None:
    log: list[str] = []
    meter = Meter()
    caught: tuple[Exception, ...] = ()
    try:
        await gather_all([wait_forever(log, "sibling"), meter.job(1, yields=2, fail=True)])
    except* ValueError as group:
        caught = group.exceptions
    assert [str(e) for e in caught] == ["job 1 failed"], "the failure surfaces in the group"
    assert log == ["sibling cleaned up"], (
        "a TaskGroup cancels the siblings and waits for their cleanup before raising; "
        "plain asyncio.gather leaves them running behind your back"
    )


@pytest.mark.task(1)
async def test_gather_all_raises_an_exception_group() -> None:
    meter = Meter()
    with pytest.raises(ExceptionGroup) as info:  # both jobs fail on the same turn
        await gather_all([meter.job(0, yields=1, fail=True), meter.job(1, yields=1, fail=True)])
    messages = sorted(str(e) for e in info.value.exceptions)
    assert messages == ["job 0 failed", "job 1 failed"], "a TaskGroup reports every failure"


# 2. with_timeout -----------------------------------------------------------------------------


@pytest.mark.task(2)
async def test_with_timeout_returns_the_result_when_in_time() -> None:
    meter = Meter()
    assert await with_timeout(meter.job(4), 10.0, default=-1) == 40


@pytest.mark.task(2)
@pytest.mark.parametrize("result", [None, 0, False, ""])
async def test_with_timeout_returns_a_falsy_result_as_it_is(result: object) -> None:
    async def answer() -> object:
        await turns(2)
        return result

    got = await with_timeout(answer(), 10.0, default="fallback")
    assert got is result, "only a timeout gives the default; a None/0/False result is a result"


@pytest.mark.task(2)
async def test_with_timeout_cancels_the_slow_work_and_returns_the_default() -> None:
    log: list[str] = []
    got = await with_timeout(wait_forever(log, "slow"), 0.01, default="fallback")
    assert got == "fallback", "a timeout returns the default"
    assert log == ["slow cleaned up"], (
        "the slow work must be cancelled (and its cleanup done) by the time we return, "
        "not left running: asyncio.timeout / wait_for cancel it, asyncio.wait does not"
    )


@pytest.mark.task(2)
async def test_with_timeout_lets_errors_propagate() -> None:
    meter = Meter()
    with pytest.raises(ValueError, match="job 7 failed"):
        await with_timeout(meter.job(7, fail=True), 10.0, default=-1)


@pytest.mark.task(2)
async def test_with_timeout_does_not_swallow_the_callers_cancellation() -> None:
    log: list[str] = []
    task = asyncio.create_task(with_timeout(wait_forever(log, "work"), 60.0, default="fallback"))
    try:
        await turns(3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # a 'fallback' result here means CancelledError was caught
        assert task.cancelled(), "cancelling the caller is not a timeout: it must propagate"
        assert log == ["work cleaned up"]
    finally:
        await settle(task)


# 3. worker and 4. cancel_and_wait ------------------------------------------------------------


async def run_until(
    done: Callable[[], bool], task: asyncio.Task[Any], max_turns: int = 1000
) -> None:
    """Give the loop turns until ``done()``; if ``task`` ends first, raise its error here."""
    for _ in range(max_turns):
        if done():
            return
        if task.done():
            task.result()  # raises the worker's own error
            raise AssertionError("the worker returned; it should run until cancelled")
        await asyncio.sleep(0)
    raise AssertionError(f"still waiting after {max_turns} event-loop turns")


async def settle(*tasks: asyncio.Task[Any]) -> None:
    """Test cleanup: never leave a task pending or its error unretrieved."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.task(3)
async def test_worker_serves_items_on_one_connection() -> None:
    pool, queue = Pool(), asyncio.Queue[str]()
    handled: list[tuple[int, str]] = []

    async def handle(conn: int, item: str) -> None:
        await turns(1)
        handled.append((conn, item))

    task = asyncio.create_task(worker(pool, queue, handle))
    try:
        for item in "abc":
            queue.put_nowait(item)
        await run_until(lambda: len(handled) == 3, task)
        assert handled == [(1, "a"), (1, "b"), (1, "c")], "one connection serves every item"
        async with asyncio.timeout(5):  # a guard against a hang, not a timing assertion
            await queue.join()  # returns once task_done() was called for every item
        assert (pool.opened, pool.in_use) == (1, 1), "the worker holds one connection while alive"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.in_use == 0, "cancelling the worker gives its connection back"
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_worker_cleans_up_and_stays_cancelled_when_idle() -> None:
    pool, queue = Pool(), asyncio.Queue[str]()

    async def handle(conn: int, item: str) -> None:
        raise AssertionError("the queue is empty")

    task = asyncio.create_task(worker(pool, queue, handle))
    try:
        await run_until(lambda: pool.in_use == 1, task)  # the connection is acquired up front
        await turns(3)  # now idle, waiting on queue.get()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.in_use == 0, "release the connection in a finally block"
        assert task.cancelled(), (
            "re-raise CancelledError: a task that swallows it looks finished, and TaskGroup, "
            "asyncio.timeout and shutdown code all rely on seeing the cancellation"
        )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_worker_cleans_up_when_cancelled_mid_item() -> None:
    pool, queue = Pool(), asyncio.Queue[str]()
    busy = asyncio.Event()

    async def handle(conn: int, item: str) -> None:
        busy.set()
        await asyncio.Event().wait()  # an item that never finishes

    task = asyncio.create_task(worker(pool, queue, handle))
    try:
        queue.put_nowait("stuck")
        await run_until(busy.is_set, task)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (pool.in_use, task.cancelled()) == (0, True), "released and cancelled, mid-item too"
    finally:
        await settle(task)


class GatedPool(Pool):
    """A pool with no free connection until ``free`` is set; counts the releases."""

    def __init__(self) -> None:
        super().__init__()
        self.free = asyncio.Event()
        self.waiting = False
        self.released: list[object] = []

    async def acquire(self) -> int:
        self.waiting = True
        await self.free.wait()
        return await super().acquire()

    async def release(self, conn: int) -> None:
        self.released.append(conn)
        await super().release(conn)


@pytest.mark.task(3)
async def test_worker_cancelled_while_waiting_for_a_connection_releases_nothing() -> None:
    pool, queue = GatedPool(), asyncio.Queue[str]()

    async def handle(conn: int, item: str) -> None:
        raise AssertionError("no connection yet")

    task = asyncio.create_task(worker(pool, queue, handle))
    try:
        await run_until(lambda: pool.waiting, task)
        await turns(3)  # still waiting in pool.acquire()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled(), "cancelled before it got a connection: still a cancellation"
        assert (pool.released, pool.in_use) == ([], 0), (
            "a connection that was never acquired must not be released: acquire before the "
            "`try` whose `finally` releases"
        )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_worker_releases_the_connection_when_an_item_fails() -> None:
    pool, queue = Pool(), asyncio.Queue[str]()

    async def handle(conn: int, item: str) -> None:
        await turns(1)
        raise ValueError(f"bad item {item}")

    task = asyncio.create_task(worker(pool, queue, handle))
    try:
        queue.put_nowait("x")
        with pytest.raises(ValueError, match="bad item x"):
            await task  # the handler's error ends the worker and propagates
        assert pool.in_use == 0, (
            "release in `finally`, not only in `except CancelledError`: a crashing item "
            "must not leak the connection"
        )
        async with asyncio.timeout(5):  # a guard against a hang, not a timing assertion
            await queue.join()  # hangs unless the failed item was marked task_done()
    finally:
        await settle(task)


@pytest.mark.task(4)
async def test_cancel_and_wait_waits_for_every_cleanup() -> None:
    cleaned: list[int] = []

    async def slow_cleanup(n: int) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await turns(3)  # cleanup that awaits, like closing a connection
            cleaned.append(n)

    async def crashed() -> None:
        raise ValueError("worker crashed")

    tasks = [asyncio.create_task(slow_cleanup(n)) for n in range(3)]
    failed = asyncio.create_task(crashed())
    try:
        await turns(2)
        errors = await cancel_and_wait([*tasks, failed])
        assert sorted(cleaned) == [0, 1, 2], (
            "cancel() only requests cancellation: await the tasks so their cleanup has finished"
        )
        assert all(task.cancelled() for task in tasks)
        assert [str(e) for e in errors] == ["worker crashed"], (
            "report real failures; cancellations are the expected outcome, not errors"
        )
    finally:
        await settle(*tasks, failed)


@pytest.mark.task(4)
async def test_cancel_and_wait_reports_only_real_failures() -> None:
    async def finished() -> str:
        return "done"

    async def cleanup_fails() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await turns(1)
            raise OSError("close failed")  # an error during cleanup is a real failure

    async def ignores_cancel() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return "ignored the cancel"  # returns normally: nothing to report
        return "never"

    done = asyncio.create_task(finished())
    tasks = [done, asyncio.create_task(cleanup_fails()), asyncio.create_task(ignores_cancel())]
    try:
        await turns(2)
        assert done.done()
        errors = await cancel_and_wait(task for task in tasks)  # any iterable: a generator
        assert all(task.done() for task in tasks), "wait for every task, from a generator too"
        assert [type(e) for e in errors] == [OSError], (
            "report exceptions only: a result (even None) or a cancellation is not a failure"
        )
    finally:
        await settle(*tasks)


# 5. map_bounded ------------------------------------------------------------------------------


@pytest.mark.task(5)
async def test_map_bounded_peak_equals_limit_and_keeps_order() -> None:
    meter = Meter()
    got = await map_bounded(lambda i: meter.job(i, yields=i % 4 + 1), range(20), limit=3)
    assert got == [i * 10 for i in range(20)], "results follow the input order"
    assert meter.peak == 3, (
        f"peak in flight was {meter.peak}: at most `limit` jobs at once (a Semaphore), "
        "and with 20 jobs the bound should be reached"
    )
    assert meter.in_flight == 0


@pytest.mark.task(5)
async def test_map_bounded_takes_any_iterable() -> None:
    meter = Meter()
    got = await map_bounded(meter.job, (i for i in range(6)), limit=2)  # a generator
    assert got == [i * 10 for i in range(6)]
    assert meter.peak == 2
    assert await map_bounded(meter.job, [], limit=2) == []


@pytest.mark.task(5)
async def test_map_bounded_with_limit_one_is_sequential() -> None:
    meter = Meter()
    assert await map_bounded(meter.job, [3, 1, 2], limit=1) == [30, 10, 20]
    assert meter.peak == 1, "limit=1 means one job at a time"
    assert meter.finished == [3, 1, 2]


@pytest.mark.task(5)
async def test_map_bounded_is_a_sliding_window_not_batches() -> None:
    meter = Meter()
    # job 0 is slow; the other 19 are quick
    got = await map_bounded(lambda i: meter.job(i, yields=200 if i == 0 else 2), range(20), 3)
    assert got == [i * 10 for i in range(20)]
    assert meter.peak == 3
    assert meter.finished[-1] == 0, (
        "while the slow job holds one slot, the others should stream through the free slots; "
        "gathering in batches of `limit` waits for the slowest job of each batch"
    )


@pytest.mark.task(5)
async def test_map_bounded_failure_cancels_the_rest() -> None:
    meter = Meter()
    caught: tuple[Exception, ...] = ()
    try:
        # job 0 is still running when job 1 fails
        jobs = lambda i: meter.job(i, yields=10 if i == 0 else 1, fail=i == 1)  # noqa: E731
        await map_bounded(jobs, range(10), limit=2)
    except* ValueError as group:
        caught = group.exceptions
    assert [str(e) for e in caught] == ["job 1 failed"]
    assert meter.in_flight == 0, (
        "no job is left running once map_bounded has raised: a TaskGroup cancels job 0, "
        "asyncio.gather would leave it running"
    )
    assert meter.started < 10, "jobs still waiting for a slot are cancelled, never started"
