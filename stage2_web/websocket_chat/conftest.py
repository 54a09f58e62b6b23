"""Fixtures of the websocket_chat kata: a real uvicorn server on loopback and real clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from .chat import ChatRoom, create_app

TOKENS = {"alice-token": "alice", "bob-token": "bob", "carol-token": "carol"}
MAX_QUEUE = 8
SMALL_BUFFER = (
    4096  # bytes: small kernel socket buffers, so a client that stops reading fills them fast
)


@dataclass
class ChatServer:
    room: ChatRoom
    port: int
    baseline: set[asyncio.Task[object]]

    def url(self, token: str | None) -> str:
        query = "" if token is None else f"?token={token}"
        return f"ws://127.0.0.1:{self.port}/ws{query}"

    async def leftover_tasks(self, timeout: float = 2.0) -> list[str]:
        """Wait until every task started since the server came up has ended; name the rest."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            extra = asyncio.all_tasks() - self.baseline - {asyncio.current_task()}
            if not extra or loop.time() > deadline:
                return sorted(task.get_name() for task in extra)
            await asyncio.sleep(0.01)


Connect = Callable[..., Awaitable[ClientConnection]]


@pytest.fixture
async def chat_server() -> AsyncIterator[ChatServer]:
    room = ChatRoom(TOKENS, max_queue=MAX_QUEUE)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)  # inherited on accept
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(room),
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        lifespan="off",
        log_config=None,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]), name="uvicorn")
    try:
        async with asyncio.timeout(5):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.01)
        yield ChatServer(room, listener.getsockname()[1], asyncio.all_tasks())
    finally:
        server.should_exit = True
        async with asyncio.timeout(5):
            await serving
        listener.close()


@pytest.fixture
async def connect(chat_server: ChatServer) -> AsyncIterator[Connect]:
    """``await connect(token, rcvbuf=None, max_queue=16)``: a real client, closed at teardown."""
    async with contextlib.AsyncExitStack() as clients:

        async def open_client(
            token: str | None, *, rcvbuf: int | None = None, max_queue: int = 16
        ) -> ClientConnection:
            sock = None
            if rcvbuf is not None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                sock.setblocking(False)
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", chat_server.port))
            client = await ws_connect(
                chat_server.url(token),
                sock=sock,
                compression=None,
                ping_interval=None,
                max_queue=max_queue,
                open_timeout=2,
                close_timeout=1,
            )
            clients.push_async_callback(client.close)
            return client

        yield open_client
