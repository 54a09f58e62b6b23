"""The service's Grafana dashboard, as code: ``dashboard()`` is the JSON Grafana provisions.

``python -m stage5_devops.prometheus_metrics.dashboard FOLDER`` writes it to
``FOLDER/http-red.json``, the folder ``provisioning/dashboards.yml`` points Grafana at. Every
query is PromQL for the data source chosen in the dashboard's ``datasource`` variable; Grafana
replaces ``$__rate_interval`` with a window of at least four scrape intervals before sending it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

UID = "http-red"
RATE_WINDOW = "$__rate_interval"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24  # Grafana's grid is 24 columns wide
PANEL_SIZE = {"w": 12, "h": 8}


def requests_per_second_by_route_and_status() -> str:
    return f"sum by (route, status) (rate(http_requests_total[{RATE_WINDOW}]))"


def server_error_ratio_by_route() -> str:
    """Per route, the share of requests answered with a 5xx (4xx are the client's errors)."""
    # kata: begin per route: the rate of 5xx answers divided by the rate of all answers
    errors = f'sum by (route) (rate(http_requests_total{{status=~"5.."}}[{RATE_WINDOW}]))'
    answered = f"sum by (route) (rate(http_requests_total[{RATE_WINDOW}]))"
    return f"{errors} / {answered}"
    # kata: end


def latency_quantile_by_route(quantile: float) -> str:
    """Per route, the latency under which ``quantile`` of the requests finished."""
    # kata: begin histogram_quantile over the buckets' rates, summed by route and le
    buckets = f"sum by (route, le) (rate(http_request_duration_seconds_bucket[{RATE_WINDOW}]))"
    return f"histogram_quantile({quantile}, {buckets})"
    # kata: end


def in_flight() -> str:
    return "sum(http_requests_in_flight)"


def target(ref_id: str, expr: str, legend: str) -> dict[str, Any]:
    return {"refId": ref_id, "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}


def panel(
    panel_id: int, title: str, unit: str, targets: list[dict[str, Any]], kind: str = "timeseries"
) -> dict[str, Any]:
    """A panel in the next free cell: two per row."""
    column, row = (panel_id - 1) % 2, (panel_id - 1) // 2
    return {
        "id": panel_id,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {
            "x": column * PANEL_SIZE["w"],
            "y": row * PANEL_SIZE["h"],
            **PANEL_SIZE,
        },
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": targets,
    }


def dashboard() -> dict[str, Any]:
    quantiles = [("A", 0.5), ("B", 0.95), ("C", 0.99)]
    panels = [
        panel(
            1,
            "Requests per second",
            "reqps",
            [target("A", requests_per_second_by_route_and_status(), "{{route}} {{status}}")],
        ),
        panel(
            2,
            "Server errors (share of requests)",
            "percentunit",
            [target("A", server_error_ratio_by_route(), "{{route}}")],
        ),
        panel(
            3,
            "Latency quantiles",
            "s",
            [
                target(ref, latency_quantile_by_route(q), f"p{round(q * 100)} {{{{route}}}}")
                for ref, q in quantiles
            ],
        ),
        panel(4, "Requests in flight", "short", [target("A", in_flight(), "in flight")], "stat"),
    ]
    return {
        "uid": UID,
        "title": "HTTP service: rate, errors, duration",
        "tags": ["http", "red"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                }
            ]
        },
        "panels": panels,
    }


def write(folder: Path) -> Path:
    """Write the dashboard where Grafana's file provider reads it; the file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{UID}.json"
    path.write_text(json.dumps(dashboard(), indent=2) + "\n")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
