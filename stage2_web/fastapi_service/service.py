"""A small FastAPI service: async endpoints, Pydantic v2, dependencies, lifespan, background tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    FastAPI,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
)
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ARRAY, String, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .. import fastapi_errors

# A static token -> user map stands in for a real identity provider.
TOKENS = {"token-ada": "ada", "token-bob": "bob"}
MAX_ID = 2**31 - 1  # PostgreSQL integer


def no_nul(text: str) -> str:
    """PostgreSQL text cannot hold NUL (U+0000): refuse it as a 422, before the INSERT fails."""
    if "\x00" in text:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return text


PgText = Annotated[str, AfterValidator(no_nul)]  # a str that PostgreSQL can store


class Base(DeclarativeBase):
    pass


class Todo(Base):
    __tablename__ = "todos"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(50), index=True)
    title: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int]
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    done: Mapped[bool] = mapped_column(default=False)


class TodoIn(BaseModel):
    """The body of POST /todos."""

    # kata: begin title 1-200 chars (stripped), priority 1-5 (default 3), up to 5 tags normalised by a field_validator; forbid extra; an example
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"title": "Write the report", "priority": 2, "tags": ["work"]}]
        },
    )

    title: PgText = Field(min_length=1, max_length=200)
    priority: int = Field(default=3, ge=1, le=5)
    tags: list[Annotated[str, Field(min_length=1, max_length=20), AfterValidator(no_nul)]] = Field(
        default_factory=list, max_length=5
    )

    @field_validator("tags")
    @classmethod
    def normalise_tags(cls, tags: list[str]) -> list[str]:
        """Tags are case-insensitive: store them lower-case, and each one once."""
        cleaned = [tag.lower() for tag in tags]
        if any(len(tag) > 20 for tag in cleaned):  # "İ".lower() is two characters
            raise ValueError("tags must be at most 20 characters once lower-cased")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("tags must be unique, ignoring case")
        return cleaned

    # kata: end


class TodoPatch(BaseModel):
    """The body of PATCH /todos/{id}: every field optional, but none may be null."""

    # kata: begin optional title/priority/done with TodoIn's limits; a field_validator refuses an explicit null
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: PgText | None = Field(default=None, min_length=1, max_length=200)
    priority: int | None = Field(default=None, ge=1, le=5)
    done: bool | None = None

    @field_validator("title", "priority", "done")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value

    # kata: end


class TodoOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    priority: int
    tags: list[str]
    done: bool


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One AsyncSession per request, closed after it."""
    # kata: begin yield a session from request.app.state.sessionmaker, closing it afterwards (async with)
    async with request.app.state.sessionmaker() as session:
        yield session
    # kata: end


bearer = HTTPBearer(auto_error=False)


async def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The user the bearer token belongs to; 401 with WWW-Authenticate: Bearer otherwise."""
    # kata: begin look the token up in TOKENS; missing or unknown -> 401 "invalid or missing bearer token"
    user = TOKENS.get(credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="invalid or missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user
    # kata: end


Session = Annotated[AsyncSession, Depends(get_session)]
CurrentUser = Annotated[str, Depends(current_user)]


async def owned_todo(
    todo_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, session: Session
) -> Todo:
    """The todo ``todo_id`` if ``user`` owns it; 404 otherwise, whoever else owns it."""
    # kata: begin load the Todo; 404 "todo <id> not found" if it is missing OR belongs to someone else
    todo = await session.get(Todo, todo_id)
    if todo is None or todo.owner != user:
        raise HTTPException(status_code=404, detail=f"todo {todo_id} not found")
    return todo
    # kata: end


OwnedTodo = Annotated[Todo, Depends(owned_todo)]


async def notify(outbox: list[str], message: str) -> None:
    """Stands in for an e-mail or a webhook: slow work that must not delay the response."""
    outbox.append(message)


class Problem(BaseModel):
    """The body of an error that is not about fields: ``{"detail": "..."}``."""

    detail: str


# Every error a route can answer is in the OpenAPI document, so clients (and a fuzzer) know them.
router = APIRouter(
    prefix="/todos",
    tags=["todos"],
    responses={
        400: {"model": Problem, "description": "The body is not valid JSON"},
        401: {"model": Problem, "description": "No bearer token, or an unknown one"},
        404: {"model": Problem, "description": "No such todo of yours (routes with an id)"},
    },
)


# kata: begin the endpoints: POST (201, Location, notify in background), GET list (own, by id, limit/offset), GET one, PATCH, DELETE (204, notify)
@router.post("", status_code=201, response_model=TodoOut)
async def create_todo(
    body: TodoIn,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    background: BackgroundTasks,
) -> Todo:
    todo = Todo(owner=user, **body.model_dump())
    session.add(todo)
    await session.commit()
    response.headers["Location"] = request.url_for("get_todo", todo_id=todo.id).path
    background.add_task(notify, request.app.state.outbox, f"{user} created todo {todo.id}")
    return todo


@router.get("", response_model=list[TodoOut])
async def list_todos(
    user: CurrentUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[Todo]:
    query = select(Todo).where(Todo.owner == user).order_by(Todo.id).limit(limit).offset(offset)
    return list(await session.scalars(query))


@router.get("/{todo_id}", response_model=TodoOut)
async def get_todo(todo: OwnedTodo) -> Todo:
    return todo


@router.patch("/{todo_id}", response_model=TodoOut)
async def update_todo(body: TodoPatch, todo: OwnedTodo, session: Session) -> Todo:
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(todo, field, value)
    await session.commit()
    return todo


@router.delete("/{todo_id}", status_code=204)
async def delete_todo(
    todo: OwnedTodo,
    user: CurrentUser,
    session: Session,
    request: Request,
    background: BackgroundTasks,
) -> None:
    await session.delete(todo)
    await session.commit()
    background.add_task(notify, request.app.state.outbox, f"{user} deleted todo {todo.id}")


# kata: end


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Startup: the engine, the tables and a sessionmaker on app.state. Shutdown: dispose."""
    # kata: begin create the async engine (postgresql+asyncpg) and tables, set app.state.engine/.sessionmaker, yield, dispose
    url = make_url(app.state.database_url).set(drivername="postgresql+asyncpg")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        app.state.engine = engine
        app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        yield
    finally:
        await engine.dispose()
    # kata: end


def create_app(database_url: str) -> FastAPI:
    """A new application: its own state, its own engine once the lifespan starts."""
    app = FastAPI(title="Todos", lifespan=lifespan)
    app.state.database_url = database_url
    app.state.outbox = []  # what the background notifications "sent"
    app.include_router(router)
    fastapi_errors.install(app)
    return app
