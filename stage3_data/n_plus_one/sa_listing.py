"""The N+1 problem in SQLAlchemy: lazy loading, loader options, and raiseload to forbid it.

Relationships load lazily by default: touching ``post.tags`` on a post that has not loaded them
sends a SELECT, right there. ``list_posts`` is given; what it costs depends only on the
statement you hand it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypedDict

from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Select,
    String,
    Table,
    create_engine,
    event,
    func,
    make_url,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    raiseload,
    relationship,
    selectinload,
)


class Base(DeclarativeBase):
    pass


post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    posts: Mapped[list[Post]] = relationship(back_populates="author")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    body: Mapped[str]
    approved: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime]
    post: Mapped[Post] = relationship(back_populates="comments")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[Author] = relationship(back_populates="posts")
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags, order_by=Tag.name)
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post", order_by=(Comment.created, Comment.id)
    )


class PostView(TypedDict):
    title: str
    author: str
    tags: list[str]  # by name
    comments: list[str]  # the approved comments' bodies, oldest first


def list_posts(session: Session, stmt: Select[Post]) -> list[PostView]:
    """The listing, from the posts ``stmt`` selects. Every relationship it touches that the
    statement did not load is a lazy load: one more SELECT per post."""
    return [
        {
            "title": post.title,
            "author": post.author.name,
            "tags": [tag.name for tag in post.tags],
            "comments": [comment.body for comment in post.comments if comment.approved],
        }
        for post in session.scalars(stmt)
    ]


def naive_posts() -> Select[Post]:
    """Every post, by id, nothing else loaded: listing them costs 1 + 2N + (distinct authors)
    queries (a many-to-one already in the session's identity map needs no query)."""
    return select(Post).order_by(Post.id)


def eager_posts() -> Select[Post]:
    """Every post, by id, with its author, tags and comments loaded up front: three queries."""
    # kata: begin select(Post) with joinedload(Post.author) (many-to-one: one JOIN) and selectinload for Post.tags and Post.comments (collections: one SELECT ... IN each); order by id
    return (
        select(Post)
        .options(
            joinedload(Post.author),
            selectinload(Post.tags),
            selectinload(Post.comments),
        )
        .order_by(Post.id)
    )
    # kata: end


def forbid_lazy_loads(stmt: Select[Post]) -> Select[Post]:
    """``stmt``, with every relationship it does not load explicitly set to raise on access
    instead of lazy loading: an N+1 then fails loudly in the tests instead of slowly in prod."""
    # kata: begin add the raiseload("*") option: every relationship not loaded otherwise raises
    return stmt.options(raiseload("*"))
    # kata: end


class QueryCounter:
    """``with QueryCounter(engine) as queries: ...`` records every statement the engine sends
    (its ``before_cursor_execute`` event) in ``queries.statements``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


def make_engine(url: str) -> Engine:
    """A sync engine on psycopg 3 for any ``postgresql://`` URL."""
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"))


AUTHORS = ("Ada", "Bob", "Cy")
TAGS = ("django", "orm", "python", "sql")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def add_posts(session: Session, count: int, *, comments: int = 3) -> None:
    """Add ``count`` more posts (numbered on from those there), written in turn by three authors,
    two tags each, ``comments`` comments each of which every third is not approved; commit."""
    authors = {a.name: a for a in session.scalars(select(Author))}
    authors |= {name: Author(name=name) for name in AUTHORS if name not in authors}
    tags = {t.name: t for t in session.scalars(select(Tag))}
    tags |= {name: Tag(name=name) for name in TAGS if name not in tags}
    start = session.scalar(select(func.count()).select_from(Post)) or 0
    for n in range(start, start + count):
        session.add(
            Post(
                title=f"Post {n}",
                author=authors[AUTHORS[n % len(AUTHORS)]],
                tags=[tags[TAGS[(n + 1) % len(TAGS)]], tags[TAGS[n % len(TAGS)]]],
                comments=[
                    Comment(
                        body=f"Comment {c} on post {n}",
                        approved=c % 3 != 2,
                        created=T0 + timedelta(minutes=n * comments + (comments - c)),
                    )
                    for c in range(comments)
                ],
            )
        )
    session.commit()
