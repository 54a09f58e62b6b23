"""REST design kata: one test per rule, each through HTTP against a fresh in-memory app."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from .api import MAX_BOOK_ID, MAX_PAGE_SIZE, Book, BookIn, BookRepository, create_app, etag_listed

BASE = "http://test"
DUNE = {"isbn": "9780441172719", "title": "Dune", "author": "Frank Herbert"}
EMMA = {"isbn": "9780141439587", "title": "Emma", "author": "Jane Austen"}


@pytest.fixture
def app() -> FastAPI:
    return create_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def repo(app: FastAPI) -> BookRepository:
    books: BookRepository = app.state.books
    return books


def seed(app: FastAPI, count: int) -> list[Book]:
    """Store books directly, so a test exercises only the handler it is about."""
    return [
        repo(app).add(BookIn(isbn=f"978{i:010d}", title=f"Book {i}", author="Anon"))
        for i in range(count)
    ]


def page(number: int, limit: int = 10) -> tuple[str, dict[str, list[str]]]:
    return "/books", {"page": [str(number)], "limit": [str(limit)]}


def links(response: httpx.Response) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """Parse an RFC 8288 Link header into {rel: (path, query)}."""
    parsed = {}
    for part in response.headers["link"].split(","):
        target, rel = part.split(";")
        url = urlsplit(target.strip().strip("<>"))
        parsed[rel.strip().removeprefix("rel=").strip('"')] = (url.path, parse_qs(url.query))
    return parsed


@pytest.mark.task(5)
async def test_post_is_201_with_location_and_get_is_200(client: httpx.AsyncClient) -> None:
    created = await client.post("/books", json=DUNE)
    assert created.status_code == 201, "a POST that creates a resource answers 201 Created"
    assert created.json() == {"id": 1, **DUNE}, "201 carries the created representation"
    location = urljoin(str(created.request.url), created.headers["location"])
    assert location == f"{BASE}/books/1", "Location names the new resource's URL"
    fetched = await client.get(location)
    assert (fetched.status_code, fetched.json()) == (200, created.json()), "Location must resolve"
    assert created.headers.get("etag") == fetched.headers["etag"], (
        "201 carries the new book's ETag, so the client can send If-Match without a GET"
    )


@pytest.mark.task(7)
async def test_delete_is_204_with_an_empty_body(app: FastAPI, client: httpx.AsyncClient) -> None:
    [book] = seed(app, 1)
    response = await client.delete(f"/books/{book.id}")
    assert response.status_code == 204, "a successful DELETE with nothing to say is 204"
    assert response.content == b"", "204 No Content means no body at all"
    assert repo(app).get(book.id) is None, "the book is gone"


@pytest.mark.task(8)
async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/books", content=b'{"isbn": "9780441172719",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, "unparseable JSON is a syntax error: 400, not 422"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "JSON" in detail, "say what is wrong: the JSON is malformed"


@pytest.mark.task(8)
async def test_valid_json_with_invalid_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/books", json={"isbn": "12", "title": "", "author": "X"})
    assert response.status_code == 422, "well-formed JSON that breaks the rules is 422"
    errors = {tuple(e["loc"]): e["type"] for e in response.json()["detail"]}
    assert errors == {("body", "isbn"): "string_pattern_mismatch", ("body", "title"): "string_too_short"}, (
        "422 lists each invalid field so the client can fix it"
    )  # fmt: skip
    assert all(set(e) == {"loc", "msg", "type"} for e in response.json()["detail"]), (
        "each error is its loc, msg and type only: never echo the client's input back"
    )


@pytest.mark.task(4)
async def test_unknown_book_is_404_with_a_json_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/books/42")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "book 42 not found"}, "a 404 body says what is missing"


@pytest.mark.task(9)
async def test_405_lists_every_allowed_method(app: FastAPI, client: httpx.AsyncClient) -> None:
    seed(app, 1)
    item = await client.patch("/books/1", json={"title": "x"})
    assert item.status_code == 405
    assert item.headers["allow"] == "DELETE, GET, PUT", (
        "Allow lists the methods of every route on the path, not just the first route that matched"
    )
    assert "PATCH" in item.json()["detail"], "the body says which method was refused"
    collection = await client.delete("/books")
    assert (collection.status_code, collection.headers["allow"]) == (405, "GET, POST")


@pytest.mark.task(5)
async def test_duplicate_isbn_is_409(app: FastAPI, client: httpx.AsyncClient) -> None:
    [book] = seed(app, 1)
    clash = {**DUNE, "isbn": book.isbn}
    posted = await client.post("/books", json=clash)
    assert posted.status_code == 409, "a unique key that is taken is a conflict with current state"
    assert book.isbn in posted.json()["detail"], "the body names the conflicting value"
    put = await client.put("/books/7", json=clash)
    assert put.status_code == 409, "PUT may not create a second book with a taken isbn either"
    assert len(repo(app)) == 1, "a conflict changes nothing"


@pytest.mark.task(6)
async def test_put_creates_or_replaces_and_is_idempotent(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await client.put("/books/7", json=DUNE)
    assert first.status_code == 201, "PUT at a new client-chosen id creates: 201"
    assert urljoin(BASE, first.headers["location"]) == f"{BASE}/books/7"
    again = [await client.put("/books/7", json=DUNE) for _ in range(2)]
    assert [r.status_code for r in again] == [200, 200], "PUT on an existing id replaces: 200"
    assert again[0].json() == again[1].json() == first.json() == {"id": 7, **DUNE}
    assert again[0].headers["etag"] == again[1].headers["etag"] == first.headers["etag"], (
        "the same PUT twice leaves the same state, so the same ETag"
    )
    assert len(repo(app)) == 1, "repeating a PUT never creates another resource"
    replaced = await client.put("/books/7", json={**DUNE, "title": "Dune Messiah"})
    assert (replaced.status_code, replaced.json()["title"]) == (200, "Dune Messiah")


@pytest.mark.task(7)
async def test_delete_is_idempotent_the_second_one_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    books = seed(app, 2)
    first = await client.delete(f"/books/{books[0].id}")
    second = await client.delete(f"/books/{books[0].id}")
    assert first.status_code == 204
    assert second.status_code == 404, "our choice: the second DELETE says the book is not there"
    assert second.json() == {"detail": f"book {books[0].id} not found"}
    assert [b.id for b in repo(app).page(0, 10)] == [books[1].id], (
        "idempotent means the same server state after one DELETE or two, not the same status code"
    )


@pytest.mark.task(5)
async def test_idempotency_key_replays_the_first_response(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = {"Idempotency-Key": "7f1c0d1e", "X-Client-Id": "shop"}
    first = await client.post("/books", json=DUNE, headers=headers)
    # The retry re-serialises the same payload with other key order and spacing.
    retry_body = json.dumps(dict(reversed(DUNE.items())), indent=2).encode()
    retry = await client.post(
        "/books", content=retry_body, headers={**headers, "content-type": "application/json"}
    )
    assert first.status_code == 201
    assert (retry.status_code, retry.json()) == (first.status_code, first.json()), (
        "a retry with the same key and payload replays the first response"
    )
    assert retry.headers["location"] == first.headers["location"], "including its Location"
    assert retry.headers.get("etag") == first.headers["etag"], "and its ETag"
    assert len(repo(app)) == 1, "the retry must not create a second book"


@pytest.mark.task(5)
async def test_idempotency_key_replays_a_conflict_too(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    [book] = seed(app, 1)
    headers = {"Idempotency-Key": "k-409"}
    clash = {**DUNE, "isbn": book.isbn}
    first = await client.post("/books", json=clash, headers=headers)
    repo(app).delete(book.id)  # the conflict is gone, but the key already has its answer
    retry = await client.post("/books", json=clash, headers=headers)
    assert first.status_code == retry.status_code == 409, "the key replays the first outcome"
    assert retry.json() == first.json()
    assert len(repo(app)) == 0, "a replay never runs the operation again"


@pytest.mark.task(5)
async def test_idempotency_key_with_another_payload_is_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = {"Idempotency-Key": "abc-123"}
    first = await client.post("/books", json=DUNE, headers=headers)
    reused = await client.post("/books", json=EMMA, headers=headers)
    assert first.status_code == 201
    assert reused.status_code == 422, (
        "the IETF Idempotency-Key draft: key reuse with another payload is 422"
    )
    assert "Idempotency-Key" in reused.json()["detail"], "the message says the key was misused"
    assert len(repo(app)) == 1, "the second payload is not processed"
    other_key = {"Idempotency-Key": "xyz-789"}  # the same two payloads in the other order
    assert (await client.post("/books", json=EMMA, headers=other_key)).status_code == 201
    swapped = await client.post("/books", json=DUNE, headers=other_key)
    assert swapped.status_code == 422, "fingerprints differ or not: compare with !=, not < or >"


@pytest.mark.task(5)
async def test_idempotency_keys_are_scoped_per_client(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    key = "same-key"
    shop = await client.post(
        "/books", json=DUNE, headers={"Idempotency-Key": key, "X-Client-Id": "shop"}
    )
    blog = await client.post(
        "/books", json=EMMA, headers={"Idempotency-Key": key, "X-Client-Id": "blog"}
    )
    assert (shop.status_code, blog.status_code) == (201, 201), (
        "two clients may pick the same key: keys are scoped per client"
    )
    assert len(repo(app)) == 2
    plain = [await client.post("/books", json={**EMMA, "isbn": f"978000000000{i}"}) for i in (1, 2)]
    assert [r.status_code for r in plain] == [201, 201], (
        "without a key, every POST is a new request"
    )
    assert len(repo(app)) == 4


@pytest.mark.task(4)
async def test_etag_and_if_none_match(app: FastAPI, client: httpx.AsyncClient) -> None:
    books = seed(app, 2)
    response = await client.get(f"/books/{books[0].id}")
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2, (
        "an ETag is a quoted string"
    )
    other = (await client.get(f"/books/{books[1].id}")).headers["etag"]
    assert other != etag, "different representations, different ETags"
    cached = await client.get(f"/books/{books[0].id}", headers={"If-None-Match": f'"nope", {etag}'})
    assert cached.status_code == 304, "If-None-Match listing the current ETag: 304 Not Modified"
    assert (cached.content, cached.headers["etag"]) == (b"", etag), "304 has no body but the ETag"
    weak = await client.get(f"/books/{books[0].id}", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304, "If-None-Match uses the weak comparison"
    repo(app).put(books[0].id, BookIn(isbn=books[0].isbn, title="Changed", author="Anon"))
    fresh = await client.get(f"/books/{books[0].id}", headers={"If-None-Match": etag})
    assert fresh.status_code == 200, "after a change the old ETag no longer matches"
    assert fresh.headers["etag"] != etag and fresh.json()["title"] == "Changed"


@pytest.mark.task(6)
async def test_if_match_guards_put_and_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    [book] = seed(app, 1)
    url = f"/books/{book.id}"
    etag = (await client.get(url)).headers["etag"]
    update = {"isbn": book.isbn, "title": "Second edition", "author": "Anon"}
    ok = await client.put(url, json=update, headers={"If-Match": etag})
    assert ok.status_code == 200, "If-Match with the current ETag: the update goes through"
    stale = await client.put(
        url, json={**update, "title": "Lost update"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412, "a stale ETag means someone else changed it: 412"
    assert "If-Match" in stale.json()["detail"]
    weak = await client.put(url, json=update, headers={"If-Match": f"W/{ok.headers['etag']}"})
    assert weak.status_code == 412, "If-Match uses the strong comparison: a weak tag never matches"
    gone = await client.delete(url, headers={"If-Match": etag})
    assert gone.status_code == 412, "DELETE honours If-Match too"
    weak_delete = await client.delete(url, headers={"If-Match": f"W/{ok.headers['etag']}"})
    assert weak_delete.status_code == 412, "DELETE's If-Match is strong too: W/ never matches"
    current = repo(app).get(book.id)
    assert current is not None and current.title == "Second edition", (
        "a failed precondition changes nothing"
    )
    deleted = await client.delete(url, headers={"If-Match": ok.headers["etag"]})
    assert deleted.status_code == 204
    missing = await client.put("/books/99", json=EMMA, headers={"If-Match": "*"})
    assert missing.status_code == 412, "If-Match: * means 'only if it exists'"


@pytest.mark.task(3)
async def test_pagination_links_and_total(app: FastAPI, client: httpx.AsyncClient) -> None:
    seed(app, 25)
    first = await client.get("/books", params={"limit": 10})
    assert first.status_code == 200
    assert first.headers["x-total-count"] == "25"
    body = first.json()
    assert (body["total"], body["page"], body["limit"]) == (25, 1, 10)
    assert [b["id"] for b in body["items"]] == list(range(1, 11))
    assert links(first) == {"first": page(1), "next": page(2), "last": page(3)}, (
        "the first page has no prev"
    )
    middle = await client.get("/books", params={"page": 2, "limit": 10})
    assert links(middle) == {"first": page(1), "prev": page(1), "next": page(3), "last": page(3)}
    last = await client.get("/books", params={"page": 3, "limit": 10})
    assert [b["id"] for b in last.json()["items"]] == list(range(21, 26))
    assert links(last) == {"first": page(1), "prev": page(2), "last": page(3)}, (
        "no next on the last"
    )


@pytest.mark.task(3)
async def test_pagination_when_the_total_divides_evenly(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    seed(app, 20)
    last = await client.get("/books", params={"page": 2, "limit": 10})
    assert [b["id"] for b in last.json()["items"]] == list(range(11, 21))
    assert links(last) == {"first": page(1), "prev": page(1), "last": page(2)}, (
        "20 books in pages of 10 are 2 pages: last = ceil(total / limit), and no next on it"
    )
    past = await client.get("/books", params={"page": 3, "limit": 10})
    assert (past.status_code, past.json()["items"], past.json()["total"]) == (200, [], 20), (
        "a page past the end is empty"
    )
    assert links(past) == {"first": page(1), "prev": page(2), "last": page(2)}, (
        "one past the last page: back to the last, and no next"
    )
    exact = await client.get("/books", params={"limit": 20})
    assert links(exact) == {"first": page(1, 20), "last": page(1, 20)}, "one full page"


@pytest.mark.task(3)
async def test_page_size_is_capped(app: FastAPI, client: httpx.AsyncClient) -> None:
    seed(app, MAX_PAGE_SIZE + 5)
    huge = await client.get("/books", params={"limit": 10_000})
    assert huge.status_code == 200
    assert len(huge.json()["items"]) == MAX_PAGE_SIZE, "a huge limit is clamped to the maximum"
    assert huge.json()["limit"] == MAX_PAGE_SIZE, "the body reports the limit actually used"
    assert links(huge)["next"] == page(2, limit=MAX_PAGE_SIZE), "links carry the clamped limit"
    zero = await client.get("/books", params={"limit": 0})
    assert zero.status_code == 422, "a limit below 1 is invalid input"
    assert [e["loc"] for e in zero.json()["detail"]] == [["query", "limit"]]


@pytest.mark.task(3)
async def test_empty_collection_has_one_page(client: httpx.AsyncClient) -> None:
    empty = await client.get("/books")
    assert (empty.status_code, empty.json()["items"], empty.headers["x-total-count"]) == (
        200,
        [],
        "0",
    )
    assert links(empty) == {"first": page(1), "last": page(1)}, (
        "an empty collection is one empty page: last is page 1 (page 0 does not exist), no next"
    )  # fmt: skip


@pytest.mark.task(1)
async def test_etag_is_the_sha256_of_the_canonical_json(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    [book] = seed(app, 1)
    canonical = json.dumps(book.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    expected = f'"{hashlib.sha256(canonical.encode()).hexdigest()}"'
    response = await client.get(f"/books/{book.id}")
    assert response.headers["etag"] == expected, (
        "hash the JSON with sorted keys and no spaces, so the tag depends only on the data"
    )


@pytest.mark.task(2)
def test_etag_comparison_rules() -> None:
    assert etag_listed('"a", "b"', '"b"', weak=False), "If-Match may list several tags"
    assert etag_listed("*", '"a"', weak=False), "* matches any current representation"
    assert etag_listed('W/"a"', '"a"', weak=True), "the weak comparison ignores W/"
    assert not etag_listed('W/"a"', '"a"', weak=False), "the strong comparison never matches W/"
    assert not etag_listed('"ab"', '"a"', weak=True), "tags compare whole, not by prefix"
    assert not etag_listed('"ab"', '"a"', weak=False)
    assert not etag_listed('"a"', '"ab"', weak=True), "nor as a prefix of the tag"
    assert etag_listed("*", '"a"', weak=True), "If-None-Match: * matches any current one too"
    assert etag_listed('"x",W/"a"', '"a"', weak=True), "a weak tag later in the list, no space"
    assert not etag_listed('"x",W/"a"', '"a"', weak=False)
    assert not etag_listed('"x", "y"', '"a"', weak=True), "no tag of the list names it"


@pytest.mark.task(4)
async def test_if_none_match_star_is_304(app: FastAPI, client: httpx.AsyncClient) -> None:
    [book] = seed(app, 1)
    cached = await client.get(f"/books/{book.id}", headers={"If-None-Match": "*"})
    assert (cached.status_code, cached.content) == (304, b""), "* names any current version"


@pytest.mark.task(6)
async def test_put_if_match_star_or_a_list_naming_the_current_etag(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    [book] = seed(app, 1)
    url = f"/books/{book.id}"
    update = {"isbn": book.isbn, "title": "Revised", "author": "Anon"}
    star = await client.put(url, json=update, headers={"If-Match": "*"})
    assert star.status_code == 200, "If-Match: * means 'only if it exists', and it does"
    etag = star.headers["etag"]
    listed = await client.put(
        url, json={**update, "title": "Third"}, headers={"If-Match": f'"older", {etag}'}
    )
    assert listed.status_code == 200, "If-Match may list several tags; one is the current"
    current = repo(app).get(book.id)
    assert current is not None and current.title == "Third"


@pytest.mark.task(7)
async def test_delete_checks_existence_before_if_match(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    [book] = seed(app, 1)
    missing = await client.delete("/books/99", headers={"If-Match": '"stale"'})
    assert (missing.status_code, missing.json()) == (404, {"detail": "book 99 not found"}), (
        "absent first: a repeated DELETE is a 404 whatever If-Match says"
    )
    star = await client.delete(f"/books/{book.id}", headers={"If-Match": "*"})
    assert (star.status_code, star.content) == (204, b""), "If-Match: * and the book exists"
    assert repo(app).get(book.id) is None


@pytest.mark.task(6)
async def test_ids_are_bounded_and_a_put_far_out_does_not_move_post(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    edge = await client.put(f"/books/{MAX_BOOK_ID}", json=DUNE)
    assert edge.status_code == 201, "the largest BIGINT is a valid client-chosen id"
    created = await client.post("/books", json=EMMA)
    assert (created.status_code, created.json()["id"]) == (201, 1), (
        "server-assigned ids skip the ids clients chose: they do not jump past them"
    )
    for bad in ("0", "-1", str(MAX_BOOK_ID + 1), "9" * 4300, "9" * 5000):
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(method, f"/books/{bad}", json=EMMA)
            assert response.status_code == 422, f"{method} /books/<{len(bad)} digits>: 422"
    listing = await client.get("/books")
    assert (listing.status_code, listing.json()["total"]) == (200, 2)
