"""Profiling kata: call counts are deterministic, so the tests count calls instead of timing."""

from __future__ import annotations

import cProfile
import pstats
import sys
from collections.abc import Callable

import pytest

from .profiling import (
    Customer,
    Order,
    build_report,
    fast_report,
    hottest,
    make_data,
    normalize_email,
    profile_call,
)


def stats_of(func: Callable[[], object]) -> pstats.Stats:
    """Profile ``func()`` with cProfile directly, so these tests don't depend on profile_call."""
    profiler = cProfile.Profile()
    profiler.runcall(func)
    return pstats.Stats(profiler)


def expected_normalize_calls(customers: list[Customer], orders: list[Order]) -> int:
    """The naive search compares until the first match (or the end), two normalizations each."""
    emails = [normalize_email(c.email) for c in customers]
    total = 0
    for order in orders:
        wanted = normalize_email(order.email)
        scanned = emails.index(wanted) + 1 if wanted in emails else len(emails)
        total += 2 * scanned
    return total


def countdown(n: int) -> int:
    return 0 if n == 0 else 1 + countdown(n - 1)


@pytest.mark.task(1)
def test_profile_call_returns_result_and_fresh_stats() -> None:
    result, stats = profile_call(countdown, 10)
    assert result == 10, "profile_call must return what the function returns"
    profile = stats.get_stats_profile().func_profiles
    assert "countdown" in profile, "the stats must cover the profiled call"
    assert profile["countdown"].ncalls == "11/1", "11 calls in all, 1 of them from outside"

    _, again = profile_call(countdown, 3)
    ncalls = again.get_stats_profile().func_profiles["countdown"].ncalls
    assert ncalls == "4/1", "each call needs a fresh Profile(), or the counts pile up"


@pytest.mark.task(1)
def test_profile_call_stops_profiling_when_func_raises() -> None:
    def broken() -> None:
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        profile_call(broken)
    assert sys.getprofile() is None, "disable the profiler in a finally (runcall does that)"


@pytest.mark.task(2)
def test_hottest_by_calls_names_the_hot_spot() -> None:
    customers, orders = make_data(120, 200)
    stats = stats_of(lambda: build_report(customers, orders))

    top = hottest(stats, 3, by="ncalls")
    want = expected_normalize_calls(customers, orders)
    assert top[0] == ("normalize_email", want), (
        "the hot spot is normalize_email, called twice per comparison, orders x customers times"
    )
    assert top[1] == ("find_customer", len(orders)), "find_customer runs once per order"
    assert len(top) == 3, "n limits the rows"
    assert all(not name.startswith(("{", "<built-in")) for name, _ in hottest(stats, 50)), (
        "leave out built-ins (file name '~'): you fix your own function, not str.lower"
    )


@pytest.mark.task(2)
def test_hottest_counts_recursive_calls_in_all() -> None:
    stats = stats_of(lambda: countdown(20))
    assert hottest(stats, 1, by="ncalls") == [("countdown", 21)], (
        "ncalls '21/1' means 21 calls in all and 1 primitive call: report the first number"
    )


@pytest.mark.task(2)
def test_hottest_by_cumtime_ranks_callers_above_callees() -> None:
    customers, orders = make_data(80, 120)
    stats = stats_of(lambda: build_report(customers, orders))
    names = [name for name, _ in hottest(stats, 10, by="cumtime")]
    assert names[0] == "<lambda>", "cumtime includes callees: the entry point comes first"
    chain = [names.index(f) for f in ("build_report", "find_customer", "normalize_email")]
    assert chain == sorted(chain), (
        "a caller's cumtime includes its callees', so build_report >= find_customer >= "
        f"normalize_email (ties by name); got {names}"
    )


@pytest.mark.task(2)
@pytest.mark.parametrize("by", ["ncalls", "tottime", "cumtime"])
def test_hottest_sorts_descending(by: str) -> None:
    customers, orders = make_data(40, 60)
    stats = stats_of(lambda: build_report(customers, orders))
    profile = stats.get_stats_profile().func_profiles
    top = hottest(stats, 100, by=by)  # type: ignore[arg-type]
    assert len(top) >= 5, "every Python function that ran should be listed"

    def value(name: str) -> float:
        fp = profile[name]
        return {"ncalls": float(fp.ncalls.split("/")[0]), "tottime": fp.tottime}.get(by, fp.cumtime)

    keys = [(-value(name), name) for name, _ in top]
    assert keys == sorted(keys), f"sort by {by}, largest first, ties by name"


@pytest.mark.task(3)
def test_fast_report_matches_naive_report() -> None:
    customers, orders = make_data(60, 150)
    assert fast_report(customers, orders) == build_report(customers, orders)
    assert fast_report([], orders) == [] and fast_report(customers, []) == []

    twins = [
        Customer(1, "First", "Twin@example.com"),
        Customer(2, "Second", "twin@example.com "),
        Customer(3, "Other", "other@example.com"),
    ]
    mixed = [Order(1, "TWIN@example.com", 500), Order(2, "nobody@example.com", 7)]
    got = fast_report(twins, mixed)
    assert got == build_report(twins, mixed) == ["First <Twin@example.com>: 5.00"], (
        "two customers share an email: the naive search picks the first, so must the index"
    )


@pytest.mark.task(3)
def test_fast_report_makes_far_fewer_calls() -> None:
    customers, orders = make_data(150, 300)
    naive = stats_of(lambda: build_report(customers, orders)).total_calls  # type: ignore[attr-defined]
    fast = stats_of(lambda: fast_report(customers, orders)).total_calls  # type: ignore[attr-defined]
    assert fast * 10 < naive, (
        f"the fix must remove the customers x orders work: {fast} calls vs {naive} naive"
    )


@pytest.mark.task(1)
def test_profile_call_passes_keyword_arguments() -> None:
    def scale(value: int, *, factor: int = 1) -> int:
        return value * factor

    result, stats = profile_call(scale, 7, factor=3)
    assert result == 21, "pass **kwargs through to func"
    assert stats.get_stats_profile().func_profiles["scale"].ncalls == "1"


def called_10_times() -> None:
    pass


def also_10_times() -> None:
    pass


def called_9_times() -> None:
    pass


def tie_workload() -> None:
    for _ in range(10):
        called_10_times()
        also_10_times()
    for _ in range(9):
        called_9_times()


@pytest.mark.task(2)
def test_hottest_breaks_ties_by_name_and_compares_counts_as_numbers() -> None:
    stats = stats_of(tie_workload)
    assert hottest(stats, 3, by="ncalls") == [
        ("also_10_times", 10),
        ("called_10_times", 10),
        ("called_9_times", 9),
    ], "10 > 9 as numbers (not as strings), and equal counts are ordered by name, A to Z"
    assert hottest(stats, 0, by="ncalls") == [], "n=0 asks for nothing"


@pytest.mark.task(3)
def test_fast_report_keeps_customers_whose_orders_total_zero() -> None:
    customers = [Customer(1, "Free", "free@example.com"), Customer(2, "Paid", "paid@example.com")]
    orders = [Order(1, " FREE@example.com", 0), Order(2, "paid@example.com", 250)]
    assert (
        fast_report(customers, orders)
        == build_report(customers, orders)
        == [
            "Free <free@example.com>: 0.00",
            "Paid <paid@example.com>: 2.50",
        ]
    ), "a customer with orders is listed even when they sum to 0: test `in totals`"


@pytest.mark.task(2)
def test_hottest_skips_each_built_in_and_keeps_every_python_function() -> None:
    stats = stats_of(tie_workload)
    # A hand-made table in a known order: built-ins first, then a file whose path is not ASCII.
    stats.stats = {  # type: ignore[attr-defined]
        ("~", 0, "<built-in method builtins.len>"): (5, 5, 0.0, 0.0, {}),
        ("/src/app.py", 3, "handler"): (2, 2, 0.0, 0.0, {}),
        ("~", 0, "<method 'lower' of 'str' objects>"): (7, 7, 0.0, 0.0, {}),
        ("\u00fcbung/sch\u00e4tzen.py", 1, "estimate"): (1, 1, 0.0, 0.0, {}),
    }
    stats.fcn_list = None  # type: ignore[attr-defined]
    assert hottest(stats, 5, by="ncalls") == [("handler", 2), ("estimate", 1)], (
        "skip a built-in (file name exactly '~') and go on to the next row; every other file, "
        "whatever its name, is Python code"
    )
