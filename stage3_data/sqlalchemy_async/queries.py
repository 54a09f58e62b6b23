"""SQLAlchemy 2.0 on asyncio: AsyncSession + select, eager loading, parallel sessions, transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import CheckConstraint, ForeignKey, String, func, make_url, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

BALANCE_CAP = 1_000_000


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    posts: Mapped[list[Post]] = relationship(back_populates="author", order_by="Post.id")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[User] = relationship(back_populates="posts")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(f"balance BETWEEN 0 AND {BALANCE_CAP}", name="balance_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(50))
    balance: Mapped[int]


def make_engine(url: str) -> AsyncEngine:
    """An async engine on asyncpg for ``url`` (any ``postgresql://`` URL)."""
    # kata: begin return create_async_engine on the same URL with the postgresql+asyncpg driver (make_url(...).set)
    return create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"))
    # kata: end


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory: objects stay readable after commit."""
    # kata: begin return async_sessionmaker bound to engine with expire_on_commit=False
    return async_sessionmaker(engine, expire_on_commit=False)
    # kata: end


async def create_schema(engine: AsyncEngine) -> None:
    """CREATE TABLE for every model. DDL is sync code: ``run_sync`` runs it on the async connection."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def users_named(session: AsyncSession, name: str) -> list[User]:
    """The article's sample: the ``User`` objects called ``name``, by id."""
    # kata: begin select(User).where(User.name == name).order_by(User.id); await session.execute; return the User objects (result.scalars())
    stmt = select(User).where(User.name == name).order_by(User.id)
    result = await session.execute(stmt)
    return list(result.scalars())
    # kata: end


async def users_lazily(session: AsyncSession) -> list[User]:
    """The naive version, given: users by name, their posts NOT loaded.

    Touching ``user.posts`` afterwards would need a lazy load — blocking IO that async
    SQLAlchemy refuses to do implicitly (``MissingGreenlet``).
    """
    result = await session.execute(select(User).order_by(User.name))
    return list(result.scalars())


async def users_with_posts(session: AsyncSession) -> list[User]:
    """Users by name with their posts already loaded, in two queries whatever the number of users."""
    # kata: begin like users_lazily, plus .options(selectinload(User.posts)) so user.posts needs no IO later
    stmt = select(User).options(selectinload(User.posts)).order_by(User.name)
    result = await session.execute(stmt)
    return list(result.scalars())
    # kata: end


async def post_counts(
    sessionmaker: async_sessionmaker[AsyncSession], user_ids: Sequence[int]
) -> dict[int, int]:
    """How many posts each user wrote, all users queried concurrently.

    An AsyncSession is not safe to share between tasks: each task opens its own session, and so
    checks out its own pooled connection.
    """

    # kata: begin run one task per user in an asyncio.TaskGroup, each with its own session, counting Post rows by author_id
    async def count(user_id: int) -> int:
        async with sessionmaker() as session:
            stmt = select(func.count()).select_from(Post).where(Post.author_id == user_id)
            return (await session.scalar(stmt)) or 0

    async with asyncio.TaskGroup() as group:
        tasks = {user_id: group.create_task(count(user_id)) for user_id in user_ids}
    return {user_id: task.result() for user_id, task in tasks.items()}
    # kata: end


async def transfer(
    sessionmaker: async_sessionmaker[AsyncSession], source: int, target: int, amount: int
) -> None:
    """Move ``amount`` from account ``source`` to ``target``: all of it, or nothing.

    One transaction (``async with session.begin()``): any error — a missing account
    (``LookupError``), a balance leaving its range (``IntegrityError`` from the CHECK) — rolls
    both changes back and propagates. Rows are locked (``SELECT ... FOR UPDATE``, in id order so
    two transfers never deadlock) so concurrent transfers cannot lose each other's updates.
    """
    # kata: begin in one session.begin() block: lock both accounts with_for_update (id order), debit, flush, credit
    async with sessionmaker() as session, session.begin():
        locked = await session.scalars(
            select(Account)
            .where(Account.id.in_([source, target]))
            .order_by(Account.id)
            .with_for_update()
        )
        accounts = {account.id: account for account in locked}
        for account_id in (source, target):
            if account_id not in accounts:
                raise LookupError(f"no account {account_id}")
        accounts[source].balance -= amount
        await session.flush()  # the debit reaches the database; the credit may still fail
        accounts[target].balance += amount
    # kata: end
