"""Task 3: timeouts are retried with exponential backoff and full jitter, refusals are not."""

from __future__ import annotations

import random
from typing import Any

import pytest
import redis

from katas.kit import Daemon

from . import tasks
from .app import Deployment
from .conftest import TIMEOUT


@pytest.fixture
def partner(deployment: Deployment, records: redis.Redis, unique_name: str) -> Any:
    """Script the partner's answers for one order; read back the attempts it saw."""

    class Partner:
        order = f"order-{unique_name}"

        def script(self, *answers: str) -> None:
            records.rpush(deployment.key("partner", self.order, "script"), *answers)

        def attempts(self) -> list[int]:
            key = deployment.key("partner", self.order, "attempts")
            return [int(attempt) for attempt in records.lrange(key, 0, -1)]

    return Partner()


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every random.randrange(n) call (full jitter draws the wait from [0, n)); each answers n // 2."""
    seen: list[int] = []

    def randrange(stop: int) -> int:
        seen.append(stop)
        return stop // 2

    monkeypatch.setattr(random, "randrange", randrange)
    return seen


@pytest.fixture
def countdowns(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The countdown of every retry the task asks for."""
    asked: list[float | None] = []
    task = tasks.notify_partner
    retry = task.retry

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("countdown"))
        return retry(*args, **kwargs)

    monkeypatch.setattr(task, "retry", spy)
    return asked


# apply() runs a task here, in this process, retries included (their waits are skipped), so the
# schedule can be read exactly: each wait is drawn from [0, backoff], the backoff doubling from
# 1 s up to its cap of 8 s.


@pytest.mark.task(3)
def test_timeouts_are_retried_until_an_answer(
    deployment: Deployment, partner: Any, draws: list[int], countdowns: list[float | None]
) -> None:
    partner.script(*["timeout"] * 5)
    result = tasks.notify_partner.apply((partner.order,))
    assert result.get() == f"partner notified of {partner.order}"
    assert partner.attempts() == [0, 1, 2, 3, 4, 5]
    assert [stop - 1 for stop in draws] == [1, 2, 4, 8, 8]  # backoffs: doubling, then capped
    assert countdowns == [1, 1, 2, 4, 4]  # each the jittered draw


@pytest.mark.task(3)
def test_after_five_retries_the_timeout_is_raised(
    deployment: Deployment, partner: Any, draws: list[int]
) -> None:
    partner.script(*["timeout"] * 6)
    result = tasks.notify_partner.apply((partner.order,))
    with pytest.raises(tasks.PartnerTimeout):
        result.get()
    assert partner.attempts() == [0, 1, 2, 3, 4, 5]
    assert len(draws) == 6  # the sixth wait is drawn, then max_retries says no


@pytest.mark.task(3)
def test_a_refusal_is_not_retried(deployment: Deployment, partner: Any, draws: list[int]) -> None:
    partner.script("refused", "timeout")
    result = tasks.notify_partner.apply((partner.order,))
    with pytest.raises(tasks.PartnerRefused):
        result.get()
    assert partner.attempts() == [0]
    assert draws == []


@pytest.mark.task(3)
def test_a_worker_retries_with_the_same_task(workers: dict[str, Daemon], partner: Any) -> None:
    partner.script("timeout", "timeout")  # waits of at most 1 s, then 2 s
    result = tasks.notify_partner.delay(partner.order)
    assert result.get(timeout=TIMEOUT) == f"partner notified of {partner.order}"
    assert partner.attempts() == [0, 1, 2]
    assert result.retries == 2  # one task id throughout: retries are the same task, sent again
