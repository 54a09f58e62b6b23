"""Task 5: a report stops at its soft time limit and answers with the pages it has."""

from __future__ import annotations

import pytest
import redis

from katas.kit import Daemon

from . import tasks
from .app import Deployment
from .conftest import TIMEOUT, Failpoints, node


@pytest.mark.task(5)
def test_the_limits_are_set_on_the_task() -> None:
    soft, hard = tasks.render_report.soft_time_limit, tasks.render_report.time_limit
    assert soft is not None and hard is not None
    assert 0 < soft <= 2 < hard, "a soft limit of at most 2 s, and a hard limit above it"


@pytest.mark.task(5)
def test_a_quick_report_is_complete(workers: dict[str, Daemon], unique_name: str) -> None:
    result = tasks.render_report.delay(unique_name, 3)
    assert result.get(timeout=TIMEOUT) == {"report_id": unique_name, "pages": 3, "complete": True}
    assert result.worker == node(workers["reports"])  # routed to the reports queue


@pytest.mark.task(5)
def test_a_stuck_report_answers_with_what_it_has(
    workers: dict[str, Daemon],
    failpoints: Failpoints,
    records: redis.Redis,
    deployment: Deployment,
    unique_name: str,
) -> None:
    failpoints.arm(f"report:{unique_name}:2")  # page 2 never finishes
    result = tasks.render_report.delay(unique_name, 4)
    assert result.get(timeout=TIMEOUT) == {
        "report_id": unique_name,
        "pages": 2,
        "complete": False,
    }
    assert result.state == "SUCCESS"  # handled: an answer, not a failure
    assert records.lrange(deployment.key("report", unique_name), 0, -1) == ["0", "1"]
    # the worker is still there for the next report
    assert tasks.render_report.delay(f"{unique_name}-next", 1).get(timeout=TIMEOUT)["complete"]
