"""Fixtures of the advanced-ORM kata: a seeded Django shop, and a SQLAlchemy engine of its own.

The Django half runs on the harness's shared Django configuration (``django_db``: a transaction
rolled back after each test). Model modules need a configured Django, so they are imported
inside the fixtures and the test functions. The SQLAlchemy half gets a fresh database of its
own per test (``postgres_url``), not Django's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from .sa_orm import create_schema, make_engine

if TYPE_CHECKING:
    from .shop.models import Customer, Order, Product


T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Shop:
    customers: dict[str, Customer]
    products: dict[str, Product]
    orders: dict[str, Order]


@pytest.fixture
def shop(django_db: None) -> Shop:
    """Four customers, three products, eight orders (o1..o8); Cy has no order at all.

    ========  ======  =========  =====  ===========================================
    order     whose   status     when   lines
    ========  ======  =========  =====  ===========================================
    o1        Ada     paid       T0     KB x2 @ 50.00, MS x1 @ 20.00        = 120
    o2        Ada     paid       T0+2d  MN x1 @ 180.00 (on sale then)       = 180
    o3        Ada     pending    T0+3d  KB x1 @ 50.00, MS x2 @ 20.00        =  90
    o4        Bob     paid       T0+1d  MS x3 @ 20.00                       =  60
    o5        Bob     cancelled  T0+4d  MN x2 @ 200.00                      = 400
    o8        Bob     cancelled  T0     (no lines)
    o6        Dee     paid       T0+5d  (no lines)
    o7        Dee     pending    T0+5d  MS x1 @ 20.00 (same time as o6)    =  20
    ========  ======  =========  =====  ===========================================
    """
    from .shop.models import Customer, Order, OrderLine, Product

    customers = {
        name: Customer.objects.create(name=name, email=f"{name.lower()}@example.com")
        for name in ("Ada", "Bob", "Cy", "Dee")
    }
    products = {
        sku: Product.objects.create(sku=sku, name=name, price=Decimal(price), stock=stock)
        for sku, name, price, stock in (
            ("KB", "Keyboard", "50.00", 10),
            ("MS", "Mouse", "20.00", 5),
            ("MN", "Monitor", "200.00", 2),
        )
    }
    plan: list[tuple[str, str, str, int, list[tuple[str, int, str]]]] = [
        ("o1", "Ada", "paid", 0, [("KB", 2, "50.00"), ("MS", 1, "20.00")]),
        ("o2", "Ada", "paid", 2, [("MN", 1, "180.00")]),
        ("o3", "Ada", "pending", 3, [("KB", 1, "50.00"), ("MS", 2, "20.00")]),
        ("o4", "Bob", "paid", 1, [("MS", 3, "20.00")]),
        ("o5", "Bob", "cancelled", 4, [("MN", 2, "200.00")]),
        ("o8", "Bob", "cancelled", 0, []),
        ("o6", "Dee", "paid", 5, []),
        ("o7", "Dee", "pending", 5, [("MS", 1, "20.00")]),
    ]
    orders = {}
    for key, customer, status, days, lines in plan:
        order = Order.objects.create(
            customer=customers[customer], status=status, created=T0 + timedelta(days=days)
        )
        for sku, quantity, price in lines:
            OrderLine.objects.create(
                order=order, product=products[sku], quantity=quantity, unit_price=Decimal(price)
            )
        orders[key] = order
    return Shop(customers, products, orders)


class StatementLog:
    """Every SQL statement an engine sends, from its ``before_cursor_execute`` event."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self.record)

    def record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def clear(self) -> None:
        self.statements.clear()


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def sql(engine: Engine) -> StatementLog:
    """The statements sent from now on (the schema's are not counted)."""
    return StatementLog(engine)
