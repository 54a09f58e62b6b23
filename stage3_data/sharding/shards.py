"""Splitting across databases (分库): route each user's rows to one shard, fan out the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import BigInteger, ClauseElement, Engine, func, select
from sqlalchemy.ext.horizontal_shard import ShardedSession
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    ORMExecuteState,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from .ring import HashRing


class Base(DeclarativeBase):
    pass


class Order(Base):
    """An order, stored on its user's shard. The shard key (user_id) leads the primary key, so a
    primary key alone says where the row lives, and no two shards can mint the same key."""

    __tablename__ = "orders"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    amount: Mapped[int]

    def __repr__(self) -> str:
        return f"Order(user_id={self.user_id}, order_no={self.order_no}, amount={self.amount})"


def shard_of(ring: HashRing, user_id: int) -> str:
    """The shard that owns ``user_id``'s rows."""
    return ring.node_for(f"user:{user_id}")


def user_ids_in(statement: Any, params: Mapping[str, Any] | None = None) -> set[int] | None:
    """The user ids a statement is restricted to, or None when it may match any user.

    A bound value comes from ``params`` when the statement was executed with its parameters
    apart (``session.get`` does that), else from the bind parameter itself.

    Only conditions every row must satisfy count: the top-level terms of the WHERE clause
    (``where(a, b)`` is ``a AND b``), each ``Order.user_id == x`` or ``Order.user_id.in_(xs)``.
    Several such terms intersect. Anything under an OR restricts nothing.
    """
    # kata: begin collect Order.user_id == x / .in_(xs) from the top-level AND terms of statement.whereclause (None if there are none)
    where = getattr(statement, "whereclause", None)
    if where is None:
        return None
    if isinstance(where, BooleanClauseList) and where.operator is operators.and_:
        terms = list(where.clauses)
    else:
        terms = [where]
    found: set[int] | None = None
    for term in terms:
        if not (
            isinstance(term, BinaryExpression)
            and isinstance(term.right, BindParameter)
            and term.left.compare(Order.__table__.c.user_id)
        ):
            continue
        bind = term.right
        value: Any = (params or {}).get(bind.key, bind.effective_value)
        if term.operator is operators.eq:
            ids = {int(value)}
        elif term.operator is operators.in_op:
            ids = {int(v) for v in value}
        else:
            continue
        found = ids if found is None else found & ids
    return found
    # kata: end


def sharded_sessionmaker(
    engines: Mapping[str, Engine], ring: HashRing
) -> sessionmaker[ShardedSession]:
    """Sessions that write each Order to its user's shard and read only the shards a query needs.

    The ring's nodes are the keys of ``engines``.
    """
    # kata: begin define shard_chooser, identity_chooser and execute_chooser routing by user_id on the ring; return sessionmaker(class_=ShardedSession, ...)
    every_shard = list(engines)

    def shard_chooser(
        mapper: Mapper[Any] | None, instance: Any, clause: ClauseElement | None = None
    ) -> str:
        if isinstance(instance, Order):
            return shard_of(ring, instance.user_id)
        raise ValueError(f"no shard for {instance!r}: only Order rows are sharded")

    def identity_chooser(mapper: Mapper[Any], primary_key: tuple[Any, ...], **kw: Any) -> list[str]:
        return [shard_of(ring, primary_key[0])]  # (user_id, order_no): the key names the shard

    def execute_chooser(context: ORMExecuteState) -> Iterable[str]:
        params = context.parameters if isinstance(context.parameters, Mapping) else None
        user_ids = user_ids_in(context.statement, params)
        if user_ids is None:
            return every_shard  # no shard key to go by: ask every shard
        # an empty set (user_id IN () ...) matches nothing: one shard answers "no rows"
        return sorted({shard_of(ring, user_id) for user_id in user_ids}) or every_shard[:1]

    return sessionmaker(
        class_=ShardedSession,
        shards=dict(engines),
        shard_chooser=shard_chooser,
        identity_chooser=identity_chooser,
        execute_chooser=execute_chooser,
    )
    # kata: end


def top_orders(session: ShardedSession, n: int) -> list[Order]:
    """The ``n`` largest orders across all shards, by amount descending, then user_id, order_no.

    Each shard sorts and limits its own rows (ORDER BY ... LIMIT n pushed down), so it sends at
    most ``n``; the session concatenates the shards' results, which are then merged here.
    """
    # kata: begin run ORDER BY amount DESC, user_id, order_no LIMIT n on every shard, then sort the union the same way and keep n
    stmt = select(Order).order_by(Order.amount.desc(), Order.user_id, Order.order_no).limit(n)
    candidates = session.scalars(stmt).all()  # up to n from each shard, one shard after another
    return sorted(candidates, key=lambda o: (-o.amount, o.user_id, o.order_no))[:n]
    # kata: end


def count_orders(session: ShardedSession) -> int:
    """How many orders there are on all shards together."""
    # kata: begin fan out SELECT count(*) FROM orders (one row per shard) and add the rows up
    return sum(session.scalars(select(func.count()).select_from(Order)))
    # kata: end
