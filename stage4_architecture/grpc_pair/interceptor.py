"""A server interceptor: authentication and one log line per call, for every method at once.

An aio server interceptor sees each call before any handler: ``intercept_service`` gets the
method name and the request metadata (``handler_call_details``), asks ``continuation`` for the
handler that would serve the call, and returns that handler, or another one in its place.
Only the handler's *behaviour* (the servicer method) sees the call's context and how it ends,
so an interceptor that wants the final status code wraps the behaviour (``wrap_handler``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc

LOGGER = logging.getLogger("katas.grpc_pair")
# Health checks and reflection answer without a token: load balancers and tools call them.
PUBLIC = ("/grpc.health.v1.Health/", "/grpc.reflection.")

Ctx = grpc.aio.ServicerContext[Any, Any]
Unary = Callable[[Any, Ctx], Awaitable[Any]]  # returns one response (request or request stream)
Streaming = Callable[[Any, Ctx], AsyncIterator[Any]]  # an async generator of responses
Ending = BaseException | None  # how a behaviour ended: raised, or returned (None)


def wrap_handler(
    handler: grpc.RpcMethodHandler[Any, Any],
    unary: Callable[[Unary], Unary],
    streaming: Callable[[Streaming], Streaming],
) -> grpc.RpcMethodHandler[Any, Any]:
    """The same handler with its behaviour wrapped (given plumbing).

    ``unary`` wraps a behaviour that returns its one response (unary-unary, stream-unary);
    ``streaming`` one that yields its responses (unary-stream, stream-stream). The request side
    does not matter to a wrapper: it passes the request, or the request iterator, along.
    """
    h: Any = handler  # the aio behaviours are coroutines; grpc's stubs type them as plain calls
    codec = {
        "request_deserializer": h.request_deserializer,
        "response_serializer": h.response_serializer,
    }
    if h.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(unary(h.unary_unary), **codec)
    if h.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(unary(h.stream_unary), **codec)
    if h.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(streaming(h.unary_stream), **codec)
    return grpc.stream_stream_rpc_method_handler(streaming(h.stream_stream), **codec)


def status_of(context: Ctx, error: Ending) -> grpc.StatusCode:
    """The status a call ended with, seen from inside the server."""
    # kata: begin OK (or the code set) when it returned; CANCELLED, or the code set (UNKNOWN if none) when it raised
    code: grpc.StatusCode | None = context.code()  # None until a code is set
    if isinstance(error, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    if code is not None:  # an abort sets one; grpc.aio also sends a code set before a crash
        return code
    return grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN
    # kata: end


class AuthLoggingInterceptor(grpc.aio.ServerInterceptor):
    """UNAUTHENTICATED without ``authorization: Bearer <token>``; one log line per call."""

    def __init__(self, tokens: Iterable[str], logger: logging.Logger = LOGGER) -> None:
        self.tokens = tuple(tokens)
        self.logger = logger

    def authorized(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> bool:
        """Does the metadata carry ``authorization: Bearer <one of the tokens>``?"""
        # kata: begin find the authorization entry, strip "Bearer ", compare with hmac.compare_digest
        for key, value in metadata or ():
            if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
                sent = value.removeprefix("Bearer ").encode()
                return any(hmac.compare_digest(sent, token.encode()) for token in self.tokens)
        return False
        # kata: end

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        # kata: begin wrap the handler: abort UNAUTHENTICATED unless public or authorized; log "<method> <CODE>" once as the call ends
        handler = await continuation(handler_call_details)
        if handler is None:  # no such method: gRPC answers UNIMPLEMENTED
            return None
        method = handler_call_details.method
        allowed = method.startswith(PUBLIC) or self.authorized(
            handler_call_details.invocation_metadata
        )

        async def admit(context: Ctx) -> None:
            if not allowed:
                denied = "send metadata 'authorization: Bearer <token>' with a valid token"
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, denied)

        def log(context: Ctx, error: Ending) -> None:
            self.logger.info("%s %s", method, status_of(context, error).name)

        def unary(behaviour: Unary) -> Unary:
            async def run(request: Any, context: Ctx) -> Any:
                failure: BaseException | None = None
                try:
                    await admit(context)
                    return await behaviour(request, context)
                except BaseException as exc:
                    failure = exc
                    raise
                finally:
                    log(context, failure)

            return run

        def streaming(behaviour: Streaming) -> Streaming:
            async def run(request: Any, context: Ctx) -> AsyncIterator[Any]:
                failure: BaseException | None = None
                try:
                    await admit(context)
                    async for response in behaviour(request, context):
                        yield response
                except BaseException as exc:
                    failure = exc
                    raise
                finally:
                    log(context, failure)

            return run

        return wrap_handler(handler, unary, streaming)
        # kata: end
