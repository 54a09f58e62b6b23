"""Task 2: a real Prometheus scrapes the gunicorn service every second and answers PromQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ITEMS, Prometheus, Server

MISSING = f'http_requests_total{{route="{ITEMS}", method="GET", status="404"}}'
SLOW_BUCKETS = 'http_request_duration_seconds_bucket{route="/slow"}'
SLOW_COUNT = 'sum(http_request_duration_seconds_count{route="/slow"})'


def fan_out(server: Server, path: str, count: int, **params: int) -> None:
    """``count`` concurrent GETs; each must succeed."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda _: server.get(path, params=params).status_code, range(count))
        )
    assert set(statuses) == {200}, statuses


def settled(prometheus: Prometheus, promql: str) -> float:
    """The value once Prometheus agrees with the service (scraped after the last request)."""
    value = prometheus.value(promql)
    assert value is not None, f"no series for {promql}"
    return value


@pytest.mark.task(2)
def test_prometheus_sees_the_exact_count(service: Server, prometheus: Prometheus) -> None:
    assert prometheus.value('up{job="service"}') == 1
    series = f'http_requests_total{{route="{ITEMS}", method="GET", status="200"}}'
    for n in range(25):
        assert service.get(f"/items/{n}").status_code == 200
    served = service.served(ITEMS, 200)
    # The instant value of the counter is what the last scrape read: exact, both workers summed.
    prometheus.wait_for(series, served)
    assert served >= 25


@pytest.mark.task(2)
def test_increase_counts_the_requests_within_extrapolation(
    service: Server, prometheus: Prometheus
) -> None:
    assert service.get("/items/5000").status_code == 404
    start = service.served(ITEMS, 404)
    prometheus.wait_for(MISSING, start)
    for n in range(30):
        assert service.get(f"/items/{1000 + n}").status_code == 404
    prometheus.wait_for(MISSING, start + 30)
    # increase() extrapolates the samples it has to the edges of the window: never less than
    # what happened between them, more by a fraction of a scrape interval at each end.
    increase = settled(prometheus, f"increase({MISSING}[1m])")
    assert 30 <= increase <= 60
    # increase() is rate() (per second) times the window, evaluated at the same instant.
    ratio = settled(prometheus, f"increase({MISSING}[1m]) / rate({MISSING}[1m])")
    assert ratio == pytest.approx(60)


@pytest.mark.task(2)
def test_histogram_quantile_lands_in_the_delay_bucket(
    service: Server, prometheus: Prometheus
) -> None:
    # rate() needs the series to exist before the traffic it measures: a first request, scraped.
    fan_out(service, "/slow", 1, ms=300)
    before = service.sample("http_request_duration_seconds_count", method="GET", route="/slow")
    prometheus.wait_for(SLOW_COUNT, before)
    fan_out(service, "/slow", 20, ms=300)
    prometheus.wait_for(SLOW_COUNT, before + 20)
    p95 = settled(
        prometheus,
        f"histogram_quantile(0.95, sum by (le) (rate({SLOW_BUCKETS}[1m])))",
    )
    # 300 ms requests sit in the (0.25, 0.5] bucket; the quantile interpolates inside it.
    assert 0.25 < p95 <= 0.5
