"""SQLAlchemy 2.0 past select(): hybrid properties, CTEs, window functions and upserts.

The same shop as the Django half, plus a category tree. Sync ``Session`` on psycopg 3; every
function sends ONE statement, which the tests check with an engine event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    Numeric,
    String,
    create_engine,
    func,
    literal,
    make_url,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship

Money = Numeric(10, 2)


class Base(DeclarativeBase):
    pass


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    products: Mapped[list[Product]] = relationship(back_populates="category")


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Money)
    stock: Mapped[int] = mapped_column(default=0, server_default="0")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    category: Mapped[Category | None] = relationship(back_populates="products")
    lines: Mapped[list[Line]] = relationship(back_populates="product")


class Line(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)
    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(back_populates="lines")

    # kata: begin a @hybrid_property `total` = quantity * unit_price: a Decimal on an instance, a SQL expression on the class
    @hybrid_property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price

    # kata: end


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    customer: Mapped[Customer] = relationship(back_populates="orders")
    lines: Mapped[list[Line]] = relationship(back_populates="order", order_by=Line.id)

    # kata: begin a @hybrid_property `total`: the sum of the lines' totals in Python, and as its .expression a correlated scalar subquery (coalesce(sum(Line.total), 0))
    @hybrid_property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))

    @total.inplace.expression
    @classmethod
    def _total_expression(cls) -> ColumnElement[Decimal]:
        return (
            select(func.coalesce(func.sum(Line.total), 0))
            .where(Line.order_id == cls.id)
            .scalar_subquery()
        )

    # kata: end


def make_engine(url: str) -> Engine:
    """A sync engine on psycopg 3 for any ``postgresql://`` URL."""
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"))


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)


def big_spenders(session: Session) -> list[tuple[str, Decimal]]:
    """Customers whose revenue (sum of their PAID orders' line totals) is above the average
    revenue of the customers who have any, as (name, revenue), best first, then by name."""
    # kata: begin a CTE "totals" of (customer_id, revenue) over paid orders' Line.total; join it to Customer; where revenue > the CTE's average (scalar subquery)
    totals = (
        select(Order.customer_id, func.sum(Line.total).label("revenue"))
        .join(Order.lines)
        .where(Order.status == "paid")
        .group_by(Order.customer_id)
        .cte("totals")
    )
    average = select(func.avg(totals.c.revenue)).scalar_subquery()
    stmt = (
        select(Customer.name, totals.c.revenue)
        .join(totals, totals.c.customer_id == Customer.id)
        .where(totals.c.revenue > average)
        .order_by(totals.c.revenue.desc(), Customer.name)
    )
    return [(name, revenue) for name, revenue in session.execute(stmt)]
    # kata: end


def category_subtree(session: Session, root: str) -> list[tuple[str, int]]:
    """The category named ``root`` and every category below it, at any depth, as (name, depth)
    with depth 0 for the root; by depth, then name. Empty when there is no such category."""
    # kata: begin a recursive CTE: the root at depth 0, union_all the children (aliased Category) of rows already found at depth + 1
    tree = (
        select(Category.id, Category.name, literal(0, Integer).label("depth"))
        .where(Category.name == root)
        .cte("tree", recursive=True)
    )
    child = aliased(Category)
    tree = tree.union_all(
        select(child.id, child.name, tree.c.depth + 1).where(child.parent_id == tree.c.id)
    )
    stmt = select(tree.c.name, tree.c.depth).order_by(tree.c.depth, tree.c.name)
    return [(name, depth) for name, depth in session.execute(stmt)]
    # kata: end


def top_sellers(session: Session, per_category: int) -> list[tuple[str, str, Decimal, int]]:
    """The best-selling products of each category by revenue (sum of Line.total over every
    line): rows (category, product, revenue, rank) with rank <= ``per_category``. Ties share a
    rank and the next rank skips (1, 2, 2, 4: SQL's rank()). By category, rank, product."""
    # kata: begin rank() over (partition by category, order by sum(Line.total) desc) in a subquery; filter rank <= per_category outside it
    revenue = func.sum(Line.total)
    ranked = (
        select(
            Category.name.label("category"),
            Product.name.label("product"),
            revenue.label("revenue"),
            func.rank()
            .over(partition_by=Product.category_id, order_by=revenue.desc())
            .label("rank"),
        )
        .join(Product.category)
        .join(Product.lines)
        .group_by(Product.category_id, Category.name, Product.id, Product.name)
        .subquery()
    )
    stmt = (
        select(ranked.c.category, ranked.c.product, ranked.c.revenue, ranked.c["rank"])
        .where(ranked.c["rank"] <= per_category)
        .order_by(ranked.c.category, ranked.c["rank"], ranked.c.product)
    )
    return [(c, p, r, n) for c, p, r, n in session.execute(stmt)]
    # kata: end


def running_totals(session: Session, customer_id: int) -> list[tuple[int, Decimal, Decimal]]:
    """The customer's orders that have lines, as (order id, order total, running total): the
    running total adds the orders up in (created, id) order, one order at a time, even when two
    orders share a timestamp."""
    # kata: begin group Line.total by order; sum(sum(...)) over (order by created, id) for the running total
    order_total = func.sum(Line.total)
    stmt = (
        select(
            Order.id,
            order_total,
            func.sum(order_total).over(order_by=(Order.created, Order.id)),
        )
        .join(Order.lines)
        .where(Order.customer_id == customer_id)
        .group_by(Order.id)
        .order_by(Order.created, Order.id)
    )
    return [(order_id, total, running) for order_id, total, running in session.execute(stmt)]
    # kata: end


def upsert_price_list(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or update products from a supplier's price list (dicts with sku, name, price) in
    ONE statement: a new sku is inserted (stock 0); a known sku gets the new name and price
    and keeps its stock, which is the warehouse's, not the supplier's. Running it twice changes
    nothing more."""
    # kata: begin postgresql insert(Product).values(rows).on_conflict_do_update(index_elements=[Product.sku], set_=name and price from stmt.excluded)
    stmt = insert(Product).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": stmt.excluded.name, "price": stmt.excluded.price},
    )
    session.execute(stmt)
    # kata: end
