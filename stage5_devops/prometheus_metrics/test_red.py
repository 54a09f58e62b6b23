"""Task 1: RED metrics by route template, read from the registry of this process."""

from __future__ import annotations

import re
from collections import Counter

import httpx
import pytest

from katas.kit import wait_until

from .conftest import ITEMS, Server, in_background, local_series, local_value, settles_at
from .metrics import LATENCY_BUCKETS, UNMATCHED_ROUTE

REQUESTS = "http_requests_total"
IN_FLIGHT = "http_requests_in_flight"


def counted(method: str, route: str, status: int) -> float:
    return local_value(REQUESTS, method=method, route=route, status=str(status))


def routes() -> set[str]:
    return {labels["route"] for labels in local_series(REQUESTS)}


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/items/7", 200),
        ("GET", "/items/1000", 404),  # the route matched; the item does not exist
        ("GET", "/items/seven", 422),
        ("GET", "/items/-1", 422),
        ("DELETE", "/items/7", 405),
        ("HEAD", "/items/7", 405),
    ],
)
def test_counted_by_method_route_template_and_status(
    local: Server, method: str, path: str, status: int
) -> None:
    before = counted(method, ITEMS, status)
    response = local.request(method, path)
    assert response.status_code == status
    settles_at(lambda: counted(method, ITEMS, status), before + 1, f"{method} {ITEMS} {status}")


@pytest.mark.task(1)
def test_a_hundred_ids_make_one_series(local: Server) -> None:
    before = counted("GET", ITEMS, 200)
    series_before = len(local_series(REQUESTS))
    for item_id in range(100, 200):
        assert local.get(f"/items/{item_id}").status_code == 200
    settles_at(lambda: counted("GET", ITEMS, 200), before + 100, "GET /items/{item_id} 200")
    assert len(local_series(REQUESTS)) == series_before
    raw = [route for route in routes() if re.search(r"/\d", route)]
    assert not raw, f"raw paths as labels: {raw}"


@pytest.mark.task(1)
def test_unknown_paths_share_one_fixed_label(local: Server) -> None:
    paths = ["/nope", "/items", "/items/7/extra", "/admin/../../etc/passwd", "/x%20y"]
    paths += [f"/scan/{n}" for n in range(20)]
    before = counted("GET", UNMATCHED_ROUTE, 404)
    for path in paths:
        assert local.get(path).status_code == 404
    settles_at(lambda: counted("GET", UNMATCHED_ROUTE, 404), before + len(paths), "unmatched")
    leaked = [route for route in routes() if route.startswith(("/nope", "/scan", "/admin", "/x"))]
    assert not leaked


@pytest.mark.task(1)
def test_an_exception_is_counted_as_a_500(local: Server) -> None:
    before = counted("GET", "/boom", 500)
    timed = local_value("http_request_duration_seconds_count", method="GET", route="/boom")
    assert local.get("/boom").status_code == 500
    settles_at(lambda: counted("GET", "/boom", 500), before + 1, "GET /boom 500")
    assert (
        local_value("http_request_duration_seconds_count", method="GET", route="/boom") == timed + 1
    )
    settles_at(lambda: local_value(IN_FLIGHT), 0, "in flight")


@pytest.mark.task(1)
def test_latency_histogram_buckets_and_labels(local: Server) -> None:
    labels = {"method": "GET", "route": "/slow"}
    bucket = "http_request_duration_seconds_bucket"
    below = local_value(bucket, le="0.25", **labels)
    total = local_value(bucket, le="+Inf", **labels)
    seconds = local_value("http_request_duration_seconds_sum", **labels)
    assert local.get("/slow", params={"ms": 300}).status_code == 200
    # A 300 ms request is in no bucket up to 250 ms, and in the +Inf one.
    settles_at(lambda: local_value(bucket, le="+Inf", **labels), total + 1, "the +Inf bucket")
    assert local_value(bucket, le="0.25", **labels) == below
    assert local_value("http_request_duration_seconds_sum", **labels) >= seconds + 0.3
    bounds = {float(s["le"]) for s in local_series(bucket) if s["route"] == "/slow"}
    assert bounds == {*LATENCY_BUCKETS, float("inf")}
    # Latency by method and route only: a status label would multiply every bucket.
    assert {tuple(sorted(s)) for s in local_series(bucket)} == {("le", "method", "route")}


@pytest.mark.task(1)
def test_in_flight_gauge_follows_open_requests(local: Server) -> None:
    assert local_value(IN_FLIGHT) == 0
    with local.streams(3):
        assert local_value(IN_FLIGHT) == 3
    # The clients hung up: each request ends, however it ended.
    settles_at(lambda: local_value(IN_FLIGHT), 0, "in flight once the clients hung up")


@pytest.mark.task(1)
def test_in_flight_counts_concurrent_slow_requests(local: Server) -> None:
    before = counted("GET", "/slow", 200)

    def call() -> httpx.Response:
        return local.get("/slow", params={"ms": 800})

    with in_background(call), in_background(call), in_background(call):
        wait_until(lambda: local_value(IN_FLIGHT) >= 3, "three slow requests in flight")
    settles_at(lambda: counted("GET", "/slow", 200), before + 3, "GET /slow 200")
    settles_at(lambda: local_value(IN_FLIGHT), 0, "in flight")


@pytest.mark.task(1)
def test_the_scrape_does_not_count_itself(local: Server) -> None:
    before = counted("GET", ITEMS, 200)
    for _ in range(3):
        local.get("/metrics")
    assert local.get("/items/1").status_code == 200
    settles_at(lambda: counted("GET", ITEMS, 200), before + 1, "GET /items/{item_id} 200")
    assert "/metrics" not in routes()
    statuses = Counter(labels["status"] for labels in local_series(REQUESTS))
    assert all(re.fullmatch(r"[1-5]\d\d", status) for status in statuses)
