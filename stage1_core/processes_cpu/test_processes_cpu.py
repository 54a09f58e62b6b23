"""Processes kata: small inputs and two workers keep it fast; process ids prove where work ran."""

from __future__ import annotations

import concurrent.futures
import functools
import inspect
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import pytest

from . import processes_cpu
from .processes_cpu import (
    count_primes_in,
    parallel_count_primes,
    parallel_map,
    split_range,
    why_not_picklable,
)

T = TypeVar("T")


def square_and_pid(x: int) -> tuple[int, int]:
    """Module level, so spawned workers can import it; the pid says which process ran it."""
    return x * x, os.getpid()


@pytest.mark.task(1)
def test_parallel_map_runs_in_worker_processes_in_input_order() -> None:
    got = parallel_map(square_and_pid, range(8), workers=2, chunksize=4)
    assert [square for square, _ in got] == [x * x for x in range(8)], "results in input order"
    pids = [pid for _, pid in got]
    assert os.getpid() not in pids, (
        "the work ran in this very process: threads share the GIL, so CPU-bound work needs a "
        "ProcessPoolExecutor"
    )
    assert len(set(pids[:4])) == 1 and len(set(pids[4:])) == 1, (
        f"chunksize=4 sends items 0-3 and 4-7 to a worker as two messages, one process each; "
        f"got pids {pids}: pass chunksize on to Executor.map"
    )


@pytest.mark.task(1)
def test_parallel_map_passes_workers_and_chunksize_on(monkeypatch: pytest.MonkeyPatch) -> None:
    pools: list[dict[str, Any]] = []
    maps: list[dict[str, Any]] = []

    class RecordingPool(ProcessPoolExecutor):
        """The real pool; it notes what it was asked for (the test cannot count workers)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(inspect.signature(ProcessPoolExecutor).bind(*args, **kwargs).arguments)
            super().__init__(*args, **kwargs)

        def map(
            self, fn: Callable[..., T], *iterables: Iterable[Any], **kwargs: Any
        ) -> Iterator[T]:
            maps.append(kwargs)
            return super().map(fn, *iterables, **kwargs)

    for module in (processes_cpu, concurrent.futures, concurrent.futures.process):
        monkeypatch.setattr(module, "ProcessPoolExecutor", RecordingPool)
    got = parallel_map(square_and_pid, range(6), workers=3, chunksize=2)
    assert [square for square, _ in got] == [x * x for x in range(6)]
    assert len(pools) == 1, "one ProcessPoolExecutor per parallel_map call"
    assert pools[0].get("max_workers") == 3, (
        "pass workers on as max_workers: the pool's default is one worker per CPU"
    )
    context = pools[0].get("mp_context")
    assert context is not None and context.get_start_method() == "spawn", "mp_context=SPAWN"
    assert [m.get("chunksize") for m in maps] == [2], "pass chunksize on to the pool's map"


SETTING = "as imported"


def setting_in_worker(_: int) -> str:
    return SETTING


@pytest.mark.task(1)
def test_parallel_map_spawns_fresh_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.SETTING", "changed at run time in the parent")
    got = parallel_map(setting_in_worker, [1, 2], workers=2)
    assert got == ["as imported", "as imported"], (
        "a spawned worker is a new interpreter that imports the module afresh; a forked one "
        "copies the parent's memory, changes included. Pass mp_context=SPAWN to the pool"
    )


def scaled_and_pid(factor: int, x: int) -> tuple[int, int]:
    return factor * x, os.getpid()


@pytest.mark.task(1)
def test_parallel_map_sends_a_partial_of_a_module_level_function() -> None:
    got = parallel_map(functools.partial(scaled_and_pid, 3), [1, 2, 3], workers=2)
    assert [value for value, _ in got] == [3, 6, 9], "partial(f, 3)(x) is f(3, x)"
    assert os.getpid() not in {pid for _, pid in got}, "the work runs in worker processes"


@pytest.mark.task(1)
def test_parallel_map_cannot_send_a_lambda_to_a_process() -> None:
    offset = 10
    try:
        parallel_map(lambda x: x + offset, [1, 2], workers=2)
    except (pickle.PicklingError, AttributeError):
        return  # the lambda has no importable name, so it can't be pickled for a worker
    pytest.fail(
        "the lambda ran, so it never left this process: a ProcessPoolExecutor pickles the "
        "function for its workers, and lambdas don't pickle"
    )


@pytest.mark.parametrize(
    ("n", "k", "sizes"),
    [
        (9, 3, [3, 3, 3]),
        (10, 4, [3, 3, 2, 2]),
        (10, 3, [4, 3, 3]),
        (2, 5, [1, 1]),
        (7, 1, [7]),
        (3, 3, [1, 1, 1]),
        (1, 4, [1]),
        (11, 4, [3, 3, 3, 2]),
        (0, 3, []),
    ],
    ids=[
        "even",
        "remainder 2",
        "remainder 1",
        "k > n",
        "k = 1",
        "k = n",
        "n = 1",
        "remainder 3",
        "n = 0",
    ],
)
@pytest.mark.task(2)
def test_split_range_makes_nearly_equal_contiguous_chunks(n: int, k: int, sizes: list[int]) -> None:
    chunks = split_range(n, k)
    assert [len(chunk) for chunk in chunks] == sizes, (
        f"split_range({n}, {k}): min(k, n) chunks, sizes differ by at most one, bigger first, "
        "none empty"
    )
    assert [x for chunk in chunks for x in chunk] == list(range(n)), (
        "the chunks are contiguous and cover range(n) exactly once, in order"
    )
    assert all(chunk.step == 1 for chunk in chunks), "each chunk is a contiguous range"


@pytest.mark.task(3)
def test_parallel_count_primes_sends_one_task_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, list[range], dict[str, Any]]] = []

    def spy(func: Callable[[range], int], items: Iterable[range], **options: Any) -> list[int]:
        chunks = list(items)
        calls.append((func, chunks, options))
        return [func(chunk) for chunk in chunks]  # in-process: this test checks the plumbing

    monkeypatch.setattr(processes_cpu, "parallel_map", spy)
    assert parallel_count_primes(10_000, workers=3, chunks=8) == 1229, (
        "there are 1229 primes below 10 000"
    )
    assert len(calls) == 1, "one parallel_map call hands all the chunks to the pool"
    func, chunks, options = calls[0]
    assert options.get("workers") == 3, "pass workers on to parallel_map"
    assert func is count_primes_in, "each task counts one chunk with count_primes_in"
    assert chunks == split_range(10_000, 8), "one task per chunk of split_range(limit, chunks)"


def _generator() -> Iterator[int]:
    yield 1


def _local_function() -> Callable[[], None]:
    def local() -> None:
        pass

    return local


PICKLABLE: dict[str, Callable[[], object]] = {
    "module-level function": lambda: count_primes_in,
    "partial of a module-level function": lambda: functools.partial(split_range, 10),
    "range": lambda: range(10),
    "dict of plain data": lambda: {"ids": [1, 2], "name": "job"},
}
NOT_PICKLABLE: dict[str, Callable[[], object]] = {
    "lambda": lambda: lambda x: x,
    "local function": _local_function,
    "partial of a lambda": lambda: functools.partial(lambda x, y: x + y, 1),
    "lock": threading.Lock,
    "generator": _generator,
}


@pytest.mark.task(4)
@pytest.mark.parametrize("make", PICKLABLE.values(), ids=PICKLABLE.keys())
def test_why_not_picklable_accepts_what_a_worker_can_import(make: Callable[[], object]) -> None:
    assert why_not_picklable(make()) is None, "this object pickles: it can be sent to a worker"


@pytest.mark.task(4)
@pytest.mark.parametrize("make", NOT_PICKLABLE.values(), ids=NOT_PICKLABLE.keys())
def test_why_not_picklable_explains_what_cannot_cross(make: Callable[[], object]) -> None:
    reason = why_not_picklable(make())
    assert isinstance(reason, str), "this object does not pickle: say why instead of raising"
    kind, _, message = reason.partition(": ")
    assert kind in {"PicklingError", "AttributeError", "TypeError"}, (
        f"start with the error's type name, got {reason!r}"
    )
    assert message, "then the error's own message, which names the culprit"


@pytest.mark.task(4)
def test_why_not_picklable_names_the_lock() -> None:
    reason = why_not_picklable({"job": 1, "lock": threading.Lock()})
    assert reason is not None and reason.startswith("TypeError: "), (
        f"a lock can't be copied into another process: TypeError, got {reason!r}"
    )
    assert "lock" in reason, "the message names the object that did not pickle"


class BrokenState:
    """Pickling calls ``__getstate__``; a bug in it is not a "can't be pickled" answer."""

    def __getstate__(self) -> object:
        raise RuntimeError("bug in __getstate__")


@pytest.mark.task(4)
def test_why_not_picklable_lets_other_errors_propagate() -> None:
    with pytest.raises(RuntimeError, match="bug in __getstate__"):
        why_not_picklable(BrokenState())  # `except Exception` would hide this bug
