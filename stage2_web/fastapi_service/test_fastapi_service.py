"""FastAPI todos service: each test builds its own app on its own database and runs its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .service import create_app, current_user

ADA = {"Authorization": "Bearer token-ada"}
BOB = {"Authorization": "Bearer token-bob"}


def client_for(app: ASGIApp) -> httpx.AsyncClient:
    # ASGITransport does not run the lifespan: the `app` fixture runs it around the test.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def app(postgres_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(postgres_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


def errors(response: httpx.Response) -> list[tuple[str, list[str | int], str]]:
    """FastAPI's 422 ``detail`` list, as (type, loc, msg) triples."""
    assert response.status_code == 422, response.text
    return [(e["type"], e["loc"], e["msg"]) for e in response.json()["detail"]]


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> int:
    response = await client.post("/todos", json={"title": "a todo", **body}, headers=headers)
    assert response.status_code == 201, response.text
    todo_id: int = response.json()["id"]
    return todo_id


@pytest.mark.task(6)
async def test_create_answers_201_location_and_the_normalised_todo(
    client: httpx.AsyncClient,
) -> None:
    body = {"title": "  Write the report ", "priority": 2, "tags": ["Work", " urgent"]}
    response = await client.post("/todos", json=body, headers=ADA)
    assert response.status_code == 201, "creating a resource answers 201 Created"
    todo = response.json()
    want = {"id": todo["id"], "title": "Write the report", "priority": 2, "done": False}
    assert todo == {**want, "tags": ["work", "urgent"]}, "strings stripped, tags lower-cased"
    assert response.headers["location"] == f"/todos/{todo['id']}", "Location names the new todo"
    fetched = await client.get(response.headers["location"], headers=ADA)
    assert (fetched.status_code, fetched.json()) == (200, todo)
    defaults = await client.post("/todos", json={"title": "x"}, headers=ADA)
    assert (defaults.json()["priority"], defaults.json()["tags"]) == (3, []), "the defaults"


@pytest.mark.task(1)
async def test_invalid_bodies_are_422_with_every_error(client: httpx.AsyncClient) -> None:
    body = {"title": " ", "priority": 9, "tags": ["home", "Home"], "colour": "red"}
    response = await client.post("/todos", json=body, headers=ADA)
    assert errors(response) == [
        ("string_too_short", ["body", "title"], "String should have at least 1 character"),
        ("less_than_equal", ["body", "priority"], "Input should be less than or equal to 5"),
        ("value_error", ["body", "tags"], "Value error, tags must be unique, ignoring case"),
        ("extra_forbidden", ["body", "colour"], "Extra inputs are not permitted"),
    ], "every problem at once, each located: a blank title, a range, a validator, an extra key"
    too_many = await client.post("/todos", json={"title": "x", "tags": list("abcdef")}, headers=ADA)
    assert [(t, loc) for t, loc, _ in errors(too_many)] == [("too_long", ["body", "tags"])]
    long_tag = await client.post(
        "/todos", json={"title": "x", "tags": ["ok", "x" * 21]}, headers=ADA
    )
    assert [(t, loc) for t, loc, _ in errors(long_tag)] == [
        ("string_too_long", ["body", "tags", 1])
    ]
    lengthened = await client.post("/todos", json={"title": "x", "tags": ["İ" * 20]}, headers=ADA)
    assert errors(lengthened) == [
        (
            "value_error",
            ["body", "tags"],
            "Value error, tags must be at most 20 characters once lower-cased",
        )
    ], "'İ'.lower() is two characters: check the length of what is stored, after lower-casing"
    listed = await client.get("/todos", headers=ADA)
    assert listed.json() == [], "nothing invalid was stored"
    over = await client.post("/todos", json={"title": "x", "tags": ["İ" * 10 + "x"]}, headers=ADA)
    assert over.status_code == 422, "21 characters once lowered: one too many"
    fits = await client.post("/todos", json={"title": "x", "tags": ["İ" * 10]}, headers=ADA)
    assert fits.status_code == 201 and fits.json()["tags"] == ["i̇" * 10], "20 once lowered fits"
    [stored] = (await client.get("/todos", headers=ADA)).json()
    assert stored["tags"] == fits.json()["tags"], "what is answered is what was stored"


@pytest.mark.task(6)
async def test_odd_input_is_4xx_never_500(client: httpx.AsyncClient) -> None:
    cases = {
        "/todos/-1": ("greater_than_equal", ["path", "todo_id"]),
        f"/todos/{2**31}": ("less_than_equal", ["path", "todo_id"]),  # beyond PostgreSQL integer
        "/todos/abc": ("int_parsing", ["path", "todo_id"]),
        "/todos?limit=1000000": ("less_than_equal", ["query", "limit"]),
        f"/todos?offset={10**20}": ("less_than_equal", ["query", "offset"]),
    }
    for path, want in cases.items():
        response = await client.get(path, headers=ADA)
        assert [(t, loc) for t, loc, _ in errors(response)] == [want], path
    text = await client.post(
        "/todos", content=b'{"title": "x"}', headers={**ADA, "Content-Type": "text/plain"}
    )
    assert errors(text) == [
        (
            "model_attributes_type",
            ["body"],
            "Input should be a valid dictionary or object to extract fields from",
        )
    ], "a body that is not declared JSON is not parsed as JSON"
    broken = await client.post(
        "/todos", content=b'{"title": ', headers={**ADA, "Content-Type": "application/json"}
    )
    assert errors(broken) == [("json_invalid", ["body", 10], "JSON decode error")]


@pytest.mark.task(1)
async def test_text_postgresql_or_json_cannot_carry_is_422_never_500(
    client: httpx.AsyncClient,
) -> None:
    nul = "Value error, must not contain NUL (\\u0000) characters"
    response = await client.post(
        "/todos", json={"title": "a\x00b", "tags": ["ok", "x\x00"]}, headers=ADA
    )
    assert errors(response) == [
        ("value_error", ["body", "title"], nul),
        ("value_error", ["body", "tags", 1], nul),
    ], "PostgreSQL text cannot hold NUL: the model refuses it, before the INSERT fails"
    todo_id = await create(client, ADA)
    patched = await client.patch(f"/todos/{todo_id}", json={"title": "\x00"}, headers=ADA)
    assert errors(patched) == [("value_error", ["body", "title"], nul)], "PATCH refuses it too"
    # json.loads accepts NaN, Infinity and lone surrogates, which no JSON response can carry as is
    odd = await client.post(
        "/todos",
        content=b'{"title": "\\ud800", "priority": NaN, "tags": [Infinity]}',
        headers={**ADA, "Content-Type": "application/json"},
    )
    assert [(e["type"], e["loc"], e["input"]) for e in odd.json()["detail"]] == [
        ("string_unicode", ["body", "title"], "\\ud800"),
        ("finite_number", ["body", "priority"], "nan"),
        ("string_type", ["body", "tags", 0], "inf"),
    ], "the 422 still echoes each input, as text JSON can carry"
    assert (await client.get("/todos", headers=ADA)).json()[0]["id"] == todo_id, "nothing stored"


@pytest.mark.task(4)
async def test_missing_or_bad_token_is_401_with_www_authenticate(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YWRhOng="}):
        response = await client.get("/todos", headers=headers)
        assert response.status_code == 401, f"{headers}: not authenticated"
        assert response.headers.get("www-authenticate") == "Bearer", "401 says which scheme"
        assert response.json() == {"detail": "invalid or missing bearer token"}
    response = await client.post("/todos", json={"title": 1}, headers={})
    assert response.status_code == 401, "authentication comes before body validation"


@pytest.mark.task(6)
async def test_list_shows_only_your_own_todos_in_id_order(client: httpx.AsyncClient) -> None:
    ada = [await create(client, ADA, title=f"ada {n}") for n in range(4)]
    bob = [await create(client, BOB, title="bob 0")]
    listed = await client.get("/todos", headers=ADA)
    assert [t["id"] for t in listed.json()] == ada, "ada sees her four, in id order"
    assert [t["id"] for t in (await client.get("/todos", headers=BOB)).json()] == bob
    page = await client.get("/todos?limit=2&offset=1", headers=ADA)
    assert [t["id"] for t in page.json()] == ada[1:3], "limit/offset page through your own"
    assert "owner" not in listed.json()[0], "the response model decides what leaves the service"


@pytest.mark.task(5)
async def test_someone_elses_todo_is_404_like_a_missing_one(client: httpx.AsyncClient) -> None:
    todo_id = await create(client, ADA, title="private")
    missing = await client.get("/todos/999999", headers=BOB)
    assert missing.json() == {"detail": "todo 999999 not found"}
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, f"/todos/{todo_id}", headers=BOB, json={"done": True}
        )
        assert response.status_code == 404, f"{method}: 404, not 403 — don't confirm it exists"
        assert response.json() == {"detail": f"todo {todo_id} not found"}
    mine = await client.get(f"/todos/{todo_id}", headers=ADA)
    assert mine.json()["done"] is False, "bob changed nothing"
    bobs = await create(client, BOB, title="bob's own")
    theirs = await client.get(f"/todos/{bobs}", headers=ADA)
    assert theirs.status_code == 404, "the other way round too: owner must equal the user"


@pytest.mark.task(6)
async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    todo_id = await create(client, ADA, title="keep me", priority=1, tags=["x"])
    response = await client.patch(f"/todos/{todo_id}", json={"done": True}, headers=ADA)
    want = {"id": todo_id, "title": "keep me", "priority": 1, "tags": ["x"], "done": True}
    assert (response.status_code, response.json()) == (200, want), "unsent fields stay as they were"
    stored = await client.get(f"/todos/{todo_id}", headers=ADA)
    assert stored.json() == want, "and the change was committed"


@pytest.mark.task(2)
async def test_patch_refuses_null_and_keeps_the_limits(client: httpx.AsyncClient) -> None:
    todo_id = await create(client, ADA, title="keep me", priority=1, tags=["x"])
    null = await client.patch(f"/todos/{todo_id}", json={"title": None}, headers=ADA)
    assert errors(null) == [
        ("value_error", ["body", "title"], "Value error, may be left out, but not null")
    ], "null is not 'leave it alone': refuse it"
    titles = [{"title": " "}, {"title": "x" * 201}]
    limits = [await client.patch(f"/todos/{todo_id}", json=t, headers=ADA) for t in titles]
    # "string_too_short" or "too_short": it depends on where the Optional wraps the limits
    assert [[(t.removeprefix("string_"), loc) for t, loc, _ in errors(r)] for r in limits] == [
        [("too_short", ["body", "title"])],
        [("too_long", ["body", "title"])],
    ], "a PATCH title has TodoIn's limits (stripped, 1-200 chars): a 422, not a blank or a 500"
    bad = await client.patch(f"/todos/{todo_id}", json={"priority": 0, "owner": "bob"}, headers=ADA)
    assert [(t, loc) for t, loc, _ in errors(bad)] == [
        ("greater_than_equal", ["body", "priority"]),
        ("extra_forbidden", ["body", "owner"]),
    ]


@pytest.mark.task(6)
async def test_delete_answers_204_and_the_todo_is_gone(client: httpx.AsyncClient) -> None:
    todo_id = await create(client, ADA)
    response = await client.delete(f"/todos/{todo_id}", headers=ADA)
    assert (response.status_code, response.content) == (204, b""), "204 No Content, no body"
    gone = await client.get(f"/todos/{todo_id}", headers=ADA)
    assert gone.status_code == 404
    again = await client.delete(f"/todos/{todo_id}", headers=ADA)
    assert again.json() == {"detail": f"todo {todo_id} not found"}


class RecordResponseEnd:
    """ASGI middleware: note in ``outbox`` the moment the last byte of the response is sent."""

    def __init__(self, app: ASGIApp, outbox: list[str]) -> None:
        self.app, self.outbox = app, outbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def recording_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.outbox.append("<response sent>")

        await self.app(scope, receive, recording_send)


@pytest.mark.task(6)
async def test_notifications_are_sent_after_the_response(app: FastAPI) -> None:
    outbox: list[str] = app.state.outbox
    async with client_for(RecordResponseEnd(app, outbox)) as client:
        todo_id = await create(client, ADA)
        await client.delete(f"/todos/{todo_id}", headers=ADA)
        await client.get("/todos", headers=ADA)
    assert outbox == [
        "<response sent>",
        f"ada created todo {todo_id}",
        "<response sent>",
        f"ada deleted todo {todo_id}",
        "<response sent>",
    ], "BackgroundTasks run after the response is sent, so the client never waits for them"


@pytest.mark.task(4)
async def test_dependency_override_replaces_the_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ada_id = await create(client, ADA)
    app.dependency_overrides[current_user] = lambda: "carol"
    try:
        carols = await create(client, {})  # no token needed: the dependency is replaced
        listed = await client.get("/todos")
        assert [t["id"] for t in listed.json()] == [carols], "carol sees only carol's"
        assert (await client.get(f"/todos/{ada_id}")).status_code == 404
    finally:
        app.dependency_overrides.clear()
    assert (await client.get("/todos")).status_code == 401, "without the override: a token again"


@pytest.mark.task(1)
async def test_openapi_documents_the_models_and_the_example(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    todo_in = schema["components"]["schemas"]["TodoIn"]
    assert todo_in["examples"] == [{"title": "Write the report", "priority": 2, "tags": ["work"]}]
    assert todo_in["properties"]["priority"] | {"title": "Priority"} == {
        "type": "integer",
        "minimum": 1,
        "maximum": 5,
        "default": 3,
        "title": "Priority",
    }, "Field constraints become the documented schema"
    assert todo_in["additionalProperties"] is False
    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"}
    }


@pytest.mark.task(3)
async def test_each_request_closes_its_session(app: FastAPI) -> None:
    async with client_for(app) as client:
        todo_id = await create(client, ADA)
        assert (await client.get(f"/todos/{todo_id}", headers=ADA)).status_code == 200
        assert (await client.get("/todos", headers=ADA)).status_code == 200
        assert (await client.get("/todos/999999", headers=ADA)).status_code == 404
    assert app.state.engine.pool.checkedout() == 0, "every request's session was closed after it"


@pytest.mark.task(7)
async def test_lifespan_opens_the_engine_and_disposes_it(postgres_url: str) -> None:
    app = create_app(postgres_url)
    assert not hasattr(app.state, "engine"), "nothing connects before startup"
    async with app.router.lifespan_context(app):
        engine = app.state.engine
        async with client_for(app) as client:
            todo_id = await create(client, ADA)
            assert (await client.get(f"/todos/{todo_id}", headers=ADA)).status_code == 200
        assert engine.pool.checkedout() == 0, "every request's session was closed after it"
        assert engine.pool.checkedin() >= 1, "the pool keeps its connections between requests"
    assert engine.pool.checkedin() == 0, "shutdown disposes the engine: no pooled connections left"


@pytest.mark.task(1)
async def test_the_limits_are_inclusive(client: httpx.AsyncClient) -> None:
    edges = [
        {"title": "x" * 200, "priority": 1, "tags": ["t" * 20, "b", "c", "d", "e"]},
        {"title": "y", "priority": 5, "tags": ["z"]},
    ]
    for body in edges:
        response = await client.post("/todos", json=body, headers=ADA)
        assert response.status_code == 201, f"both ends of every range are allowed: {body}"
    cases: list[tuple[dict[str, Any], tuple[str, list[str | int]]]] = [
        ({"title": "x" * 201}, ("string_too_long", ["body", "title"])),
        ({"title": "x", "priority": 0}, ("greater_than_equal", ["body", "priority"])),
        ({"title": "x", "priority": 6}, ("less_than_equal", ["body", "priority"])),
        ({"title": "x", "tags": ["ok", ""]}, ("string_too_short", ["body", "tags", 1])),
        ({"title": "x", "tags": ["  "]}, ("string_too_short", ["body", "tags", 0])),
        ({"title": ""}, ("string_too_short", ["body", "title"])),
    ]
    for bad, want in cases:
        response = await client.post("/todos", json=bad, headers=ADA)
        assert [(t, loc) for t, loc, _ in errors(response)] == [want], bad


@pytest.mark.task(2)
async def test_patch_edges(client: httpx.AsyncClient) -> None:
    todo_id = await create(client, ADA, title="keep me", priority=1)
    nulls = await client.patch(
        f"/todos/{todo_id}", json={"priority": None, "done": None}, headers=ADA
    )
    assert errors(nulls) == [
        ("value_error", ["body", "priority"], "Value error, may be left out, but not null"),
        ("value_error", ["body", "done"], "Value error, may be left out, but not null"),
    ], "no field may be null: the validator names all three"
    edited = await client.patch(
        f"/todos/{todo_id}", json={"title": "  " + "x" * 200 + " ", "priority": 5}, headers=ADA
    )
    assert edited.status_code == 200, "stripped, a 200-char title fits; priority 5 is allowed"
    assert (edited.json()["title"], edited.json()["priority"]) == ("x" * 200, 5)
    low = await client.patch(f"/todos/{todo_id}", json={"title": "y", "priority": 1}, headers=ADA)
    assert low.status_code == 200, "a 1-char title and priority 1 are the lower ends"
    assert (low.json()["title"], low.json()["priority"]) == ("y", 1)
    for body, want in (
        ({"priority": 6}, ("less_than_equal", ["body", "priority"])),
        ({"priority": 0}, ("greater_than_equal", ["body", "priority"])),
        ({"title": ""}, ("too_short", ["body", "title"])),
    ):
        response = await client.patch(f"/todos/{todo_id}", json=body, headers=ADA)
        assert [(t.removeprefix("string_"), loc) for t, loc, _ in errors(response)] == [want], body


@pytest.mark.task(6)
async def test_query_and_path_limits_are_inclusive(client: httpx.AsyncClient) -> None:
    ids = [await create(client, ADA, title=f"todo {n}") for n in range(21)]
    listed = await client.get("/todos", headers=ADA)
    assert [t["id"] for t in listed.json()] == ids[:20], "the default limit is 20"
    for query, count in (
        ("limit=100", 21),
        ("limit=1", 1),
        ("offset=1000000", 0),
        ("offset=20", 1),
        ("offset=0", 20),
    ):
        response = await client.get(f"/todos?{query}", headers=ADA)
        assert (response.status_code, len(response.json())) == (200, count), query
    for query, want in (
        ("limit=0", ("greater_than_equal", ["query", "limit"])),
        ("limit=101", ("less_than_equal", ["query", "limit"])),
        ("offset=-1", ("greater_than_equal", ["query", "offset"])),
        ("offset=1000001", ("less_than_equal", ["query", "offset"])),
    ):
        response = await client.get(f"/todos?{query}", headers=ADA)
        assert [(t, loc) for t, loc, _ in errors(response)] == [want], query
    largest = await client.get(f"/todos/{2**31 - 1}", headers=ADA)
    assert largest.json() == {"detail": f"todo {2**31 - 1} not found"}, "2**31-1 is a valid id"
    zero = await client.get("/todos/0", headers=ADA)
    assert [(t, loc) for t, loc, _ in errors(zero)] == [("greater_than_equal", ["path", "todo_id"])]
