"""A chat room over WebSocket: authenticate on connect, broadcast, survive slow clients.

Each member has a bounded queue and its own writer task. Broadcasting only puts events in
queues — it never awaits a socket — so one client that stops reading cannot stall the room:
when its queue is full, that client is dropped (closed with 1013, "try again later").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.status import WS_1008_POLICY_VIOLATION, WS_1013_TRY_AGAIN_LATER
from starlette.websockets import WebSocket, WebSocketDisconnect

Event = dict[str, str]


@dataclass(eq=False)
class Member:
    """One connection in the room; ``eq=False`` keeps identity hashing, for ``room.members``."""

    name: str
    websocket: WebSocket
    queue: asyncio.Queue[Event]
    writer: asyncio.Task[None] | None = None
    closer: asyncio.Task[None] | None = None


def parse_text(raw: object) -> str | None:
    """The ``text`` of a ``{"text": "..."}`` JSON message, or None if it is not one."""
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
        text = data.get("text") if isinstance(data, dict) else None
        if isinstance(text, str):
            text.encode()  # a lone surrogate ("\ud800") parses, but no one could be sent it
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError; [[[[... recurses
        return None
    return text if isinstance(text, str) and text else None


class ChatRoom:
    def __init__(self, tokens: Mapping[str, str], *, max_queue: int = 32) -> None:
        self.tokens = tokens
        self.max_queue = max_queue
        # An insertion-ordered set (dict keys): events are queued in join order.
        self.members: dict[Member, None] = {}

    def names(self) -> list[str]:
        return sorted(member.name for member in self.members)

    async def handle(self, websocket: WebSocket) -> None:
        """The WebSocket endpoint: one call per connection, for its whole life."""
        name = await self.authenticate(websocket)
        if name is None:
            return
        member = Member(name, websocket, asyncio.Queue(maxsize=self.max_queue))
        member.writer = asyncio.create_task(self.write(member), name=f"chat-writer:{name}")
        self.members[member] = None
        self.broadcast({"type": "join", "name": name})
        try:
            await self.read(member)
        finally:
            await self.leave(member)

    async def read(self, member: Member) -> None:
        """Turn each incoming ``{"text": ...}`` into a broadcast until the client disconnects."""
        while True:
            message = await member.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if member not in self.members:
                continue  # dropped and being closed: its messages no longer count
            text = parse_text(message.get("text"))
            if text is None:
                error = {"type": "error", "error": 'expected JSON {"text": "..."}'}
                self.broadcast(error, to=[member])
            else:
                self.broadcast({"type": "message", "sender": member.name, "text": text})

    async def authenticate(self, websocket: WebSocket) -> str | None:
        """Return the member name for ``?token=``; otherwise close with 1008 and return None."""
        # kata: begin accept the handshake, then look up the "token" query param; unknown -> close(code=1008, reason="invalid token") and return None
        await websocket.accept()
        name = self.tokens.get(websocket.query_params.get("token", ""))
        if name is None:
            await websocket.close(code=WS_1008_POLICY_VIOLATION, reason="invalid token")
        return name
        # kata: end

    def broadcast(self, event: Event, to: Collection[Member] | None = None) -> None:
        """Queue ``event`` for every member (or just ``to``) without waiting for any socket."""
        # kata: begin put_nowait the event on each target's queue (iterate over a copy); after the loop, drop every member whose queue was full with 1013, "too slow"
        overflowing = []
        for member in list(self.members if to is None else to):
            try:
                member.queue.put_nowait(event)
            except asyncio.QueueFull:
                overflowing.append(member)
        # Dropping announces a leave, itself a broadcast: only once this event reached everyone,
        # or members would see the event and the leave in different orders.
        for member in overflowing:
            self.drop(member, WS_1013_TRY_AGAIN_LATER, "too slow")
        # kata: end

    def drop(self, member: Member, code: int, reason: str) -> None:
        """Remove a member now, close its connection in the background, tell the others."""
        # kata: begin once only: remove from members, cancel its writer, start a task closing the socket (code, reason) into member.closer, broadcast {"type": "leave", "name", "reason"}
        if member not in self.members:
            return
        del self.members[member]
        if member.writer is not None:
            member.writer.cancel()  # it may be stuck in send(): that is why we are here

        async def close() -> None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await member.websocket.close(code=code, reason=reason)

        member.closer = asyncio.create_task(close(), name=f"chat-closer:{member.name}")
        self.broadcast({"type": "leave", "name": member.name, "reason": reason})
        # kata: end

    async def write(self, member: Member) -> None:
        """The member's writer task: send its queued events in order, one at a time."""
        # kata: begin loop: await member.queue.get() and send_json it; return quietly on WebSocketDisconnect (the reader cleans up)
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                event = await member.queue.get()
                await member.websocket.send_json(event)
        # kata: end

    async def leave(self, member: Member) -> None:
        """Clean up after ``read`` returned: no member, no task left behind, one leave notice."""
        # kata: begin remove the member, cancel and await its writer and closer tasks, and broadcast a "disconnected" leave only if it was still a member
        was_member = member in self.members
        self.members.pop(member, None)
        tasks = [task for task in (member.writer, member.closer) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if was_member:
            self.broadcast({"type": "leave", "name": member.name, "reason": "disconnected"})
        # kata: end


def create_app(room: ChatRoom) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", room.handle)])
