"""Structured concurrency with asyncio: task groups, timeouts, cancellation, bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def gather_all(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run every coroutine concurrently; return their results in input order.

    If one fails, the others are cancelled (and their cleanup runs) before this returns, and the
    failures surface together as an ``ExceptionGroup``: nothing is left running behind our back.
    """
    # kata: begin run the coroutines in one asyncio.TaskGroup; return results in input order
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(coro) for coro in coros]
    return [task.result() for task in tasks]
    # kata: end


async def with_timeout(aw: Awaitable[T], seconds: float, default: T) -> T:
    """Await ``aw`` for at most ``seconds``; on timeout cancel it and return ``default``.

    Only the timeout is turned into ``default``: errors raised by ``aw`` propagate, and so does a
    cancellation of the caller itself.
    """
    # kata: begin await aw inside asyncio.timeout(seconds); turn only TimeoutError into default
    try:
        async with asyncio.timeout(seconds):
            return await aw
    except TimeoutError:
        return default
    # kata: end


class Pool:
    """A toy connection pool that counts the connections handed out and given back."""

    def __init__(self) -> None:
        self.opened = 0  # connections handed out so far
        self.in_use = 0  # handed out and not yet given back

    async def acquire(self) -> int:
        await asyncio.sleep(0)  # a real pool may wait for a free connection
        self.opened += 1
        self.in_use += 1
        return self.opened

    async def release(self, conn: int) -> None:
        await asyncio.sleep(0)  # closing or resetting a real connection awaits too
        self.in_use -= 1


async def worker(
    pool: Pool, queue: asyncio.Queue[T], handle: Callable[[int, T], Awaitable[None]]
) -> None:
    """Serve queue items forever on ONE pooled connection; cancellation is how it stops.

    Each item is passed to ``handle(conn, item)`` and then marked ``queue.task_done()``. When
    cancelled, idle or in the middle of an item, the connection goes back to the pool and the
    ``CancelledError`` propagates, so the task ends up *cancelled*, not finished.
    """
    # kata: begin one connection, serve items forever; release it in finally; let CancelledError out
    conn = await pool.acquire()
    try:
        while True:
            item = await queue.get()
            try:
                await handle(conn, item)
            finally:
                queue.task_done()
    finally:
        await pool.release(conn)
    # kata: end


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> list[BaseException]:
    """Cancel ``tasks`` and wait until each has finished its cleanup.

    Return the errors of tasks that failed with something other than cancellation, so a worker
    that crashed earlier is reported instead of silently forgotten.
    """
    # kata: begin cancel every task, await them all (return_exceptions=True), return the real errors
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    return [
        outcome
        for outcome in outcomes
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError)
    ]
    # kata: end


async def map_bounded(func: Callable[[T], Awaitable[R]], items: Iterable[T], limit: int) -> list[R]:
    """``[await func(item) for item in items]``, concurrently, at most ``limit`` at a time.

    Results come back in input order. A slot is reused as soon as any job finishes (a sliding
    window, not batches), and a failure cancels the jobs still running or waiting.
    """
    if limit < 1:
        raise ValueError(f"map_bounded(limit={limit}): limit must be at least 1")
    # kata: begin guard each call with asyncio.Semaphore(limit) in a TaskGroup; keep input order
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with semaphore:
            return await func(item)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(item)) for item in items]
    return [task.result() for task in tasks]
    # kata: end
