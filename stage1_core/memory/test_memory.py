"""Memory kata: tracemalloc counts bytes allocated, so the bounds hold run after run."""

from __future__ import annotations

import inspect
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from .memory import (
    DictPoint,
    Request,
    SlotPoint,
    access_log,
    error_counts,
    error_counts_list,
    parse_requests,
)

RECORDS = 30_000
PEAK_BOUND = 64 * 1024  # bytes: a streaming pipeline needs a few KiB, whatever RECORDS is


def traced(func: Callable[[], object]) -> tuple[object, int, int]:
    """Run ``func`` under tracemalloc: (result, bytes still held, peak bytes) of that call."""
    tracemalloc.start()
    try:
        result = func()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, current, peak


@pytest.mark.task(1)
def test_parse_requests_is_lazy() -> None:
    read: list[str] = []

    def source() -> Iterator[str]:
        for line in ("1 GET /a 200 5\n", "\n", "2 POST /b 503 9\n"):
            read.append(line)
            yield line
        raise AssertionError("parse_requests read past what was asked for")

    requests = parse_requests(source())
    assert inspect.isgenerator(requests) or isinstance(requests, Iterator), "return an iterator"
    assert read == [], "a generator does no work until the first next()"
    assert next(requests) == Request("GET", "/a", 200, 5)
    assert len(read) == 1, "one item out means one line read: no list(lines) up front"
    assert next(requests) == Request("POST", "/b", 503, 9), "blank lines are skipped"


@pytest.mark.task(2)
def test_error_counts_matches_the_list_version() -> None:
    lines = [
        "1 GET /a 500 5\n",
        "2 GET /a 200 1\n",
        "   \n",
        "3 PUT /b 503 7\n",
        "4 GET /a 502 3\n",
        "5 GET /c 499 2\n",
    ]
    assert error_counts(lines) == {"/a": 2, "/b": 1}, "count status >= 500 per path (not 499)"
    assert error_counts([]) == {}
    assert error_counts(access_log(2_000)) == error_counts_list(access_log(2_000))


@pytest.mark.task(2)
def test_generator_pipeline_peak_stays_flat() -> None:
    streamed, _, streamed_peak = traced(lambda: error_counts(access_log(RECORDS)))
    listed, _, listed_peak = traced(lambda: error_counts_list(access_log(RECORDS)))
    assert streamed == listed, "same answer, different memory profile"
    assert listed_peak > PEAK_BOUND, "sanity: the list version must break the bound"
    assert streamed_peak < PEAK_BOUND, (
        f"peak {streamed_peak} B for {RECORDS} records: some stage builds a list "
        "(list(lines), [ ... ] inside Counter(...)); use generator expressions end to end"
    )


@pytest.mark.task(3)
def test_slot_point_has_no_dict() -> None:
    point = SlotPoint(1.0, 2.0, 3.0)
    assert (point.x, point.y, point.z) == (1.0, 2.0, 3.0)
    assert SlotPoint.__slots__ == ("x", "y", "z"), "declare exactly the three attributes"
    assert not hasattr(point, "__dict__"), "no per-instance __dict__: that is the saving"
    with pytest.raises(AttributeError):
        point.w = 4.0  # type: ignore[attr-defined]
    point.x = 9.0
    assert point.x == 9.0, "declared attributes stay writable"


def per_instance_bytes(cls: Callable[[float, float, float], object], n: int) -> float:
    """Bytes per instance, the list that holds them allocated before measuring."""
    points: list[object] = [None] * n

    def fill() -> None:
        for i in range(n):
            points[i] = cls(0.0, 1.0, 2.0)

    _, held, _ = traced(fill)
    return held / n


@pytest.mark.task(3)
def test_slot_point_is_smaller() -> None:
    dict_size = per_instance_bytes(DictPoint, 50_000)
    slot_size = per_instance_bytes(SlotPoint, 50_000)
    assert slot_size < 0.7 * dict_size, (
        f"__slots__ instance {slot_size:.0f} B vs {dict_size:.0f} B with a __dict__: "
        "slots should save at least 30%"
    )


@pytest.mark.task(1)
def test_parse_requests_skips_every_kind_of_blank_line() -> None:
    lines = ["", "1 GET /a 200 5\n", "   \n", "\t\r\n", "\n", "2 POST /b 503 9"]  # last: no \n
    assert list(parse_requests(lines)) == [
        Request("GET", "/a", 200, 5),
        Request("POST", "/b", 503, 9),
    ], "a blank line is empty or only whitespace: skip it whatever the whitespace"
    assert list(parse_requests([])) == []
