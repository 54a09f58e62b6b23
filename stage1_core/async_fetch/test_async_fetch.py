"""async fetch kata: a real aiohttp server on 127.0.0.1 records what the client does to it.

No test measures time: the server counts hits, connections and the peak of requests in flight,
and the injected sleep records the backoff waits instead of waiting.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .fetch import Fetcher, is_retryable, open_session

T = TypeVar("T")


class Backend:
    """A test server's state: what it saw, and the failures it injects.

    - ``/item/{n}`` answers ``{"n": n}``. It holds each request until ``hold_until`` requests
      are in flight at once (or all ``expected`` have arrived), then waits a little longer, so a
      client with no bound shows more than ``hold_until`` in flight.
    - ``/flaky`` answers 503 for the first ``flaky_failures`` hits, then ``{"ok": true}``.
    - ``/missing`` answers 404 with a JSON body; ``/slow`` answers only when the server closes.
    - ``/trickle`` sends its headers at once, then one byte of body every few milliseconds until
      the server closes: data keeps arriving, yet the response never ends.
    - ``/reverse/{n}`` answers ``{"n": n}``, but only after ``/reverse/{n+1}`` was answered.
    """

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.peers: set[Any] = set()
        self.in_flight = 0
        self.peak = 0
        self.arrived = 0
        self.hold_until = 1
        self.expected = 0
        self.flaky_failures = 0
        self.reverse_total = 0
        self.answered: dict[int, asyncio.Event] = {}
        self.changed = asyncio.Condition()
        self.closing = asyncio.Event()  # set at teardown: releases handlers that are still waiting
        self.slow_arrived = asyncio.Event()  # set once a /slow request reached its handler
        self.server: TestServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    @web.middleware
    async def track(self, request: web.Request, handler: Any) -> web.StreamResponse:
        route = request.path.split("/")[1]
        self.hits[route] += 1
        assert request.transport is not None
        self.peers.add(request.transport.get_extra_info("peername"))  # one per TCP connection
        response: web.StreamResponse = await handler(request)
        return response

    async def item(self, request: web.Request) -> web.Response:
        async with self.changed:
            self.arrived += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.changed.notify_all()
        try:
            try:
                async with asyncio.timeout(2):  # only a client with too little concurrency waits
                    async with self.changed:
                        await self.changed.wait_for(
                            lambda: (
                                self.in_flight >= self.hold_until or self.arrived >= self.expected
                            )
                        )
            except TimeoutError:
                pass
            await asyncio.sleep(0.005)  # room for requests beyond the bound to show up
            return web.json_response({"n": int(request.match_info["n"])})
        finally:
            self.in_flight -= 1

    async def flaky(self, request: web.Request) -> web.Response:
        if self.hits["flaky"] <= self.flaky_failures:
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"ok": True})

    async def missing(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "no such thing"}, status=404)

    async def until(self, event: asyncio.Event) -> None:
        """Wait for ``event``, or for the server to close."""
        waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.closing.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def slow(self, request: web.Request) -> web.Response:
        self.slow_arrived.set()
        await self.closing.wait()  # longer than any client timeout in these tests
        return web.json_response({"error": "too late"}, status=504)

    async def trickle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        while not self.closing.is_set():
            await response.write(b".")
            await asyncio.sleep(0.01)  # far shorter than any client timeout in these tests
        return response

    async def reverse(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n + 1 < self.reverse_total:
            await self.until(self.answered.setdefault(n + 1, asyncio.Event()))
        self.answered.setdefault(n, asyncio.Event()).set()
        return web.json_response({"n": n})


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    state = Backend()
    app = web.Application(middlewares=[state.track])
    app.router.add_get("/item/{n}", state.item)
    app.router.add_get("/flaky", state.flaky)
    app.router.add_get("/missing", state.missing)
    app.router.add_get("/slow", state.slow)
    app.router.add_get("/reverse/{n}", state.reverse)
    app.router.add_get("/trickle", state.trickle)
    state.server = TestServer(app, host="127.0.0.1", port=0)
    await state.server.start_server()
    try:
        yield state
    finally:
        state.closing.set()
        await state.server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The test's own shared session (open_session is tested on its own)."""
    async with aiohttp.ClientSession() as shared:
        yield shared


async def within(aw: Awaitable[T], what: str, seconds: float = 5.0) -> T:
    """Await ``aw``, but fail (instead of hanging) if it takes more than ``seconds``.

    Not a timing assertion: the right code finishes in milliseconds; this only turns a hang into
    a readable failure. It does not raise TimeoutError, so it cannot pass a timeout test.
    """
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise AssertionError(f"hung: {what}")
    return task.result()


def response_error(status: int) -> aiohttp.ClientResponseError:
    url = URL("http://127.0.0.1/x")
    info = aiohttp.RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)
    return aiohttp.ClientResponseError(info, (), status=status, message="")


class DeadlineExceeded(TimeoutError):
    """A library's own timeout error: still a TimeoutError."""


def not_json() -> aiohttp.ContentTypeError:
    url = URL("http://127.0.0.1/x")
    info = aiohttp.RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)
    return aiohttp.ContentTypeError(info, (), status=200, message="not application/json")


# open_session and is_retryable ---------------------------------------------------------------


@pytest.mark.task(1)
async def test_open_session_has_a_timeout_and_a_sized_pool(backend: Backend) -> None:
    async with open_session(timeout=0.05, connections=3) as shared:
        assert isinstance(shared.connector, aiohttp.TCPConnector)
        assert shared.connector.limit == 3, "size the connection pool like the bound"
        with pytest.raises(TimeoutError):
            # without a timeout this request waits forever: aiohttp's default is 5 minutes
            await within(shared.get(backend.url("/slow")), "no timeout on the session")
    assert shared.closed


@pytest.mark.task(1)
async def test_open_session_timeout_is_total_not_per_read(backend: Backend) -> None:
    async def read_all(shared: aiohttp.ClientSession) -> bytes:
        async with shared.get(backend.url("/trickle")) as response:
            return await response.read()

    async with open_session(timeout=0.5, connections=1) as shared:
        with pytest.raises(TimeoutError):
            await within(
                read_all(shared),
                "a server that sends a byte every 10 ms never trips a per-read timeout "
                "(sock_read): the deadline is ClientTimeout(total=...), for the whole request",
            )
    assert backend.hits["trickle"] == 1


@pytest.mark.task(2)
def test_is_retryable_only_transient_errors() -> None:
    cases: list[tuple[BaseException, bool]] = [
        (response_error(500), True),
        (response_error(503), True),
        (response_error(507), True),  # every 5xx, not a hand-picked list of codes
        (response_error(599), True),
        (aiohttp.ServerDisconnectedError(), True),
        (aiohttp.ClientConnectionError("connection refused"), True),
        (aiohttp.ClientOSError(104, "connection reset by peer"), True),
        (aiohttp.ServerTimeoutError("read timed out"), True),
        (TimeoutError(), True),
        (DeadlineExceeded(), True),  # a subclass is a TimeoutError too: isinstance, not type()
        (response_error(400), False),
        (response_error(404), False),
        (response_error(499), False),
        (ValueError("not JSON"), False),
        (not_json(), False),  # a 200 whose body is not JSON: retrying returns the same body
        (aiohttp.ClientPayloadError("truncated body"), False),
    ]
    got = [(exc, is_retryable(exc)) for exc, _ in cases]
    assert got == cases, "retry 5xx, connection errors and timeouts; never 4xx or other errors"


# get_json ------------------------------------------------------------------------------------


@pytest.mark.task(3)
async def test_get_json_returns_the_decoded_body(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    fetcher = Fetcher(session)
    assert await within(fetcher.get_json(backend.url("/item/7")), "get_json") == {"n": 7}


@pytest.mark.task(3)
async def test_get_json_raises_for_status(backend: Backend, session: aiohttp.ClientSession) -> None:
    fetcher = Fetcher(session)
    with pytest.raises(aiohttp.ClientResponseError) as info:
        await within(fetcher.get_json(backend.url("/missing")), "get_json")
    assert info.value.status == 404, (
        "a 404 page can be valid JSON too: check the status (raise_for_status) before using it"
    )


@pytest.mark.task(3)
async def test_get_json_reuses_one_connection(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    fetcher = Fetcher(session)
    for n in range(10):
        assert await within(fetcher.get_json(backend.url(f"/item/{n}")), "get_json") == {"n": n}
    assert fetcher.session is session
    assert not session.closed, "the shared session outlives each request"
    assert len(backend.peers) == 1, (
        f"10 sequential requests used {len(backend.peers)} TCP connections: use the shared "
        "session; a new ClientSession per call opens (and tears down) a new connection pool"
    )


@pytest.mark.task(3)
async def test_get_json_times_out_with_open_session(backend: Backend) -> None:
    # Half a second: long enough for the request to reach a busy server, so the hit is counted.
    async with open_session(timeout=0.5, connections=2) as shared:
        fetcher = Fetcher(shared, attempts=1)
        with pytest.raises(TimeoutError):
            await within(fetcher.get_json(backend.url("/slow")), "get_json of /slow")
    assert backend.hits["slow"] == 1


@pytest.mark.task(3)
async def test_get_json_cancelled_while_waiting_for_a_slot_takes_no_slot(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    fetcher = Fetcher(session, limit=1)
    holder = asyncio.create_task(fetcher.get_json(backend.url("/slow")))  # keeps the only slot
    waiter: asyncio.Task[Any] | None = None
    try:
        await within(backend.slow_arrived.wait(), "the first request reaching the server")
        waiter = asyncio.create_task(fetcher.get_json(backend.url("/item/1")))
        for _ in range(5):
            await asyncio.sleep(0)  # the waiter now waits for the slot
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert fetcher._slots.locked(), (
            "a request cancelled while it waited for a slot gave back a slot it never had: "
            "now more than `limit` requests can run (hold the slot with `async with`)"
        )
        assert backend.hits["item"] == 0
    finally:
        await settle(holder, *([waiter] if waiter else []))
    assert not fetcher._slots.locked(), "a cancelled request gives its slot back"


async def settle(*tasks: asyncio.Task[Any]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# fetch: retries ------------------------------------------------------------------------------


class Waits:
    """Stands in for asyncio.sleep: notes each backoff wait and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)


def refused_url() -> str:
    """A URL on a port of 127.0.0.1 where nothing listens: every connect is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/item/1"


@pytest.mark.task(4)
async def test_fetch_retries_503_with_backoff_then_succeeds(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    backend.flaky_failures = 2
    waits = Waits()

    fetcher = Fetcher(session, attempts=4, base_delay=0.1, factor=2.0, sleep=waits.sleep)
    assert await within(fetcher.fetch(backend.url("/flaky")), "fetch") == {"ok": True}
    assert backend.hits["flaky"] == 3, "two 503s, then the third attempt succeeds"
    assert waits.seconds == pytest.approx([0.1, 0.2]), (
        "exponential backoff: base_delay, then *factor"
    )


@pytest.mark.task(4)
async def test_fetch_gives_up_after_attempts(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    backend.flaky_failures = 100
    waits = Waits()

    fetcher = Fetcher(
        session, attempts=5, base_delay=1.0, factor=10.0, max_delay=50.0, sleep=waits.sleep
    )
    with pytest.raises(aiohttp.ClientResponseError) as info:
        await within(fetcher.fetch(backend.url("/flaky")), "fetch")
    assert info.value.status == 503, "after the last attempt, its error propagates"
    assert backend.hits["flaky"] == 5, "attempts=5 means five requests in all"
    assert waits.seconds == pytest.approx([1.0, 10.0, 50.0, 50.0]), (
        "capped at max_delay; none after last"
    )


@pytest.mark.task(4)
async def test_fetch_caps_even_the_first_wait(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    backend.flaky_failures = 2
    waits = Waits()

    fetcher = Fetcher(session, attempts=3, base_delay=5.0, max_delay=2.0, sleep=waits.sleep)
    assert await within(fetcher.fetch(backend.url("/flaky")), "fetch") == {"ok": True}
    assert waits.seconds == pytest.approx([2.0, 2.0]), (
        "no wait is longer than max_delay, the first too"
    )


@pytest.mark.task(4)
async def test_fetch_does_not_retry_404(backend: Backend, session: aiohttp.ClientSession) -> None:
    waits = Waits()

    fetcher = Fetcher(session, attempts=3, sleep=waits.sleep)
    with pytest.raises(aiohttp.ClientResponseError):
        await within(fetcher.fetch(backend.url("/missing")), "fetch")
    assert backend.hits["missing"] == 1, "a 4xx answer will not change: exactly one request"
    assert waits.seconds == [], "no backoff for an error that is not retried"


@pytest.mark.task(4)
async def test_fetch_retries_timeouts(backend: Backend) -> None:
    waits = Waits()

    # Half a second per attempt: long enough for each request to reach a busy server.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as shared:
        fetcher = Fetcher(shared, attempts=2, base_delay=0.1, sleep=waits.sleep)
        with pytest.raises(TimeoutError):
            await within(fetcher.fetch(backend.url("/slow")), "fetch of /slow")
    assert backend.hits["slow"] == 2, "a timeout is transient: it is tried again"
    assert waits.seconds == pytest.approx([0.1])


@pytest.mark.task(4)
async def test_fetch_retries_connection_errors(session: aiohttp.ClientSession) -> None:
    waits = Waits()

    fetcher = Fetcher(session, attempts=3, base_delay=0.1, sleep=waits.sleep)
    with pytest.raises(aiohttp.ClientConnectionError):
        await within(fetcher.fetch(refused_url()), "fetch")
    assert waits.seconds == pytest.approx([0.1, 0.2]), "connection refused is retried, with backoff"


@pytest.mark.task(4)
async def test_fetch_counts_many_attempts_by_value(session: aiohttp.ClientSession) -> None:
    waits = Waits()

    fetcher = Fetcher(session, attempts=300, base_delay=0.0, sleep=waits.sleep)
    with pytest.raises(aiohttp.ClientConnectionError):
        await within(fetcher.fetch(refused_url()), "fetch")
    assert len(waits.seconds) == 299, (
        "300 attempts, 299 waits, then the last error: compare the attempt number with ==, not "
        "`is` (CPython shares int objects only up to 256)"
    )


@pytest.mark.task(4)
async def test_fetch_backs_off_without_holding_a_slot(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    backend.flaky_failures = 1
    item_done = asyncio.Event()

    async def wait_for_the_item(seconds: float) -> None:
        await item_done.wait()  # the backoff ends only once /item/1 has been fetched

    async def item_then_flag() -> Any:
        try:
            return await fetcher.fetch(backend.url("/item/1"))
        finally:
            item_done.set()

    fetcher = Fetcher(session, limit=1, sleep=wait_for_the_item)
    got = await within(
        asyncio.gather(fetcher.fetch(backend.url("/flaky")), item_then_flag()),
        "with limit=1, a request waiting out its backoff must not keep the only slot",
    )
    assert list(got) == [{"ok": True}, {"n": 1}]


# fetch_all -----------------------------------------------------------------------------------


@pytest.mark.task(5)
async def test_fetch_all_peak_in_flight_equals_limit(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    backend.hold_until, backend.expected = 3, 12
    fetcher = Fetcher(session, limit=3)
    urls = [backend.url(f"/item/{n}") for n in range(12)]
    got = await within(fetcher.fetch_all(urls), "fetch_all")
    assert got == [{"n": n} for n in range(12)], "results follow the order of the urls"
    assert backend.peak == 3, (
        f"the server saw {backend.peak} requests in flight at once: fetch concurrently, "
        "but never more than `limit` at a time"
    )
    assert len(backend.peers) <= 3, "the shared pool reuses its connections"


@pytest.mark.task(5)
async def test_fetch_all_takes_any_iterable(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    backend.hold_until, backend.expected = 2, 4
    fetcher = Fetcher(session, limit=2)
    urls = (backend.url(f"/item/{n}") for n in [3, 1, 3, 2])  # a generator, with a repeat
    got = await within(fetcher.fetch_all(urls), "fetch_all of a generator")
    assert got == [{"n": 3}, {"n": 1}, {"n": 3}, {"n": 2}], "one result per url, in order"
    assert backend.hits["item"] == 4, "every url is fetched, a repeated one too"
    assert await within(fetcher.fetch_all([]), "fetch_all([])") == []


@pytest.mark.task(5)
async def test_fetch_all_keeps_input_order(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    backend.reverse_total = 5
    fetcher = Fetcher(session, limit=5)
    urls = [backend.url(f"/reverse/{n}") for n in range(5)]
    got = await within(fetcher.fetch_all(urls), "fetch_all must run the requests concurrently")
    assert got == [{"n": n} for n in range(5)], (
        "the server answered the last url first: collect results by position, not by arrival"
    )


@pytest.mark.task(5)
async def test_fetch_all_failure_cancels_the_rest(
    backend: Backend, session: aiohttp.ClientSession
) -> None:
    fetcher = Fetcher(session, limit=2, attempts=1)
    urls = [backend.url("/slow"), backend.url("/missing")]  # the session has no timeout
    with pytest.raises(ExceptionGroup) as info:
        await within(fetcher.fetch_all(urls), "a failure must cancel the requests still running")
    statuses = [getattr(e, "status", None) for e in info.value.exceptions]
    assert statuses == [404], (
        "a TaskGroup cancels the /slow request and raises an ExceptionGroup; "
        "asyncio.gather raises the 404 alone and leaves /slow running behind your back"
    )
