"""Decorators kata: each test applies the decorator inside the test, so one gap fails one test."""

from __future__ import annotations

import pytest

from .decorators import count_calls, memoize, retry, timed


@pytest.mark.task(1)
def test_count_calls_counts_and_keeps_metadata() -> None:
    @count_calls
    def greet(name: str) -> str:
        """Say hello."""
        return f"hello {name}"

    assert greet("ada") == "hello ada", "the wrapper must return what the function returns"
    greet("bob")
    assert greet.calls == 2, "wrapper.calls counts every call"  # type: ignore[attr-defined]
    assert greet.__name__ == "greet", "functools.wraps keeps __name__ for logs and tracebacks"
    assert greet.__doc__ == "Say hello.", "functools.wraps keeps the docstring"
    assert greet.__wrapped__ is not None, "functools.wraps sets __wrapped__ for introspection"  # type: ignore[attr-defined]


@pytest.mark.task(1)
def test_count_calls_counts_calls_that_raise() -> None:
    @count_calls
    def fail() -> None:
        raise ValueError("boom")

    for _ in range(2):
        with pytest.raises(ValueError):
            fail()
    assert fail.calls == 2, "a call that raises is a call too: count before calling"  # type: ignore[attr-defined]


class Flaky:
    """Fails ``failures`` times with ``error``, then returns 'ok'."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures, self.error, self.attempts = failures, error, 0

    def __call__(self) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error(f"attempt {self.attempts} failed")
        return "ok"


@pytest.mark.task(2)
def test_retry_succeeds_after_failures_with_growing_waits() -> None:
    waits: list[float] = []
    flaky = Flaky(failures=3)
    call = retry(5, exceptions=(ConnectionError,), delay=0.1, backoff=2, sleep=waits.append)(flaky)
    assert call() == "ok"
    assert flaky.attempts == 4, "three failures then one success: four attempts"
    assert waits == pytest.approx([0.1, 0.2, 0.4]), "waits grow: delay, delay*backoff, ..."


@pytest.mark.task(2)
def test_retry_gives_up_after_times_attempts() -> None:
    waits: list[float] = []
    flaky = Flaky(failures=10)
    call = retry(3, exceptions=(ConnectionError,), sleep=waits.append)(flaky)
    with pytest.raises(ConnectionError, match="attempt 3 failed"):
        call()
    assert flaky.attempts == 3, "times=3 means three attempts in all, not three retries"
    assert len(waits) == 2, "no sleep after the last attempt"


@pytest.mark.task(2)
def test_retry_does_not_retry_unlisted_errors() -> None:
    flaky = Flaky(failures=1, error=ValueError)
    call = retry(3, exceptions=(ConnectionError,), sleep=lambda _: None)(flaky)
    with pytest.raises(ValueError):
        call()
    assert flaky.attempts == 1, "a bug (ValueError) is not a transient error: fail at once"


@pytest.mark.task(2)
def test_retry_starts_afresh_on_every_call() -> None:
    waits: list[float] = []
    outcomes = iter(["fail", "fail", "ok", "fail", "fail", "ok"])  # two calls, same pattern

    def connect() -> str:
        if next(outcomes) == "fail":
            raise ConnectionError("refused")
        return "ok"

    call = retry(3, exceptions=(ConnectionError,), delay=0.1, backoff=2, sleep=waits.append)(
        connect
    )
    assert (call(), call()) == ("ok", "ok"), (
        "each call gets `times` attempts of its own: keep the attempt count inside the wrapper"
    )
    assert waits == pytest.approx([0.1, 0.2, 0.1, 0.2]), (
        "the backoff restarts at `delay` on every call, not where the previous call left off"
    )


@pytest.mark.task(2)
def test_retry_keeps_metadata() -> None:
    @retry(2, sleep=lambda _: None)
    def fetch() -> int:
        """Fetch a number."""
        return 42

    assert (fetch(), fetch.__name__, fetch.__doc__) == (42, "fetch", "Fetch a number.")


@pytest.mark.task(3)
def test_memoize_caches_by_arguments() -> None:
    computed: list[int] = []

    @memoize(maxsize=2)
    def square(n: int) -> int:
        computed.append(n)
        return n * n

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert computed == [3, 4], "the second square(3) comes from the cache"
    square(5)  # evicts 3: maxsize=2 keeps the two most recent
    square(3)
    assert computed == [3, 4, 5, 3], "maxsize bounds the cache (least recently used goes first)"
    info = square.cache_info()  # type: ignore[attr-defined]
    assert (info.hits, info.misses, info.maxsize) == (1, 4, 2)
    square.cache_clear()  # type: ignore[attr-defined]
    assert square.cache_info().currsize == 0  # type: ignore[attr-defined]


@pytest.mark.task(4)
def test_timed_reports_every_call_even_on_error() -> None:
    ticks = iter([10.0, 10.5, 20.0, 23.0])
    records: list[tuple[str, float]] = []

    @timed(lambda name, seconds: records.append((name, seconds)), clock=lambda: next(ticks))
    def work(fail: bool) -> str:
        if fail:
            raise RuntimeError("boom")
        return "done"

    assert work(False) == "done"
    with pytest.raises(RuntimeError):
        work(True)
    qualname = "test_timed_reports_every_call_even_on_error.<locals>.work"
    assert records == [(qualname, 0.5), (qualname, 3.0)], "a failing call is timed too (finally)"
    assert (work.__name__, work.__qualname__) == ("work", qualname), (
        "functools.wraps: the timed function keeps its name for logs and introspection"
    )


@pytest.mark.task(1)
def test_count_calls_passes_keyword_arguments_and_counts_per_function() -> None:
    @count_calls
    def greet(name: str, *, punctuation: str = ".") -> str:
        return f"hello {name}{punctuation}"

    @count_calls
    def other() -> None:
        pass

    assert greet(name="ada", punctuation="!") == "hello ada!", "pass **kwargs through as well"
    other()
    assert (greet.calls, other.calls) == (1, 1), (  # type: ignore[attr-defined]
        "each decorated function has a counter of its own"
    )


@pytest.mark.task(2)
def test_retry_passes_arguments_and_returns_falsy_results() -> None:
    attempts: list[tuple[int, str]] = []

    @retry(3, exceptions=(ConnectionError,), sleep=lambda _: None)
    def lookup(key: int, *, default: str = "") -> str | None:
        attempts.append((key, default))
        if len(attempts) == 1:
            raise ConnectionError("refused")
        return None

    assert lookup(7, default="x") is None, "a falsy result is a result: return it, don't retry"
    assert attempts == [(7, "x"), (7, "x")], "every attempt gets the same *args and **kwargs"


@pytest.mark.task(2)
def test_retry_retries_subclasses_of_listed_errors_and_nothing_beyond() -> None:
    flaky = Flaky(failures=2, error=ConnectionRefusedError)  # a ConnectionError, itself an OSError
    call = retry(3, exceptions=(OSError,), sleep=lambda _: None)(flaky)
    assert call() == "ok", "except (OSError,) catches its subclasses: isinstance, not type() is"
    assert flaky.attempts == 3

    attempts: list[int] = []

    @retry(3, sleep=lambda _: None)  # the default is (Exception,)
    def interrupted() -> None:
        attempts.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert attempts == [1], "not an Exception, so not listed by default: no bare except"


@pytest.mark.task(2)
def test_retry_once_means_one_attempt_and_no_sleep() -> None:
    waits: list[float] = []
    flaky = Flaky(failures=1)
    call = retry(1, delay=5.0, sleep=waits.append)(flaky)
    with pytest.raises(ConnectionError, match="attempt 1 failed"):
        call()
    assert (flaky.attempts, waits) == (1, []), "times=1: a single attempt, nothing to wait for"


@pytest.mark.task(2)
def test_retry_counts_many_attempts_by_value() -> None:
    flaky = Flaky(failures=1_000)
    call = retry(300, sleep=lambda _: None)(flaky)
    with pytest.raises(ConnectionError, match="attempt 300 failed"):
        call()
    assert flaky.attempts == 300, "compare counts with ==, never `is` (only small ints are cached)"


@pytest.mark.task(3)
def test_memoize_evicts_the_least_recently_used_not_the_oldest() -> None:
    computed: list[int] = []

    @memoize(maxsize=2)
    def square(n: int) -> int:
        computed.append(n)
        return n * n

    square(3)
    square(4)
    square(3)  # a hit: 3 is now the most recently used, 4 the least
    square(5)  # evicts 4, not 3 (first in, first out would evict 3)
    square(3)
    assert computed == [3, 4, 5], "a hit refreshes an entry: least recently USED goes first"
    square(4)
    assert computed == [3, 4, 5, 4], "4 was evicted"


@pytest.mark.task(3)
def test_memoize_keys_on_keyword_arguments_and_is_unbounded_by_default() -> None:
    computed: list[tuple[int, int]] = []

    @memoize()
    def power(base: int, exp: int = 2) -> int:
        computed.append((base, exp))
        return int(base**exp)

    assert (power(2, exp=3), power(2, exp=5), power(2)) == (8, 32, 4), (
        "keyword arguments are part of the key"
    )
    for n in range(300):
        power(n)
    computed.clear()
    for n in range(300):
        power(n)
    assert computed == [], "memoize() with no maxsize keeps every result"
    assert power.cache_info().maxsize is None  # type: ignore[attr-defined]


@pytest.mark.task(4)
def test_timed_passes_arguments_through() -> None:
    records: list[tuple[str, float]] = []
    ticks = iter([0.5, 1.75])  # a clock may start near 0: the call took 1.25 s

    @timed(lambda name, seconds: records.append((name, seconds)), clock=lambda: next(ticks))
    def add(a: int, *, b: int) -> int:
        return a + b

    assert add(1, b=2) == 3, "pass *args and **kwargs through, return the result"
    assert records == [("test_timed_passes_arguments_through.<locals>.add", 1.25)]
