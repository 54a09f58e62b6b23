"""REST done right on FastAPI: status codes, conditional requests, pagination, idempotency."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

MAX_PAGE_SIZE = 50
#: Ids are a BIGINT column's positive range: a client-chosen id beyond it is refused with 422.
MAX_BOOK_ID = 2**63 - 1
HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


class BookIn(BaseModel):
    """The representation a client sends: everything but the id."""

    model_config = ConfigDict(extra="forbid")

    isbn: str = Field(pattern=r"^\d{13}$", description="ISBN-13, digits only; unique")
    title: str = Field(min_length=1, max_length=200)
    author: str = Field(min_length=1, max_length=100)


class Book(BookIn):
    id: int


class BookPage(BaseModel):
    items: list[Book]
    total: int
    page: int
    limit: int


class Problem(BaseModel):
    """The body of every error this API answers, but for invalid fields."""

    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidFields(BaseModel):
    """422 for fields that break the rules: one entry per error."""

    detail: list[FieldError]


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, so a client (and a fuzzer) knows them all."""
    described: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 304:
            described[status] = {"description": "Not Modified: If-None-Match names this version"}
        elif status == 422:
            described[status] = {"model": InvalidFields | Problem}
        else:
            described[status] = {"model": Problem}
    return described


class DuplicateIsbnError(Exception):
    """Another book already has this ISBN (a unique key): the API answers 409 Conflict."""


class BookRepository:
    """In-memory storage; a database is not the lesson here."""

    def __init__(self) -> None:
        self._books: dict[int, Book] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._books)

    def get(self, book_id: int) -> Book | None:
        return self._books.get(book_id)

    def add(self, data: BookIn) -> Book:
        """Store a new book under the next free server-assigned id."""
        # Ids a client chose with PUT are skipped, never followed: one PUT to a huge id must not
        # push every later POST to the end of the id space.
        while self._next_id in self._books:
            self._next_id += 1
        book, _ = self.put(self._next_id, data)
        return book

    def put(self, book_id: int, data: BookIn) -> tuple[Book, bool]:
        """Create or replace the book at ``book_id``; return it and whether it was created."""
        for other in self._books.values():
            if other.isbn == data.isbn and other.id != book_id:
                raise DuplicateIsbnError(f"isbn {data.isbn} already belongs to book {other.id}")
        created = book_id not in self._books
        book = Book(id=book_id, **data.model_dump())
        self._books[book_id] = book
        return book, created

    def delete(self, book_id: int) -> bool:
        return self._books.pop(book_id, None) is not None

    def page(self, offset: int, limit: int) -> list[Book]:
        return sorted(self._books.values(), key=lambda b: b.id)[offset : offset + limit]


@dataclass(frozen=True)
class StoredResponse:
    """What an Idempotency-Key's first request answered, to replay it byte for byte."""

    fingerprint: str
    status_code: int
    body: bytes
    headers: dict[str, str]


#: Idempotency records by (client, key): a key only means something for the client that sent it.
IdempotencyRecords = dict[tuple[str, str], StoredResponse]


def get_books(request: Request) -> BookRepository:
    books: BookRepository = request.app.state.books
    return books


def get_records(request: Request) -> IdempotencyRecords:
    records: IdempotencyRecords = request.app.state.idempotency
    return records


Books = Annotated[BookRepository, Depends(get_books)]
Records = Annotated[IdempotencyRecords, Depends(get_records)]
BookId = Annotated[int, Path(ge=1, le=MAX_BOOK_ID, description="a positive 64-bit integer")]


def etag_for(book: Book) -> str:
    """A strong validator for ``book``'s representation (equal bytes, equal tag)."""
    # kata: begin return a quoted sha256 hex digest of the book's JSON (sorted keys, no spaces)
    canonical = json.dumps(book.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return f'"{hashlib.sha256(canonical.encode()).hexdigest()}"'
    # kata: end


def etag_listed(header: str, etag: str, *, weak: bool) -> bool:
    """Whether an If-Match / If-None-Match value names ``etag``; ``*`` names any current one.

    If-None-Match compares weakly (``W/"x"`` matches ``"x"``); If-Match compares strongly,
    so a weak tag never matches there (RFC 9110 section 8.8.3.2).
    """
    # kata: begin split the header on commas; '*' matches; weak comparison drops the W/ prefix, strong never matches a W/ tag
    tags = [tag.strip() for tag in header.split(",")]
    if "*" in tags:
        return True
    if weak:
        return any(tag.removeprefix("W/") == etag for tag in tags)
    return etag in tags
    # kata: end


def payload_fingerprint(data: BookIn) -> str:
    """Equal payloads, equal fingerprints, however the client spaced or ordered its JSON."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


router = APIRouter()


@router.get("/books", response_model=BookPage, responses=documented(422))
async def list_books(
    request: Request,
    books: Books,
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1)] = 10,
) -> Response:
    """One page of books, oldest first, with RFC 8288 links to its neighbours."""
    # kata: begin clamp limit to MAX_PAGE_SIZE; answer the page with X-Total-Count and a Link header (first, prev, next, last)
    limit = min(limit, MAX_PAGE_SIZE)
    total = len(books)
    last = max(1, math.ceil(total / limit))
    rels = [("first", 1)]
    if page > 1:
        rels.append(("prev", min(page - 1, last)))
    if page < last:
        rels.append(("next", page + 1))
    rels.append(("last", last))
    link = ", ".join(
        f'<{request.url.include_query_params(page=number, limit=limit)}>; rel="{rel}"'
        for rel, number in rels
    )
    items = books.page(offset=(page - 1) * limit, limit=limit)
    body = BookPage(items=items, total=total, page=page, limit=limit)
    return JSONResponse(
        body.model_dump(mode="json"), headers={"X-Total-Count": str(total), "Link": link}
    )
    # kata: end


@router.get("/books/{book_id}", response_model=Book, responses=documented(304, 404, 422))
async def get_book(
    book_id: BookId, books: Books, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """One book, with its ETag; a client that already has this version gets 304."""
    # kata: begin 404 for an unknown id; send the ETag; 304 with no body when If-None-Match lists it
    book = books.get(book_id)
    if book is None:
        raise HTTPException(404, f"book {book_id} not found")
    etag = etag_for(book)
    if if_none_match is not None and etag_listed(if_none_match, etag, weak=True):
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(book.model_dump(mode="json"), headers={"ETag": etag})
    # kata: end


@router.post("/books", status_code=201, response_model=Book, responses=documented(400, 409, 422))
async def create_book(
    data: BookIn,
    request: Request,
    books: Books,
    records: Records,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
    x_client_id: Annotated[str, Header(min_length=1, max_length=100)] = "anonymous",
) -> Response:
    """Create a book under a new id: 201 + Location; an Idempotency-Key makes retries safe."""
    # kata: begin replay the stored response for (client, key) or 422 if the payload differs; else create (201 + Location, 409 on a duplicate isbn) and store the response under the key
    fingerprint = payload_fingerprint(data)
    scope = (x_client_id, idempotency_key) if idempotency_key is not None else None
    if scope is not None and (seen := records.get(scope)) is not None:
        if seen.fingerprint != fingerprint:
            return JSONResponse(
                {"detail": f"Idempotency-Key {idempotency_key!r} was already used with a "
                 "different payload; use a new key for a new request"},
                status_code=422,
            )  # fmt: skip
        return Response(seen.body, seen.status_code, seen.headers, media_type="application/json")
    try:
        book = books.add(data)
    except DuplicateIsbnError as exc:
        response = JSONResponse({"detail": str(exc)}, status_code=409)
    else:
        location = str(request.url_for("get_book", book_id=book.id))
        headers = {"Location": location, "ETag": etag_for(book)}
        response = JSONResponse(book.model_dump(mode="json"), status_code=201, headers=headers)
    if scope is not None:
        kept = {k: v for k, v in response.headers.items() if k in ("location", "etag")}
        records[scope] = StoredResponse(
            fingerprint, response.status_code, bytes(response.body), kept
        )
    return response
    # kata: end


@router.put(
    "/books/{book_id}",
    response_model=Book,
    responses={201: {"model": Book}, **documented(400, 409, 412, 422)},
)
async def put_book(
    book_id: BookId,
    data: BookIn,
    request: Request,
    books: Books,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Create or replace the book at a client-chosen id; the same PUT twice changes nothing."""
    # kata: begin 412 unless If-Match (when sent) names the current ETag; 409 on a duplicate isbn; 200 on replace, 201 + Location on create
    current = books.get(book_id)
    if if_match is not None and (
        current is None or not etag_listed(if_match, etag_for(current), weak=False)
    ):
        raise HTTPException(412, "If-Match does not name the current ETag; GET the book again")
    try:
        book, created = books.put(book_id, data)
    except DuplicateIsbnError as exc:
        raise HTTPException(409, str(exc)) from exc
    headers = {"ETag": etag_for(book)}
    if created:
        headers["Location"] = str(request.url)
    return JSONResponse(
        book.model_dump(mode="json"), status_code=201 if created else 200, headers=headers
    )
    # kata: end


@router.delete("/books/{book_id}", status_code=204, responses=documented(404, 412, 422))
async def delete_book(
    book_id: BookId, books: Books, if_match: Annotated[str | None, Header()] = None
) -> Response:
    """Delete a book: 204 with no body; deleting it again is 404 (the state stays the same)."""
    # kata: begin 404 if absent (a repeated DELETE too); 412 on a stale If-Match; else delete and answer 204 with no body
    current = books.get(book_id)
    if current is None:
        raise HTTPException(404, f"book {book_id} not found")
    if if_match is not None and not etag_listed(if_match, etag_for(current), weak=False):
        raise HTTPException(412, "If-Match does not name the current ETag; GET the book again")
    books.delete(book_id)
    return Response(status_code=204)
    # kata: end


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Bad syntax is the client's 400; well-formed JSON with invalid fields is 422."""
    # kata: begin 400 with a message for error type "json_invalid"; else 422 listing each error's loc, msg and type
    errors = exc.errors()
    broken = [e for e in errors if e["type"] == "json_invalid"]
    if broken:
        reason = broken[0].get("ctx", {}).get("error", "cannot be parsed")
        return JSONResponse({"detail": f"malformed JSON body: {reason}"}, status_code=400)
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
    return JSONResponse({"detail": detail}, status_code=422)
    # kata: end


async def method_not_allowed(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """405 must say which methods the resource does allow, in the Allow header."""
    # kata: begin probe each method in HTTP_METHODS against the app's routes; the ones that fully match form the Allow header
    allowed = {
        method
        for method in HTTP_METHODS
        for route in request.app.router.routes
        if route.matches({**request.scope, "method": method})[0] is Match.FULL
    }
    allow = ", ".join(sorted(allowed))
    return JSONResponse(
        {"detail": f"{request.method} is not allowed on {request.url.path}; allowed: {allow}"},
        status_code=405,
        headers={"Allow": allow},
    )
    # kata: end


def create_app() -> FastAPI:
    """A fresh app with empty storage: every test gets its own state."""
    app = FastAPI(title="Books")
    app.state.books = BookRepository()
    app.state.idempotency = {}
    app.include_router(router)
    app.exception_handler(RequestValidationError)(validation_error)
    app.exception_handler(405)(method_not_allowed)
    return app
