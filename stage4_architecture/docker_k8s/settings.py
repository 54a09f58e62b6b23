"""The service's configuration, read once from the environment (a ConfigMap and a Secret in k8s).

A pod that cannot shut down cleanly inside its grace period is a misconfiguration, not bad luck:
``from_env`` refuses it at startup, naming the variables, so the mistake shows as a crash-looping
pod with a readable log instead of requests cut off at every rollout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Kubernetes' own default for terminationGracePeriodSeconds.
DEFAULT_GRACE_SECONDS = 30.0


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and what it must be."""


@dataclass(frozen=True)
class Settings:
    api_token: str
    greeting: str = "hello"
    host: str = "127.0.0.1"
    port: int = 8000
    warmup_seconds: float = 0.0
    drain_seconds: float = 5.0
    shutdown_timeout: int = 10
    grace_seconds: float = DEFAULT_GRACE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the settings; ConfigError for a missing token, a bad number or a budget that the
        grace period cannot hold (drain + shutdown timeout must stay below it)."""
        # kata: begin read and check the settings: token, port, durations, the shutdown budget
        token = env.get("API_TOKEN", "")
        if not token:
            raise ConfigError("API_TOKEN is empty or unset: mount it from the Secret")
        port = _number(env, "PORT", 8000)
        if port != int(port) or not 1 <= port <= 65535:
            raise ConfigError(f"PORT must be a whole number from 1 to 65535, not {port:g}")
        timeout = _number(env, "SHUTDOWN_TIMEOUT_SECONDS", 10)
        if timeout != int(timeout):
            raise ConfigError(f"SHUTDOWN_TIMEOUT_SECONDS must be whole seconds, not {timeout:g}")
        settings = cls(
            api_token=token,
            greeting=env.get("GREETING", "hello"),
            host=env.get("HOST", "127.0.0.1"),
            port=int(port),
            warmup_seconds=_number(env, "WARMUP_SECONDS", 0.0),
            drain_seconds=_number(env, "DRAIN_SECONDS", 5.0),
            shutdown_timeout=int(timeout),
            grace_seconds=_number(env, "GRACE_PERIOD_SECONDS", DEFAULT_GRACE_SECONDS),
        )
        budget = settings.drain_seconds + settings.shutdown_timeout
        if budget >= settings.grace_seconds:
            raise ConfigError(
                f"DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS ({budget:g}) must be less than "
                f"GRACE_PERIOD_SECONDS ({settings.grace_seconds:g}), or the pod is killed "
                "before it has finished its requests"
            )
        return settings
        # kata: end


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    """A finite, non-negative number from ``env[name]``, or ``default`` when it is unset."""
    # kata: begin parse one number: finite, not negative; the error names the variable
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number of at least 0, not {raw!r}")
    return value
    # kata: end
