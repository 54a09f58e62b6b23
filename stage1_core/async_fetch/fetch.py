"""The article's ``fetch_data(url)``, made fit for many requests.

One shared session, a timeout, a bound on requests in flight, and retries with backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp

Sleep = Callable[[float], Awaitable[None]]


def open_session(*, timeout: float, connections: int) -> aiohttp.ClientSession:
    """Open the ONE session an application shares: a total timeout per request, a sized pool.

    Call it inside a running event loop, and close the session when the application stops
    (``async with open_session(...) as session:``).
    """
    # kata: begin a ClientSession with ClientTimeout(total=timeout) and a TCPConnector(limit=...)
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout),
        connector=aiohttp.TCPConnector(limit=connections),
    )
    # kata: end


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed GET deserves another attempt.

    Yes for a 5xx response, a connection error or a timeout: the server or the network may do
    better next time. No for a 4xx response (the request itself is wrong, and asking again gives
    the same answer) and no for anything else, such as a body that is not JSON.
    """
    # kata: begin True for 5xx ClientResponseError, ClientConnectionError and TimeoutError only
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.status >= 500
    return isinstance(exc, aiohttp.ClientConnectionError | TimeoutError)
    # kata: end


class Fetcher:
    """GET JSON from many URLs over one shared session.

    At most ``limit`` requests are in flight at once. A failed attempt that ``is_retryable`` is
    tried again, up to ``attempts`` in all. Between attempts it waits ``base_delay``, then
    ``base_delay * factor``, and so on, never more than ``max_delay``. ``sleep`` is injectable so
    tests record the waits instead of waiting.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        limit: int = 10,
        attempts: int = 3,
        base_delay: float = 0.1,
        factor: float = 2.0,
        max_delay: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or attempts < 1:
            raise ValueError(f"Fetcher(limit={limit}, attempts={attempts}): both must be >= 1")
        self.session = session
        self.attempts = attempts
        self.base_delay, self.factor, self.max_delay = base_delay, factor, max_delay
        self._sleep = sleep
        self._slots = asyncio.Semaphore(limit)

    async def get_json(self, url: str) -> Any:
        """One attempt: GET ``url`` while holding one of the ``limit`` slots; 4xx/5xx raise."""
        # kata: begin hold a slot of self._slots, GET with self.session, raise_for_status, return JSON
        async with self._slots, self.session.get(url) as response:
            response.raise_for_status()
            return await response.json()
        # kata: end

    async def fetch(self, url: str) -> Any:
        """``get_json`` with retries and exponential backoff; re-raise the last error."""
        # kata: begin retry get_json while is_retryable, awaiting self._sleep(delay) with growing delay
        delay = self.base_delay
        for attempt in range(1, self.attempts + 1):
            try:
                return await self.get_json(url)
            except Exception as exc:
                if attempt == self.attempts or not is_retryable(exc):
                    raise
            await self._sleep(min(delay, self.max_delay))  # not holding a slot while we wait
            delay *= self.factor
        raise AssertionError("unreachable: the loop returns or raises")
        # kata: end

    async def fetch_all(self, urls: Iterable[str]) -> list[Any]:
        """``fetch`` every URL concurrently (the bound still holds); results in input order."""
        # kata: begin fetch each url as a task of one asyncio.TaskGroup; return results in input order
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.fetch(url)) for url in urls]
        return [task.result() for task in tasks]
        # kata: end
