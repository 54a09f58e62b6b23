"""The chat room, end to end: a real uvicorn server on 127.0.0.1 and real websockets clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, cast

import pytest
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .chat import ChatRoom, Event, Member
from .conftest import TOKENS, ChatServer, Connect

TIMEOUT = 2.0  # seconds; a wrong solution fails with a message instead of hanging


async def next_event(client: ClientConnection) -> dict[str, Any]:
    try:
        async with asyncio.timeout(TIMEOUT):
            event: dict[str, Any] = json.loads(await client.recv())
    except TimeoutError:
        pytest.fail(f"no event arrived within {TIMEOUT}s: a member stopped receiving")
    return event


async def join(connect: Connect, token: str, *others: ClientConnection) -> ClientConnection:
    """Connect and wait for the join notice, on the new client and on those already in."""
    try:
        client = await connect(token)
    except InvalidStatus as exc:
        pytest.fail(
            f"the handshake failed with HTTP {exc.response.status_code}: "
            "the endpoint raised or closed before accept() (see the server log)"
        )
    name = token.removesuffix("-token")
    for member in (client, *others):
        assert await next_event(member) == {"type": "join", "name": name}, (
            "everyone in the room, the newcomer included, hears who joined"
        )
    return client


def say(text: str) -> str:
    return json.dumps({"text": text})


def chat(sender: str, text: str) -> dict[str, str]:
    return {"type": "message", "sender": sender, "text": text}


@pytest.mark.task(2)
async def test_members_exchange_messages(chat_server: ChatServer, connect: Connect) -> None:
    alice = await join(connect, "alice-token")
    bob = await join(connect, "bob-token", alice)
    await alice.send(say("hi bob"))
    assert await next_event(bob) == chat("alice", "hi bob"), "a message reaches every member"
    assert await next_event(alice) == chat("alice", "hi bob"), "the sender gets it too: one order"
    await bob.send(say("hi alice"))
    assert await next_event(alice) == chat("bob", "hi alice")
    assert await next_event(bob) == chat("bob", "hi alice")
    assert chat_server.room.names() == ["alice", "bob"]


@pytest.mark.task(1)
@pytest.mark.parametrize("token", ["stolen", None])
async def test_invalid_token_is_closed_with_1008_before_joining(
    token: str | None, chat_server: ChatServer, connect: Connect
) -> None:
    alice = await join(connect, "alice-token")
    try:
        intruder = await connect(token)
    except InvalidStatus as exc:
        pytest.fail(
            f"HTTP {exc.response.status_code}: closing before accept() rejects the handshake, "
            "and a browser never sees why; accept, then close with 1008"
        )
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(TIMEOUT):
            await intruder.recv()
    assert (intruder.close_code, intruder.close_reason) == (1008, "invalid token"), (
        "1008 is the policy-violation close code"
    )
    await alice.send(say("still alone?"))
    assert await next_event(alice) == chat("alice", "still alone?"), (
        "no join notice: a rejected client never enters the room"
    )
    assert chat_server.room.names() == ["alice"]


@pytest.mark.task(2)
async def test_bad_message_gets_an_error_only_for_its_sender(connect: Connect) -> None:
    alice = await join(connect, "alice-token")
    bob = await join(connect, "bob-token", alice)
    for bad in ("not json", json.dumps({"txt": "typo"}), json.dumps(["text"]), say("")):
        await alice.send(bad)
        assert await next_event(alice) == {
            "type": "error",
            "error": 'expected JSON {"text": "..."}',
        }
    await alice.send(say("sorry"))
    assert await next_event(bob) == chat("alice", "sorry"), "errors are private to the sender"
    assert await next_event(alice) == chat("alice", "sorry"), "a bad message does not end the chat"


@pytest.mark.task(2)
async def test_hostile_messages_crash_neither_the_sender_nor_the_room(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await join(connect, "alice-token")
    bob = await join(connect, "bob-token", alice)
    # A lone surrogate parses, but sending it on would kill every member's writer task;
    # deep nesting makes json.loads raise RecursionError, which is not a ValueError.
    for hostile in ('{"text": "\\ud800"}', "[" * 100_000):
        await alice.send(hostile)
        assert await next_event(alice) == {
            "type": "error",
            "error": 'expected JSON {"text": "..."}',
        }, "an unusable message is an error for its sender, like any bad one"
    await alice.send(say("still here"))
    assert await next_event(bob) == chat("alice", "still here"), "the room still delivers"
    assert await next_event(alice) == chat("alice", "still here")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "no handler crashed"


@pytest.mark.task(5)
async def test_disconnects_are_announced_and_leave_nothing_behind(
    chat_server: ChatServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await join(connect, "alice-token")
    bob = await join(connect, "bob-token", alice)
    carol = await join(connect, "carol-token", alice, bob)

    await bob.close()  # a clean close handshake
    for member in (alice, carol):
        assert await next_event(member) == {
            "type": "leave",
            "name": "bob",
            "reason": "disconnected",
        }
    carol.transport.abort()  # the network drops: no close frame at all
    assert await next_event(alice) == {"type": "leave", "name": "carol", "reason": "disconnected"}
    assert chat_server.room.names() == ["alice"], "a member who left is removed from the room"

    await alice.close()
    leftover = await chat_server.leftover_tasks()
    assert leftover == [], f"tasks still running after everyone left: {leftover} (cancel and await)"
    assert chat_server.room.names() == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [], "a disconnect is normal life for a WebSocket server, not an error"


@pytest.mark.task(2)
async def test_slow_client_is_dropped_and_fast_clients_miss_nothing(
    chat_server: ChatServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await join(connect, "alice-token")
    # Carol connects and then never reads: tiny buffers, so the backlog soon reaches her queue.
    carol = await connect("carol-token", rcvbuf=4096, max_queue=1)
    assert await next_event(alice) == {"type": "join", "name": "carol"}
    bob = await join(connect, "bob-token", alice)  # joins after carol: served after her

    bob_events: list[dict[str, Any]] = []

    async def bob_reads() -> None:  # bob is a fast client: he reads all the time
        async for raw in bob:
            bob_events.append(json.loads(raw))

    bob_reader = asyncio.create_task(bob_reads())
    padding = "x" * 4096
    sent: list[str] = []
    alice_events: list[dict[str, Any]] = []
    dropped_at: int | None = None
    for i in range(2000):
        text = f"{i}:{padding}"
        await alice.send(say(text))
        sent.append(text)
        # Alice waits for her own message before sending the next: the room keeps up.
        while (event := await next_event(alice)) != chat("alice", text):
            alice_events.append(event)
        alice_events.append(event)
        if dropped_at is None and {"type": "leave", "name": "carol", "reason": "too slow"} in (
            alice_events
        ):
            dropped_at = i
        if dropped_at is not None and i >= dropped_at + 3:
            break
    assert dropped_at is not None, (
        "carol never read and was never dropped: the per-client queue must be bounded"
    )

    try:
        async with asyncio.timeout(TIMEOUT):
            while len(bob_events) < len(alice_events):
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"bob got {len(bob_events)} of {len(alice_events)} events: he was held up")
    finally:
        bob_reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bob_reader
    assert bob_events == alice_events, "every member sees the same events in the same order"
    messages = [e["text"] for e in alice_events if e["type"] == "message"]
    assert messages == sent, "the fast clients received every message, in order"
    leaves = [e for e in alice_events if e["type"] == "leave"]
    assert leaves == [{"type": "leave", "name": "carol", "reason": "too slow"}], (
        "the slow member is dropped once, and the others are told why"
    )
    assert chat_server.room.names() == ["alice", "bob"]
    writers = {task.get_name() for task in asyncio.all_tasks() if not task.done()}
    assert "chat-writer:carol" not in writers, (
        "the dropped member's writer is stuck in send(): cancel it, do not leave it hanging"
    )

    # Now carol reads her backlog: an in-order prefix of the chat, then the close frame.
    carol_events: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(TIMEOUT):
            async for raw in carol:
                carol_events.append(json.loads(raw))
    carol_texts = [e["text"] for e in carol_events if e["type"] == "message"]
    assert carol_texts == sent[: len(carol_texts)] and len(carol_texts) < len(sent), (
        "carol got the messages before her queue overflowed, in order, and nothing after"
    )
    assert (carol.close_code, carol.close_reason) == (1013, "too slow"), (
        "1013 (try again later) tells the client it was dropped for falling behind"
    )
    # The server ended carol's session when it sent her close frame, long before she read it.
    await alice.send(say("bye"))
    assert await next_event(alice) == chat("alice", "bye"), (
        "carol was announced once, when dropped; her disconnect later is not a second leave"
    )
    await alice.close()
    await bob.close()
    leftover = await chat_server.leftover_tasks()
    assert leftover == [], f"tasks still running after everyone left: {leftover}"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [], "dropping a slow client is policy, not an error"


# Unit tests of drop/write/leave on a fake socket: the cases a real server seldom produces on cue.


class FakeSocket:
    """Stands in for a WebSocket: records what is sent and closed; can fail or hang."""

    def __init__(
        self,
        *,
        send_limit: int | None = None,
        send_error: Exception | None = None,
        close_hangs: bool = False,
        close_error: Exception | None = None,
    ) -> None:
        self.sent: list[Event] = []
        self.closed: list[tuple[int, str | None]] = []
        self.send_limit, self.close_hangs = send_limit, close_hangs
        self.send_error = send_error
        self.close_error = close_error or WebSocketDisconnect(code=1006)

    async def send_json(self, data: Event) -> None:
        if self.send_limit is not None and len(self.sent) >= self.send_limit:
            raise self.send_error or WebSocketDisconnect(code=1006)  # the peer vanished
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed.append((code, reason))
        if self.close_hangs:
            await hang()  # a peer that never completes the close handshake
        raise self.close_error  # the connection is already gone


def fake_member(room: ChatRoom, name: str, socket: FakeSocket) -> Member:
    member = Member(name, cast(WebSocket, socket), asyncio.Queue(maxsize=room.max_queue))
    room.members[member] = None
    return member


async def hang() -> None:
    await asyncio.Event().wait()


def queued(member: Member) -> list[Event]:
    return [member.queue.get_nowait() for _ in range(member.queue.qsize())]


@pytest.mark.task(3)
async def test_drop_happens_once_and_ignores_a_connection_already_gone() -> None:
    room = ChatRoom(TOKENS)
    alice = fake_member(room, "alice", FakeSocket())
    socket = FakeSocket()
    carol = fake_member(room, "carol", socket)
    carol.writer = asyncio.create_task(hang())
    room.drop(carol, 1013, "too slow")
    room.drop(carol, 1013, "too slow")  # e.g. a second overflow before the first drop finished
    assert room.names() == ["alice"]
    assert queued(alice) == [{"type": "leave", "name": "carol", "reason": "too slow"}], (
        "drop acts only on a current member: one leave notice, not two"
    )
    assert carol.closer is not None, "the closing task is kept in member.closer for leave()"
    async with asyncio.timeout(TIMEOUT):
        await asyncio.gather(carol.writer, return_exceptions=True)
        await carol.closer  # must not raise: closing a gone connection is not an error
    assert socket.closed == [(1013, "too slow")], "the socket is closed once, with code and reason"
    assert carol.writer.cancelled(), "the writer (probably stuck in send) is cancelled"


@pytest.mark.task(4)
async def test_writer_sends_in_order_and_ends_quietly_on_disconnect() -> None:
    room = ChatRoom(TOKENS)
    socket = FakeSocket(send_limit=2)
    bob = fake_member(room, "bob", socket)
    for i in range(3):
        bob.queue.put_nowait(chat("alice", str(i)))
    async with asyncio.timeout(TIMEOUT):
        await room.write(bob)  # returns instead of raising: the reader does the cleanup
    assert socket.sent == [chat("alice", "0"), chat("alice", "1")], "one event at a time, in order"


@pytest.mark.task(5)
async def test_leave_cancels_and_awaits_the_writer_and_the_closer() -> None:
    room = ChatRoom(TOKENS)
    alice = fake_member(room, "alice", FakeSocket())
    carol = fake_member(room, "carol", FakeSocket(close_hangs=True))
    cleaned_up: list[str] = []

    async def writer() -> None:
        try:
            await hang()
        finally:  # cleanup that takes a few loop turns, as closing a real socket does
            for _ in range(3):
                await asyncio.sleep(0)
            cleaned_up.append("writer")

    carol.writer = asyncio.create_task(writer())
    await asyncio.sleep(0)  # let the writer start
    room.drop(carol, 1013, "too slow")
    async with asyncio.timeout(TIMEOUT):
        await room.leave(carol)  # what handle() does once carol's reader returns
    assert cleaned_up == ["writer"], "leave awaits the cancelled writer: nothing outlives it"
    assert carol.closer is not None and carol.closer.done(), (
        "leave cancels and awaits the closer too (here the peer never completes the close)"
    )
    assert queued(alice) == [{"type": "leave", "name": "carol", "reason": "too slow"}], (
        "a dropped member was announced once already: no second, 'disconnected' leave"
    )


@pytest.mark.task(2)
async def test_broadcast_queues_in_order_then_drops_the_overflowing() -> None:
    room = ChatRoom(TOKENS, max_queue=2)
    alice = fake_member(room, "alice", FakeSocket())
    carol = fake_member(room, "carol", FakeSocket())
    bob = fake_member(room, "bob", FakeSocket())
    carol.queue.put_nowait(chat("alice", "backlog 1"))
    carol.queue.put_nowait(chat("alice", "backlog 2"))  # carol's queue is full
    room.broadcast(chat("alice", "hi"))
    leave = {"type": "leave", "name": "carol", "reason": "too slow"}
    assert queued(alice) == queued(bob) == [chat("alice", "hi"), leave], (
        "every member sees the event, then the drop it caused: drop after the loop, never mid-way"
    )
    assert room.names() == ["alice", "bob"]
    room.broadcast({"type": "error", "error": "only for bob"}, to=[bob])
    assert (queued(alice), queued(bob)) == ([], [{"type": "error", "error": "only for bob"}])
    room.broadcast(chat("alice", "nobody"), to=[])
    assert queued(alice) == queued(bob) == [], "to=[] is nobody (only None means everyone)"
    assert carol.closer is not None
    async with asyncio.timeout(TIMEOUT):
        await carol.closer


@pytest.mark.task(3)
async def test_drop_ignores_a_close_after_the_connection_closed() -> None:
    room = ChatRoom(TOKENS)
    # Starlette's close() raises RuntimeError once a close was sent or the socket is gone.
    socket = FakeSocket(close_error=RuntimeError('Cannot call "send" once a close message'))
    carol = fake_member(room, "carol", socket)
    room.drop(carol, 1008, "bye")
    assert carol.closer is not None
    async with asyncio.timeout(TIMEOUT):
        await carol.closer  # must not raise: the connection is already gone
    assert socket.closed == [(1008, "bye")], "the code and reason it was given"


@pytest.mark.task(4)
async def test_writer_does_not_hide_a_send_error_that_is_not_a_disconnect() -> None:
    room = ChatRoom(TOKENS)
    socket = FakeSocket(send_limit=1, send_error=TypeError("Object of type set is not JSON"))
    bob = fake_member(room, "bob", socket)
    for i in range(2):
        bob.queue.put_nowait(chat("alice", str(i)))
    with pytest.raises(TypeError, match="not JSON"):
        async with asyncio.timeout(TIMEOUT):
            await room.write(bob)  # a bug, not a vanished peer: it must show in the log
    assert socket.sent == [chat("alice", "0")]
