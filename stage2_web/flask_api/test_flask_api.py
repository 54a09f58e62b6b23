"""Flask books API: every test builds its own app on its own database through the factory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import InternalServerError, NotFound

from katas.kit import MALFORMED_CHUNKED_BODIES, chunked_request, raw_http, serve_wsgi

from .books import create_app

DUNE = {"title": "Dune", "author": "Frank Herbert", "year": 1965}


@pytest.fixture
def app(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    for name in ("BOOKS_PAGE_SIZE", "BOOKS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True, "DATABASE_URL": postgres_url})
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def error(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"status": status, "message": message, **extra}}


def add_books(client: FlaskClient, count: int) -> list[int]:
    ids = []
    for n in range(count):
        response = client.post("/api/books", json={**DUNE, "title": f"Book {n}"})
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


@pytest.mark.task(6)
def test_health_blueprint_answers(client: FlaskClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


@pytest.mark.task(4)
def test_create_returns_201_location_and_the_stored_book(client: FlaskClient) -> None:
    response = client.post("/api/books", json={**DUNE, "title": "  Dune  "})
    assert response.status_code == 201, "creating a resource answers 201 Created"
    book = response.get_json()
    assert book == {"id": book["id"], **DUNE}, "strings are stripped; the body is the stored row"
    assert response.headers["Location"] == f"/api/books/{book['id']}", "Location names the new one"
    fetched = client.get(response.headers["Location"])
    assert (fetched.status_code, fetched.get_json()) == (200, book), "GET reads it back"


@pytest.mark.task(5)
def test_update_replaces_and_delete_answers_204(client: FlaskClient) -> None:
    book_id = client.post("/api/books", json=DUNE).get_json()["id"]
    changed = {**DUNE, "title": "Dune Messiah", "year": 1969}
    response = client.put(f"/api/books/{book_id}", json=changed)
    assert (response.status_code, response.get_json()) == (200, {"id": book_id, **changed})
    assert client.get(f"/api/books/{book_id}").get_json() == {"id": book_id, **changed}
    deleted = client.delete(f"/api/books/{book_id}")
    assert (deleted.status_code, deleted.data) == (204, b""), "204 No Content has no body"
    gone = client.get(f"/api/books/{book_id}")
    assert gone.status_code == 404, "a deleted book is gone"
    again = client.delete(f"/api/books/{book_id}")
    assert again.get_json() == error(404, f"no book with id {book_id}"), "deleting twice: 404"


@pytest.mark.task(5)
def test_unknown_id_and_unknown_route_are_json_404s(client: FlaskClient) -> None:
    for method in ("get", "put", "delete"):
        response = getattr(client, method)("/api/books/999", json=DUNE)
        assert response.status_code == 404, f"{method.upper()} of a missing book"
        assert response.get_json() == error(404, "no book with id 999"), "say which id is missing"
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.content_type == "application/json", "errors are JSON, never Flask's HTML page"
    assert response.get_json() == error(404, NotFound.description)


@pytest.mark.task(5)
def test_odd_ids_are_404_not_500(client: FlaskClient) -> None:
    odd = ("/api/books/-1", "/api/books/abc", f"/api/books/{2**31}", f"/api/books/{10**30}")
    for path in (*odd, "/api/books/01"):
        for method in ("get", "put", "delete"):
            response = getattr(client, method)(path, json=DUNE)
            assert response.status_code == 404, (
                f"{method.upper()} {path}: no such book can exist (never a 500), and the "
                "router refuses it for every method (not a 405 because the GET route matched)"
            )
            assert response.get_json() == error(404, NotFound.description), path


@pytest.mark.task(3)
def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.patch("/api/books/1", json=DUNE)
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405
    allow = set(response.headers.get("Allow", "").split(", "))
    assert allow == {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}, "keep the Allow header Flask sets"
    response = client.delete("/api/books")
    assert set(response.headers.get("Allow", "").split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


@pytest.mark.task(2)
def test_bad_bodies_are_415_or_400(client: FlaskClient) -> None:
    form = client.post(
        "/api/books", data="title=Dune", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415, "a form is not JSON: 415 Unsupported Media Type"
    assert form.get_json() == error(415, "send a JSON object with Content-Type: application/json")
    broken = client.post("/api/books", data='{"title": ', content_type="application/json")
    assert broken.get_json() == error(400, "the body is not valid JSON"), "malformed JSON: 400"
    listed = client.post("/api/books", json=[DUNE])
    assert listed.get_json() == error(400, "the body must be a JSON object, not list")
    assert client.get("/api/books").get_json()["total"] == 0, "nothing bad was stored"


@pytest.mark.task(2)
def test_deeply_nested_json_is_400_not_500(client: FlaskClient) -> None:
    deep = client.post("/api/books", data="[" * 100_000, content_type="application/json")
    assert deep.status_code == 400, "json.loads raises RecursionError, which silent=True lets out"
    assert deep.get_json() == error(400, "the body is nested too deeply")


@pytest.mark.task(1)
def test_nul_in_text_is_422_not_500(client: FlaskClient) -> None:
    book_id = client.post("/api/books", json=DUNE).get_json()["id"]
    for method, path in (("post", "/api/books"), ("put", f"/api/books/{book_id}")):
        response = getattr(client, method)(path, json={**DUNE, "author": "Frank\x00Herbert"})
        assert response.status_code == 422, f"{method.upper()}: PostgreSQL text cannot hold NUL"
        assert response.get_json()["error"]["fields"] == [
            {
                "field": "author",
                "type": "value_error",
                "message": "Value error, must not contain NUL (\\u0000) characters",
            }
        ]
    assert client.get(f"/api/books/{book_id}").get_json() == {"id": book_id, **DUNE}


@pytest.mark.task(1)
def test_invalid_fields_are_422_with_one_entry_per_field(client: FlaskClient) -> None:
    response = client.post(
        "/api/books", json={"title": "   ", "year": "1965", "isbn": "978-0441013593"}
    )
    assert response.status_code == 422
    body = response.get_json()
    fields = body["error"].pop("fields")
    assert body == error(422, "some fields are invalid")
    got = {(f["field"], f["type"]) for f in fields}
    want = {
        ("title", "string_too_short"),  # "   " is empty once stripped
        ("author", "missing"),
        ("year", "int_type"),  # strict: "1965" is a string; JSON has numbers
        ("isbn", "extra_forbidden"),  # a typo'd or unknown key is an error, not ignored
    }
    assert got == want, "list every problem at once, by field"
    assert {"field": "author", "type": "missing", "message": "Field required"} in fields
    out_of_range = client.put("/api/books/1", json={**DUNE, "year": 3000})
    assert out_of_range.status_code == 422, "PUT validates the same way"
    too_long = client.post("/api/books", json={**DUNE, "title": "x" * 201, "author": "y" * 101})
    assert [(f["field"], f["type"]) for f in too_long.get_json()["error"]["fields"]] == [
        ("title", "string_too_long"),
        ("author", "string_too_long"),
    ], "the columns are VARCHAR(200) and (100): longer text is a 422 here, not a 500 in the INSERT"


@pytest.mark.task(4)
def test_list_paginates_in_id_order(client: FlaskClient) -> None:
    ids = add_books(client, 7)
    first = client.get("/api/books?size=3").get_json()
    assert [b["id"] for b in first["items"]] == ids[:3], "page 1 is the first `size` books by id"
    assert (first["page"], first["size"], first["total"]) == (1, 3, 7)
    second = client.get("/api/books?page=2&size=3").get_json()
    assert [b["id"] for b in second["items"]] == ids[3:6], "page 2 skips (2 - 1) * size books"
    last = client.get("/api/books?page=3&size=3").get_json()
    assert [b["id"] for b in last["items"]] == ids[6:], "page 3 of size 3 holds only the 7th"
    empty = client.get("/api/books?page=4&size=3").get_json()
    assert (empty["items"], empty["total"]) == ([], 7), "past the end: an empty page, not an error"
    # PostgreSQL writes an updated row as a new tuple at the end of the table: without
    # ORDER BY, a table scan would now return the first book last.
    client.put(f"/api/books/{ids[0]}", json={**DUNE, "title": "Book 0, revised"})
    again = client.get("/api/books?size=3").get_json()
    assert [b["id"] for b in again["items"]] == ids[:3], "ORDER BY id: storage order is no order"


@pytest.mark.task(4)
def test_odd_page_parameters_are_422(client: FlaskClient) -> None:
    for query, field, kind in [
        ("size=1000000", "size", "less_than_equal"),
        ("size=0", "size", "greater_than_equal"),
        ("page=-1", "page", "greater_than_equal"),
        ("page=99999999999999999999", "page", "less_than_equal"),
        ("size=ten", "size", "int_parsing"),
    ]:
        response = client.get(f"/api/books?{query}")
        assert response.status_code == 422, f"?{query}: a bad query is the client's error"
        fields = response.get_json()["error"]["fields"]
        assert [(f["field"], f["type"]) for f in fields] == [(field, kind)], query


@pytest.mark.task(6)
def test_page_size_comes_from_the_environment(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOKS_PAGE_SIZE", "5")
    monkeypatch.setenv("BOOKS_DATABASE_URL", postgres_url)
    app = create_app()
    try:
        assert app.config["PAGE_SIZE"] == 5, "BOOKS_PAGE_SIZE=5 sets PAGE_SIZE to the int 5"
        client = app.test_client()
        add_books(client, 6)
        page = client.get("/api/books").get_json()
        assert (len(page["items"]), page["size"]) == (5, 5), "the default page size is config"
    finally:
        app.extensions["engine"].dispose()


@pytest.mark.task(6)
def test_factory_argument_overrides_the_environment(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOKS_PAGE_SIZE", "5")
    app = create_app({"DATABASE_URL": postgres_url, "PAGE_SIZE": 2})
    try:
        assert app.config["PAGE_SIZE"] == 2, "explicit arguments win over the environment"
        client = app.test_client()
        add_books(client, 3)
        assert len(client.get("/api/books").get_json()["items"]) == 2
    finally:
        app.extensions["engine"].dispose()


@pytest.mark.task(6)
def test_two_apps_are_independent(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOOKS_PAGE_SIZE", raising=False)
    one = create_app({"DATABASE_URL": postgres_url, "PAGE_SIZE": 1})
    two = create_app({"DATABASE_URL": postgres_url})
    try:
        assert (one.config["PAGE_SIZE"], two.config["PAGE_SIZE"]) == (1, 20), "default is 20"
        assert one.extensions["engine"] is not two.extensions["engine"], "one engine per app"
    finally:
        one.extensions["engine"].dispose()
        two.extensions["engine"].dispose()


@pytest.mark.task(3)
def test_an_unexpected_crash_is_a_json_500(postgres_url: str) -> None:
    app = create_app({"DATABASE_URL": postgres_url})  # not TESTING: errors are handled, not raised

    def boom() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", view_func=boom)
    try:
        response = app.test_client().get("/boom")
        assert response.status_code == 500
        assert response.get_json() == error(500, InternalServerError.description), (
            "an HTTPException handler also catches the InternalServerError Flask makes of a crash"
        )
    finally:
        app.extensions["engine"].dispose()


@pytest.mark.task(1)
def test_the_limits_are_inclusive(client: FlaskClient) -> None:
    edges = [
        {"title": "x" * 200, "author": "y" * 100, "year": 1450},
        {"title": "x", "author": "y", "year": 2100},
    ]
    for book in edges:
        response = client.post("/api/books", json=book)
        assert response.status_code == 201, f"{book}: 1-200, 1-100 and 1450-2100 include both ends"
    for year, kind in ((1449, "greater_than_equal"), (2101, "less_than_equal")):
        response = client.post("/api/books", json={**DUNE, "year": year})
        fields = response.get_json()["error"]["fields"]
        assert [(f["field"], f["type"]) for f in fields] == [("year", kind)], f"year {year}"
    blank = client.post("/api/books", json={**DUNE, "title": "", "author": " \t "})
    assert [(f["field"], f["type"]) for f in blank.get_json()["error"]["fields"]] == [
        ("title", "string_too_short"),
        ("author", "string_too_short"),
    ], "an empty or blank (once stripped) title or author is refused"


@pytest.mark.task(1)
def test_strict_types_refuse_what_json_spells_differently(client: FlaskClient) -> None:
    for year in (1965.0, True, "1965"):
        response = client.post("/api/books", json={**DUNE, "year": year})
        fields = response.get_json()["error"]["fields"]
        assert [(f["field"], f["type"]) for f in fields] == [("year", "int_type")], repr(year)
    response = client.post("/api/books", json={**DUNE, "title": 1984})
    assert [(f["field"], f["type"]) for f in response.get_json()["error"]["fields"]] == [
        ("title", "string_type")
    ], "strict: a number is not a title"


@pytest.mark.task(1)
def test_nul_is_refused_in_the_title_too(client: FlaskClient) -> None:
    response = client.post("/api/books", json={**DUNE, "title": "\x00Dune"})
    assert response.status_code == 422, "the NUL check covers both text fields"
    assert [(f["field"], f["type"]) for f in response.get_json()["error"]["fields"]] == [
        ("title", "value_error")
    ]


@pytest.mark.task(2)
def test_every_json_media_type_is_json(client: FlaskClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.post("/api/books", data='{"title": "Dune", "author": "F", "year": 1965}',
                               content_type=content_type)  # fmt: skip
        assert response.status_code == 201, f"{content_type} is JSON (request.is_json)"
    missing = client.post("/api/books", data='{"title": "Dune"}')
    assert missing.get_json() == error(
        415, "send a JSON object with Content-Type: application/json"
    )


@pytest.mark.task(2)
def test_json_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    for body, name in (('"Dune"', "str"), ("1965", "int"), ("true", "bool"), ("[]", "list")):
        response = client.post("/api/books", data=body, content_type="application/json")
        assert response.get_json() == error(400, f"the body must be a JSON object, not {name}"), (
            body
        )
    empty = client.post("/api/books", data="", content_type="application/json")
    assert empty.get_json() == error(400, "the body is not valid JSON"), "no body is no JSON"


@pytest.mark.task(5)
def test_the_id_range_ends_at_postgresql_integer(client: FlaskClient) -> None:
    for book_id in (0, 2**31 - 1):
        for method in ("get", "put", "delete"):
            response = getattr(client, method)(f"/api/books/{book_id}", json=DUNE)
            assert response.get_json() == error(404, f"no book with id {book_id}"), (
                f"{method.upper()} {book_id}: inside the converter's 0..2**31-1, so the view "
                "answers; the database has no such book"
            )


@pytest.mark.task(5)
def test_full_width_digits_are_not_an_id(client: FlaskClient) -> None:
    [book_id] = add_books(client, 1)
    full_width = "".join(chr(0xFF10 + int(digit)) for digit in str(book_id))
    for path in (f"/api/books/{full_width}", f"/api/books/{book_id}\u0663"):
        response = client.get(path)
        assert response.status_code == 404, (
            f"GET {path}: werkzeug's int converter takes any Unicode digit; use the given "
            "book_id converter (ASCII digits), so one book has one URL"
        )
    assert client.get(f"/api/books/{book_id}").status_code == 200


@pytest.mark.task(2)
def test_a_body_the_server_cannot_decode_is_400_not_500(app: Flask) -> None:
    with serve_wsgi(app) as port:
        for problem, body in MALFORMED_CHUNKED_BODIES.items():
            for method, path in (("POST", "/api/books"), ("PUT", "/api/books/1")):
                request = chunked_request(method, path, body, "application/json")
                response = raw_http(port, request, half_close=True)
                assert response.status == 400, f"{method} {path} with a {problem}: a 400, not 500"
                message = json.loads(response.body)["error"]["message"]
                assert message.startswith("the request body could not be read"), message
        intact = chunked_request("POST", "/api/books", b"2\r\n{}\r\n0\r\n\r\n", "application/json")
        response = raw_http(port, intact, half_close=True)
        assert response.status == 422, (
            "a well-formed chunked body is read as usual: {} lacks fields"
        )


@pytest.mark.task(5)
def test_item_routes_touch_exactly_the_book_they_name(client: FlaskClient) -> None:
    first, middle, last = add_books(client, 3)
    assert client.get(f"/api/books/{middle}").get_json()["title"] == "Book 1"
    replaced = client.put(f"/api/books/{middle}", json={**DUNE, "title": "Middle"})
    assert replaced.status_code == 200 and replaced.get_json()["id"] == middle
    assert client.delete(f"/api/books/{middle}").status_code == 204
    titles = {b["id"]: b["title"] for b in client.get("/api/books").get_json()["items"]}
    assert titles == {first: "Book 0", last: "Book 2"}, (
        "WHERE id = <id>: the books before and after the one named are untouched"
    )
