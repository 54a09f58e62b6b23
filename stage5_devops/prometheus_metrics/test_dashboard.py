"""Task 3: the Grafana dashboard. No Grafana runs here: its JSON is checked for the structure
Grafana provisions, and every query runs against the real Prometheus."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import dashboard as board
from .conftest import HERE, ITEMS, Prometheus, Server
from .test_scrape import fan_out

# What Grafana puts in place of its built-in variables before it sends a query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
BOOM = 'sum(http_requests_total{route="/boom"})'


def targets(dash: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in dash["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target


def as_prometheus_sees_it(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a variable Grafana would not replace: {expr}"
    return expr


@pytest.fixture
def traffic(service: Server, prometheus: Prometheus) -> Prometheus:
    """Every route answered recently, and Prometheus has scraped it all."""
    assert service.get("/boom").status_code == 500  # the series exists before it grows
    prometheus.wait_for(BOOM, service.served("/boom", 500))
    for _ in range(4):
        assert service.get("/boom").status_code == 500
    for n in range(10):
        assert service.get(f"/items/{n}").status_code == 200
        assert service.get(f"/items/{2000 + n}").status_code == 404
    fan_out(service, "/slow", 1, ms=300)
    prometheus.wait_for(
        'count(sum by (le) (http_request_duration_seconds_bucket{route="/slow"}))', 12
    )
    fan_out(service, "/slow", 30, ms=30)
    fan_out(service, "/slow", 10, ms=300)
    prometheus.wait_for(BOOM, service.served("/boom", 500))
    prometheus.wait_for("sum(http_requests_in_flight)", 0)
    # The last /slow requests were answered before the last /boom: scraped too.
    return prometheus


@pytest.mark.task(3)
def test_the_dashboard_is_provisionable_json(tmp_path: Path) -> None:
    dash = board.dashboard()
    written = json.loads(board.write(tmp_path).read_text())
    assert written == dash
    assert written["uid"] == board.UID and len(board.UID) <= 40
    assert isinstance(written["schemaVersion"], int) and written["title"]
    [variable] = written["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    ids = [panel["id"] for panel in written["panels"]]
    assert len(ids) == len(set(ids)) == 4
    cells: set[tuple[int, int]] = set()
    for panel in written["panels"]:
        assert panel["type"] in {"timeseries", "stat"} and panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= board.GRID_WIDTH
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, f"panel {panel['title']!r} overlaps another"
        cells |= area
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        assert all(
            isinstance(target["expr"], str) and target["expr"] for target in panel["targets"]
        )


@pytest.mark.task(3)
def test_grafana_provisioning_points_at_the_dashboards() -> None:
    config = yaml.safe_load((HERE / "provisioning" / "dashboards.yml").read_text())
    assert config["apiVersion"] == 1
    [provider] = config["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    # And the dashboard it would load has the learner's queries in it.
    exprs = [target["expr"] for _, target in targets(board.dashboard())]
    assert board.server_error_ratio_by_route() in exprs
    assert board.latency_quantile_by_route(0.95) in exprs


@pytest.mark.task(3)
def test_every_rate_window_is_grafanas_rate_interval() -> None:
    # A fixed [1m] is too short at a long scrape interval and too coarse when zoomed in;
    # $__rate_interval is at least four scrape intervals whatever the zoom.
    for title, target in targets(board.dashboard()):
        windows = re.findall(r"\[([^\]]*)\]", target["expr"])
        assert set(windows) <= {board.RATE_WINDOW}, f"{title}: {target['expr']}"
        if "rate(" in target["expr"]:
            assert windows, title


@pytest.mark.task(3)
def test_every_query_runs_and_returns_series(traffic: Prometheus) -> None:
    for title, target in targets(board.dashboard()):
        result = traffic.query(as_prometheus_sees_it(target["expr"]))
        assert result, f"{title} ({target['refId']}): no series for {target['expr']}"


@pytest.mark.task(3)
def test_server_error_ratio_by_route(traffic: Prometheus) -> None:
    ratios = traffic.values(as_prometheus_sees_it(board.server_error_ratio_by_route()), "route")
    assert ratios["/boom"] == 1.0  # every /boom answer is a 500
    # /items answered 200s and 404s: no server error among them.
    assert ratios.get(ITEMS, 0.0) == 0.0
    assert all(0 <= ratio <= 1 for ratio in ratios.values())


@pytest.mark.task(3)
def test_latency_quantiles_by_route(traffic: Prometheus) -> None:
    def quantile(q: float) -> dict[str, float]:
        expr = as_prometheus_sees_it(board.latency_quantile_by_route(q))
        return traffic.values(expr, "route")

    p25, p95 = quantile(0.25), quantile(0.95)
    assert "" not in p95, "the quantile lost the route label"
    # Most /slow requests took 30 ms, a quarter of them 300 ms (in the (0.25, 0.5] bucket).
    assert p25["/slow"] <= 0.25 < p95["/slow"] <= 0.5
    assert all(math.isnan(v) or v >= 0 for v in p95.values())
