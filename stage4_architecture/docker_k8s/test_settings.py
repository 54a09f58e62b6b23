"""Task 1: the settings, read from the environment and refused when the pod could not stop cleanly."""

from __future__ import annotations

import pytest

from .settings import ConfigError, Settings

BASE = {"API_TOKEN": "s3cret"}


@pytest.mark.task(1)
def test_defaults_need_only_the_token() -> None:
    settings = Settings.from_env(BASE)
    assert settings == Settings(
        api_token="s3cret",
        greeting="hello",
        host="127.0.0.1",
        port=8000,
        warmup_seconds=0.0,
        drain_seconds=5.0,
        shutdown_timeout=10,
        grace_seconds=30.0,
    )


@pytest.mark.task(1)
def test_every_variable_is_read() -> None:
    env = {
        **BASE,
        "GREETING": "hi",
        "HOST": "0.0.0.0",
        "PORT": "8080",
        "WARMUP_SECONDS": "2.5",
        "DRAIN_SECONDS": "3",
        "SHUTDOWN_TIMEOUT_SECONDS": "20",
        "GRACE_PERIOD_SECONDS": "45",
    }
    settings = Settings.from_env(env)
    assert (settings.greeting, settings.host, settings.port) == ("hi", "0.0.0.0", 8080)
    assert (settings.warmup_seconds, settings.drain_seconds) == (2.5, 3.0)
    assert (settings.shutdown_timeout, settings.grace_seconds) == (20, 45.0)
    assert isinstance(settings.port, int) and isinstance(settings.shutdown_timeout, int)


@pytest.mark.task(1)
@pytest.mark.parametrize("env", [{}, {"API_TOKEN": ""}], ids=["unset", "empty"])
def test_a_missing_token_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="API_TOKEN"):
        Settings.from_env(env)


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "80.5"),
        ("PORT", "http"),
        ("DRAIN_SECONDS", "-1"),
        ("DRAIN_SECONDS", "-0.001"),
        ("WARMUP_SECONDS", "nan"),
        ("WARMUP_SECONDS", "inf"),
        ("WARMUP_SECONDS", "soon"),
        ("GRACE_PERIOD_SECONDS", ""),
        ("SHUTDOWN_TIMEOUT_SECONDS", "1.5"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**BASE, name: value})


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("PORT", "1", 1), ("PORT", "65535", 65535), ("DRAIN_SECONDS", "0", 0.0)],
)
def test_boundaries_are_allowed(name: str, value: str, expected: float) -> None:
    settings = Settings.from_env({**BASE, name: value})
    assert {"PORT": settings.port, "DRAIN_SECONDS": settings.drain_seconds}[name] == expected


@pytest.mark.task(1)
def test_a_bad_value_error_quotes_what_was_given() -> None:
    with pytest.raises(ConfigError, match="'soon'"):
        Settings.from_env({**BASE, "DRAIN_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="'-2'"):
        Settings.from_env({**BASE, "DRAIN_SECONDS": "-2"})


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("drain", "timeout", "grace", "fits"),
    [
        ("5", "10", "30", True),
        ("5", "10", "15.5", True),
        ("5", "10", "15", False),  # exactly the grace period: the SIGKILL races the exit
        ("20", "10", "30", False),
        ("0", "30", "30", False),
        ("29.5", "0", "30", True),
    ],
)
def test_the_shutdown_budget_must_fit_in_the_grace_period(
    drain: str, timeout: str, grace: str, fits: bool
) -> None:
    env = {
        **BASE,
        "DRAIN_SECONDS": drain,
        "SHUTDOWN_TIMEOUT_SECONDS": timeout,
        "GRACE_PERIOD_SECONDS": grace,
    }
    if fits:
        assert Settings.from_env(env).grace_seconds == float(grace)
    else:
        with pytest.raises(ConfigError) as refused:
            Settings.from_env(env)
        for name in ("DRAIN_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS", "GRACE_PERIOD_SECONDS"):
            assert name in str(refused.value)


@pytest.mark.task(1)
def test_the_default_grace_period_holds_the_default_budget_only() -> None:
    # 5 s of drain + 10 s of shutdown fit in Kubernetes' default 30 s; 25 s of shutdown does not.
    assert Settings.from_env(BASE).grace_seconds == 30.0
    with pytest.raises(ConfigError):
        Settings.from_env({**BASE, "SHUTDOWN_TIMEOUT_SECONDS": "25"})
