"""RED metrics for an ASGI app: rate, errors and duration, labelled by route template.

``MetricsMiddleware`` wraps the whole app: it counts every request by method, route template
and status, times it into a histogram, and keeps a gauge of requests in flight. ``exposition``
renders what ``/metrics`` serves: this process's registry, or under gunicorn (where
``PROMETHEUS_MULTIPROC_DIR`` is set) the sum over every worker's files.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"  # the scrape endpoint: not instrumented, it would count itself
UNMATCHED_ROUTE = "unmatched"  # the route label of a path no route matched (a 404)
# Seconds. The latency SLO (500 ms) is a boundary, so "slower than the SLO" is one bucket's
# count and not an interpolation; 10 s is the clients' timeout, past which nothing is measured.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# kata: begin the three RED metrics: a request counter (method, route, status), a latency histogram (method, route) with LATENCY_BUCKETS, an in-flight gauge summed over live workers
REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival to the end of its response body.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "http_requests_in_flight",
    "Requests being handled right now.",
    multiprocess_mode="livesum",
)
# kata: end


def route_label(scope: Scope) -> str:
    """The template of the route that handled the request (``/items/{item_id}``), or
    UNMATCHED_ROUTE when none matched. Call it after the app ran: routing fills the scope."""
    # kata: begin the matched route's path template from the scope, else UNMATCHED_ROUTE
    route = scope.get("route")
    if isinstance(route, Route):
        return route.path
    return UNMATCHED_ROUTE
    # kata: end


class MetricsMiddleware:
    """Pure ASGI middleware: sees every request, including those that raise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # kata: begin count, time and track in flight every HTTP request but the scrape itself; an exception is a 500 and still propagates
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers when the app raises before responding

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_FLIGHT.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            elapsed = time.perf_counter() - started
            route = route_label(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            IN_FLIGHT.dec()
        # kata: end


def exposition() -> tuple[bytes, str]:
    """The body and content type of ``/metrics``."""
    # kata: begin under gunicorn (PROMETHEUS_MULTIPROC_DIR set) collect every worker's files into a fresh registry; else the default registry
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    # kata: end
