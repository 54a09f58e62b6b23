"""Task 4: an invoice as a chord: each line priced by a task of its own, one callback totals."""

from __future__ import annotations

import pytest
from celery.result import GroupResult

from katas.kit import Daemon

from . import tasks
from .conftest import TIMEOUT

pytestmark = pytest.mark.usefixtures("workers")


@pytest.mark.task(4)
def test_the_lines_are_priced_apart_and_totalled() -> None:
    result = tasks.invoice([(250, 2), (100, 3), (999, 1), (5, 40)])
    assert result.get(timeout=TIMEOUT) == {"lines": [500, 300, 999, 200], "total_cents": 1999}
    header = result.parent
    assert isinstance(header, GroupResult), "the callback's parent is the group of line tasks"
    lines = header.results or []
    assert [line.get(timeout=TIMEOUT) for line in lines] == [500, 300, 999, 200]
    assert {line.name for line in lines} == {tasks.line_total.name}
    assert len({line.id for line in lines}) == 4


@pytest.mark.task(4)
def test_one_line_is_an_invoice_too(workers: dict[str, Daemon]) -> None:
    result = tasks.invoice([(1234, 1)])
    assert result.get(timeout=TIMEOUT) == {"lines": [1234], "total_cents": 1234}


@pytest.mark.task(4)
def test_no_lines_total_zero() -> None:
    assert tasks.invoice([]).get(timeout=TIMEOUT) == {"lines": [], "total_cents": 0}


@pytest.mark.task(4)
def test_a_bad_line_fails_the_invoice() -> None:
    result = tasks.invoice([(100, 1), (100, 0), (100, 2)])
    # get() raises the first error among the results the callback waits on
    with pytest.raises(ValueError, match="quantity must be at least 1, got 0"):
        result.get(timeout=TIMEOUT)
    assert isinstance(result.parent, GroupResult)
    assert [line.state for line in result.parent.results or []][1] == "FAILURE"
