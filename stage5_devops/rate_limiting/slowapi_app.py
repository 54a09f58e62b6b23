"""The same limits with slowapi: decorators over the `limits` library, counters in Redis.

slowapi's quirks, all visible here: a limited endpoint must take ``request: Request`` (the
decorator finds it by name), and with ``headers_enabled`` one that returns a plain dict must take
``response: Response`` too, for the decorator to write its headers on. Its headers are the older
``X-RateLimit-*`` ones, with Reset as a Unix timestamp, and it sends ``Retry-After`` on every
limited response, the 200s included.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIMiddleware

from .app import Settings
from .keys import ForwardedForError, rate_key

SEARCH_LIMIT = "3/minute"
DEFAULT_LIMIT = "5/minute"  # every route without a limit of its own, via SlowAPIMiddleware


async def search(request: Request, response: Response, q: str = "") -> dict[str, str]:
    return {"query": q}


async def ping(request: Request) -> dict[str, str]:
    return {"pong": "yes"}


async def health(request: Request) -> dict[str, str]:
    return {"status": "ok"}


def build_limiter(settings: Settings) -> Limiter:
    """A Limiter keyed like the hand-written app, counting in Redis under ``settings.prefix``."""

    def key(request: Request) -> str:
        try:
            return rate_key(request, settings.policy)
        except ForwardedForError:
            return "ip:invalid-forwarded-for"  # slowapi has no way to answer 400 from here

    # kata: begin a Limiter on Redis: this key function, headers on, the default limit, a prefix
    return Limiter(
        key_func=key,
        storage_uri=settings.redis_url,
        key_prefix=settings.prefix,
        headers_enabled=True,
        default_limits=[DEFAULT_LIMIT],
        strategy="moving-window",
    )
    # kata: end


def create_slowapi_app(settings: Settings) -> FastAPI:
    limiter = build_limiter(settings)
    app = FastAPI(title="rate limited by slowapi")
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
    app.add_middleware(SlowAPIMiddleware)
    # kata: begin route /search limited to SEARCH_LIMIT, /ping under the default, /health exempt
    app.get("/search")(limiter.limit(SEARCH_LIMIT)(search))
    app.get("/ping")(ping)
    app.get("/health")(limiter.exempt(health))  # type: ignore[no-untyped-call]
    # kata: end
    return app
