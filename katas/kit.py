"""The kata kit: everything kata code may take from the harness, in one stable public module.

Kata code imports only ``katas.kit``: solutions, tests, conftest files, ``bench.py`` and
settings modules under the stage folders never import another ``katas`` module (a harness test
checks every file). What the harness does behind these names may change; the names and their
meaning stay, so a kata written today keeps working.

Benchmarks (``bench.py`` with ``def bench() -> list[Ratio]``, run by ``katas bench``):

- ``Ratio``: one measured comparison of a baseline and a candidate, in seconds, bytes or req/s.
- ``best_time(func)``: seconds per call, the best of several rounds.
- ``service(name)``: a real service (``Endpoint``) for the benchmark's duration, found as the
  tests find theirs (an environment URL, a container, an embedded server).
- ``postgres_database()``: the URL of a fresh PostgreSQL database, dropped afterwards.
- ``request_rate(url)``: requests per second from an HTTP server under load (wrk, else Python);
  ``load_generator()`` names which one runs here, for the report.

Tests:

- ``Endpoint``: what the ``<service>_service`` fixtures give (``url``, ``provider``, ``stand_in``).
- ``plan_nodes(plan)``: every node of an ``EXPLAIN (FORMAT JSON)`` plan, to assert index use.
- ``serve_wsgi(app)``, ``serve_asgi(app)``, ``raw_http(port, data)``, ``chunked_request(...)``,
  ``MALFORMED_CHUNKED_BODIES``, ``RawResponse``: hostile bytes to a real server, for what a
  test client cannot send.
- ``contract_settings(max_examples)``: hypothesis settings for a deterministic schemathesis run;
  ``load_contract(load)``: a schema for ``@schema.parametrize()`` that fails only its own tests
  when the app cannot give its document yet; ``bearer_auth(schema, token)`` signs its calls in.

Servers a test starts (stage 4 on):

- ``daemon(argv, name=, ready=)``: a program (nginx, pgbouncer, a worker) run in its own process
  group until the block ends, awaited on a port or a check, stopped whole; ``Daemon`` is what it
  yields (``output()``, ``send(sig)``, ``kill()``, ``stop()``, a private ``workdir``).
- ``free_port()``, ``port_open(port)``: an ephemeral port to give a server, and whether one answers.
- ``wait_until(condition, what, process=, timeout=)``: poll until something holds; a timeout or
  the process exiting first is an AssertionError naming ``what`` with the process's output.
- ``program_path(name)``: where a program is installed (sbin folders searched too), or None;
  benches use it, tests use the ``program`` fixture (which skips naming the package).
- The ``program`` fixture (``program("nginx")``) finds the program or skips naming its package.
- The ``docker`` fixture: a ``Docker`` (the CLI with an engine and the base image at hand:
  ``docker.ok(*args)``, ``docker.build(context, name)``, ``docker.size(image)``); the tags built
  are removed when the session ends. ``base_image()``: KATAS_DOCKER_BASE_IMAGE, else
  python:3.12-slim (a bench makes its own ``Docker(program_path("docker"), base_image())``).
- ``unavailable(request, name, reason)``: what a kata's own fixture does for want of a tool or
  server the shared plugin does not provide: skip with ``reason``, or fail where
  ``--require-services`` names ``name`` (or everything); the report marks the test either way.

Django katas:

- ``BASE_SETTINGS``, ``CONTRIB_APPS``: the settings every Django kata shares.
- ``database_from_url(url)``: a ``DATABASES`` entry from a PostgreSQL URL.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from katas.containers import Docker, base_image
from katas.daemons import Daemon, daemon, free_port, port_open, program_path, wait_until
from katas.django_project import BASE_SETTINGS, CONTRIB_APPS, database_from_url
from katas.loadgen import load_generator, request_rate
from katas.probes import (
    MALFORMED_CHUNKED_BODIES,
    RawResponse,
    bearer_auth,
    chunked_request,
    contract_settings,
    load_contract,
    raw_http,
    serve_asgi,
    serve_wsgi,
)
from katas.pytest_plugin import unavailable
from katas.services import Endpoint, provide, scratch_database

__all__ = [
    "BASE_SETTINGS",
    "CONTRIB_APPS",
    "MALFORMED_CHUNKED_BODIES",
    "RATE_UNITS",
    "Daemon",
    "Docker",
    "Endpoint",
    "Ratio",
    "RawResponse",
    "base_image",
    "bearer_auth",
    "best_time",
    "chunked_request",
    "contract_settings",
    "daemon",
    "database_from_url",
    "free_port",
    "load_contract",
    "load_generator",
    "plan_nodes",
    "port_open",
    "postgres_database",
    "program_path",
    "raw_http",
    "request_rate",
    "serve_asgi",
    "serve_wsgi",
    "service",
    "unavailable",
    "wait_until",
]

RATE_UNITS = frozenset({"req/s"})  # units where bigger is better


@dataclass(frozen=True)
class Ratio:
    """One comparison: ``ratio`` > 1 means the candidate is better (faster, smaller, or more
    requests per second); for rates, below 1 reads as the candidate's share of the baseline."""

    what: str
    baseline: str
    candidate: str
    baseline_value: float
    candidate_value: float
    unit: str  # "s" for seconds, "B" for bytes (smaller is better), "req/s" (bigger is better)

    @property
    def ratio(self) -> float:
        better, worse = (
            (self.candidate_value, self.baseline_value)
            if self.unit in RATE_UNITS
            else (self.baseline_value, self.candidate_value)
        )
        return better / worse if worse else float("inf")


def best_time(func: Callable[[], object], *, repeat: int = 5, number: int = 1) -> float:
    """Seconds per call: the best of ``repeat`` rounds (the least disturbed by other load)."""
    return min(timeit.repeat(func, repeat=repeat, number=number)) / number


@contextmanager
def service(name: str) -> Iterator[Endpoint]:
    """A real service for a benchmark, by the same chain as the tests; stopped afterwards.

    Benchmarks run outside pytest, so they ask the chain directly (URL, container, embedded).
    """
    endpoint = provide(name)
    try:
        yield endpoint
    finally:
        if endpoint.stop is not None:
            endpoint.stop()


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a fresh database for a benchmark, on the PostgreSQL of the service chain."""
    with service("postgres") as endpoint, scratch_database(endpoint.url) as url:
        yield url


def plan_nodes(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every node of an ``EXPLAIN (FORMAT JSON)`` plan tree, depth first (children in "Plans")."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
