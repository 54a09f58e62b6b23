"""Fixtures of the middleware kata: the token map, a clock the tests control, the access log."""

from __future__ import annotations

import logging

import pytest

ACCESS_FIELDS = ("request_id", "method", "path", "status", "duration_ms")


class Ticks:
    """A clock for exact durations: readings alternate ``start``, ``end``, ``start``, ``end``...

    A middleware reads it twice per request, on arrival and when the response is done, so
    every request lasts exactly ``end - start`` seconds: 250 ms by default. (The end is twice
    the start, so that ``end % start`` is 0: a duration computed with the wrong operator shows.)
    """

    def __init__(self, start: float = 0.25, end: float = 0.5) -> None:
        self.start, self.end, self.readings = start, end, 0

    def __call__(self) -> float:
        self.readings += 1
        return self.start if self.readings % 2 else self.end


class AccessLog:
    """The records written on the "katas.access" logger during one test."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    @property
    def records(self) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if r.name == "katas.access"]

    def fields(self) -> list[dict[str, object]]:
        """The structured fields (the ``extra``) of each access record, in order."""
        return [{name: r.__dict__.get(name) for name in ACCESS_FIELDS} for r in self.records]


@pytest.fixture
def tokens() -> dict[str, str]:
    return {"alice-token": "alice", "bob-token": "bob"}


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> AccessLog:
    caplog.set_level(logging.INFO, logger="katas.access")
    return AccessLog(caplog)
