"""Decorators: wrapping functions without losing who they are."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def count_calls(func: Callable[P, R]) -> Callable[P, R]:
    """A decorator without arguments: count calls in ``wrapper.calls``, keep the metadata."""

    # kata: begin wrap func so each call increments wrapper.calls; keep name and docstring (functools.wraps)
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        wrapper.calls += 1  # type: ignore[attr-defined]
        return func(*args, **kwargs)

    wrapper.calls = 0  # type: ignore[attr-defined]
    return wrapper
    # kata: end


def retry(
    times: int,
    *,
    exceptions: tuple[type[BaseException], ...] = (Exception,),
    delay: float = 0.0,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator with arguments: retry on ``exceptions`` up to ``times`` attempts in all.

    The waits between attempts grow geometrically: delay, delay*backoff, delay*backoff**2 ...
    Exceptions not listed propagate at once; after the last attempt the last error propagates.
    """
    if times < 1:
        raise ValueError(f"retry(times={times}): times must be at least 1")

    # kata: begin return a decorator whose wrapper retries, sleeping delay*backoff**k between attempts
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            wait = delay
            for attempt in range(1, times + 1):
                try:
                    return func(*args, **kwargs)
                except exceptions:
                    if attempt == times:
                        raise
                    sleep(wait)
                    wait *= backoff
            raise AssertionError("unreachable: the loop returns or raises")

        return wrapper

    return decorate
    # kata: end


def memoize(maxsize: int | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache results by arguments; expose ``cache_clear()`` and ``cache_info()`` like lru_cache.

    The standard library already does this well, so the lesson is to use it, not rewrite it.
    """

    # kata: begin return functools.lru_cache with maxsize, so the wrapper keeps cache_info/cache_clear
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        return functools.lru_cache(maxsize=maxsize)(func)  # type: ignore[return-value]

    return decorate
    # kata: end


def timed(
    record: Callable[[str, float], None], clock: Callable[[], float] = time.perf_counter
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Report ``(qualified name, seconds)`` to ``record`` after every call, even one that raises."""

    # kata: begin measure each call with clock() and report it in a finally block
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = clock()
            try:
                return func(*args, **kwargs)
            finally:
                record(func.__qualname__, clock() - started)

        return wrapper

    return decorate
    # kata: end
