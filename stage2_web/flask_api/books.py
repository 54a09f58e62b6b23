"""A small book API in Flask: an application factory, blueprints, config, and JSON errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

from flask import Blueprint, Flask, abort, current_app, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    make_url,
    select,
    text,
    update,
)
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from ..flask_body import read_body

M = TypeVar("M", bound=BaseModel)

metadata = MetaData()
books = Table(
    "books",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("author", String(100), nullable=False),
    Column("year", Integer, nullable=False),
)

health_bp = Blueprint("health", __name__)
books_bp = Blueprint("books", __name__, url_prefix="/api/books")


def decimal_up_to(limit: int) -> str:
    """A regex for the numbers 0 to ``limit`` written plainly: no sign, no leading zero.

    The router must refuse a larger id itself: werkzeug tries a route's method before its
    converter, so an id the converter rejects on PUT would be a 405 (the GET route matched).
    """
    digits = str(limit)
    alternatives = ["0"]
    if len(digits) > 1:  # fewer digits than the limit: any such number
        alternatives.append(f"[1-9][0-9]{{0,{len(digits) - 2}}}")
    for i, digit in enumerate(digits):  # as many digits: the limit's prefix, then a smaller digit
        lowest = 1 if i == 0 else 0
        if int(digit) > lowest:
            rest = len(digits) - i - 1
            alternatives.append(f"{digits[:i]}[{lowest}-{int(digit) - 1}][0-9]{{{rest}}}")
    alternatives.append(digits)
    return "(?:" + "|".join(alternatives) + ")"


class BookIdConverter(IntegerConverter):
    """``<book_id:...>``: 0 to PostgreSQL's largest integer (2**31-1), in ASCII digits only.

    Werkzeug's ``int`` matches ``\\d``, which also takes full-width and other Unicode digits, and
    leading zeros, so ``/api/books/９９`` (full-width) and ``/api/books/099`` would reach book
    99: one resource, several URLs.
    """

    regex = decimal_up_to(2**31 - 1)


@books_bp.record_once
def register_book_id(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["book_id"] = BookIdConverter


# A body the server cannot decode (a broken chunk) is a 400 before any view reads it.
books_bp.before_request(read_body)


class BookIn(BaseModel):
    """The body of POST /api/books and PUT /api/books/<id>."""

    # kata: begin declare title (1-200 chars), author (1-100), year (1450-2100); strict, strip strings, forbid extra keys
    model_config = ConfigDict(strict=True, str_strip_whitespace=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    author: str = Field(min_length=1, max_length=100)
    year: int = Field(ge=1450, le=2100)

    @field_validator("title", "author")
    @classmethod
    def no_nul(cls, value: str) -> str:
        """PostgreSQL text cannot hold NUL: refuse it here (422), not in the INSERT (500)."""
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
        return value

    # kata: end


class Page(BaseModel):
    """The query string of GET /api/books: ``?page=2&size=10`` (lax: query values are strings)."""

    page: int = Field(default=1, ge=1, le=1_000_000)
    size: int | None = Field(default=None, ge=1, le=100)


class InvalidFields(UnprocessableEntity):
    """A 422 that carries one ``{"field", "type", "message"}`` entry per invalid field."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("some fields are invalid")
        self.fields = fields


def validate(model: type[M], data: object) -> M:
    """``data`` validated as ``model``; raise InvalidFields (422) listing every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(map(str, e["loc"])), "type": e["type"], "message": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidFields(fields) from None


def json_body() -> dict[str, Any]:
    """The request's JSON object, or an HTTP error that says what is wrong with the body."""
    # kata: begin 415 unless the Content-Type is JSON, 400 for malformed JSON or a non-object, else return the dict
    if not request.is_json:
        raise UnsupportedMediaType("send a JSON object with Content-Type: application/json")
    try:
        payload = request.get_json(silent=True)  # None, rather than an HTML 400, if it won't parse
    except RecursionError:  # json.loads' answer to [[[[...: not a ValueError, so not silenced
        raise BadRequest("the body is nested too deeply") from None
    if payload is None:
        raise BadRequest("the body is not valid JSON")
    if not isinstance(payload, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(payload).__name__}")
    return payload
    # kata: end


def json_error(exc: HTTPException) -> ResponseReturnValue:
    """Every HTTP error as ``{"error": {"status", "message"[, "fields"]}}`` with its own headers."""
    # kata: begin start from exc.get_response() (it keeps Allow etc.), replace the body with the JSON error
    response = exc.get_response()
    error: dict[str, Any] = {"status": exc.code, "message": exc.description}
    if isinstance(exc, InvalidFields):
        error["fields"] = exc.fields
    response.set_data(json.dumps({"error": error}))
    response.content_type = "application/json"
    return response
    # kata: end


def engine() -> Engine:
    """The application's engine, made by create_app."""
    result: Engine = current_app.extensions["engine"]
    return result


@health_bp.get("/health")
def health() -> ResponseReturnValue:
    with engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok"}


# kata: begin GET /api/books (page/size from validate(Page, ...), ordered by id) and POST (201 + Location)
@books_bp.get("")
def list_books() -> ResponseReturnValue:
    query = validate(Page, request.args.to_dict())
    size: int = query.size or current_app.config["PAGE_SIZE"]
    page = select(books).order_by(books.c.id).limit(size).offset((query.page - 1) * size)
    with engine().connect() as conn:
        total = conn.scalar(select(func.count()).select_from(books))
        items = [dict(row) for row in conn.execute(page).mappings()]
    return {"items": items, "page": query.page, "size": size, "total": total}


@books_bp.post("")
def create_book() -> ResponseReturnValue:
    book = validate(BookIn, json_body())
    with engine().begin() as conn:
        row = (
            conn.execute(insert(books).values(book.model_dump()).returning(books)).mappings().one()
        )
    return dict(row), 201, {"Location": url_for(".get_book", book_id=row["id"])}


# kata: end


# kata: begin GET, PUT and DELETE /api/books/<id>: ids up to 2**31-1 only, 404 JSON for a missing book
BOOK = "/<book_id:book_id>"  # ASCII digits up to PostgreSQL's integer: a larger id cannot exist


def not_found(book_id: int) -> NoReturn:
    abort(404, description=f"no book with id {book_id}")


@books_bp.get(BOOK)
def get_book(book_id: int) -> ResponseReturnValue:
    with engine().connect() as conn:
        row = conn.execute(select(books).where(books.c.id == book_id)).mappings().one_or_none()
    if row is None:
        not_found(book_id)
    return dict(row)


@books_bp.put(BOOK)
def replace_book(book_id: int) -> ResponseReturnValue:
    book = validate(BookIn, json_body())
    change = update(books).where(books.c.id == book_id).values(book.model_dump())
    with engine().begin() as conn:
        row = conn.execute(change.returning(books)).mappings().one_or_none()
    if row is None:
        not_found(book_id)
    return dict(row)


@books_bp.delete(BOOK)
def delete_book(book_id: int) -> ResponseReturnValue:
    with engine().begin() as conn:
        gone = conn.execute(delete(books).where(books.c.id == book_id).returning(books.c.id))
        if gone.first() is None:
            not_found(book_id)
    return "", 204


# kata: end


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an application: defaults, then ``BOOKS_*`` environment variables, then ``config``."""
    app = Flask(__name__)
    # kata: begin load config (defaults, BOOKS_* env, then config), make the engine + tables, register blueprints and json_error
    app.config.from_mapping(PAGE_SIZE=20, DATABASE_URL=None)
    app.config.from_prefixed_env("BOOKS")  # BOOKS_PAGE_SIZE=5 -> PAGE_SIZE = 5 (parsed as JSON)
    app.config.from_mapping(config or {})
    if not app.config["DATABASE_URL"]:
        raise RuntimeError("no database: set BOOKS_DATABASE_URL or pass DATABASE_URL")
    url = make_url(app.config["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    app.extensions["engine"] = create_engine(url)
    metadata.create_all(app.extensions["engine"])
    app.register_blueprint(health_bp)
    app.register_blueprint(books_bp)
    app.register_error_handler(HTTPException, json_error)
    # kata: end
    return app
