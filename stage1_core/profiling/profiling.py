"""Profiling: let cProfile find the hot spot, then fix that and only that."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
SortBy = Literal["ncalls", "tottime", "cumtime"]


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class Order:
    id: int
    email: str  # as typed at checkout: any case, stray spaces
    amount_cents: int


def make_data(n_customers: int, n_orders: int) -> tuple[list[Customer], list[Order]]:
    """Deterministic sample data; about one order in ten comes from an unknown email."""
    customers = [Customer(i, f"Customer {i}", f"user{i}@example.com") for i in range(n_customers)]
    orders = [
        Order(j, f"  User{(j * 7) % (n_customers + n_customers // 9 + 1)}@Example.COM ", 100 + j)
        for j in range(n_orders)
    ]
    return customers, orders


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_customer(customers: Sequence[Customer], email: str) -> Customer | None:
    """The first customer whose email matches, ignoring case and surrounding spaces."""
    for customer in customers:
        if normalize_email(customer.email) == normalize_email(email):
            return customer
    return None


def format_line(customer: Customer, total_cents: int) -> str:
    return f"{customer.name} <{customer.email}>: {total_cents / 100:.2f}"


def build_report(customers: Sequence[Customer], orders: Sequence[Order]) -> list[str]:
    """Revenue per customer, in customer order; orders from unknown emails are left out.

    Correct but slow: every order scans the customer list and normalizes every email again,
    so the work grows as customers x orders.
    """
    totals: dict[int, int] = {}
    for order in orders:
        customer = find_customer(customers, order.email)
        if customer is not None:
            totals[customer.id] = totals.get(customer.id, 0) + order.amount_cents
    return [format_line(c, totals[c.id]) for c in customers if c.id in totals]


def profile_call(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> tuple[R, pstats.Stats]:
    """Run ``func`` under a fresh cProfile profiler; return its result and the statistics."""
    # kata: begin run func under a new cProfile.Profile, stopped even on error; return result, Stats
    profiler = cProfile.Profile()
    result = profiler.runcall(func, *args, **kwargs)  # enable(), call, disable() in a finally
    return result, pstats.Stats(profiler)
    # kata: end


def hottest(stats: pstats.Stats, n: int = 5, by: SortBy = "cumtime") -> list[tuple[str, int]]:
    """The top ``n`` Python functions as ``(name, total calls)``, sorted by ``by`` (descending).

    Built-ins (file name ``"~"``, e.g. ``{method 'lower' of 'str' objects}``) are left out: you
    cannot fix ``str.lower``, you fix the Python function that calls it too often. Ties are
    broken by function name, so the order is deterministic.
    """
    # kata: begin use get_stats_profile(), skip built-ins, sort by `by` desc, then name
    rows: list[tuple[float, str, int]] = []
    for name, fp in stats.get_stats_profile().func_profiles.items():
        if fp.file_name == "~":
            continue
        calls = int(fp.ncalls.split("/")[0])  # "21/1": 21 calls in all, 1 primitive (not recursive)
        key = {"ncalls": float(calls), "tottime": fp.tottime, "cumtime": fp.cumtime}[by]
        rows.append((key, name, calls))
    rows.sort(key=lambda row: (-row[0], row[1]))
    return [(name, calls) for _, name, calls in rows[:n]]
    # kata: end


def fast_report(customers: Sequence[Customer], orders: Sequence[Order]) -> list[str]:
    """Exactly what ``build_report`` returns, with the hot spot fixed."""
    # kata: begin index customers by normalized email once (first wins); one dict lookup per order
    by_email: dict[str, Customer] = {}
    for customer in customers:
        by_email.setdefault(normalize_email(customer.email), customer)
    totals: dict[int, int] = {}
    for order in orders:
        found = by_email.get(normalize_email(order.email))
        if found is not None:
            totals[found.id] = totals.get(found.id, 0) + order.amount_cents
    return [format_line(c, totals[c.id]) for c in customers if c.id in totals]
    # kata: end
