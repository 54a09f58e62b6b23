"""The SQLAlchemy half: hybrids, CTEs (plain and recursive), window functions, an upsert.

Each test checks the answer and the one statement that produced it (``sql``: the engine's
``before_cursor_execute`` event), so doing the work in Python instead shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from .conftest import StatementLog
from .sa_orm import (
    Category,
    Customer,
    Line,
    Order,
    Product,
    big_spenders,
    category_subtree,
    running_totals,
    top_sellers,
    upsert_price_list,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def seed(session: Session) -> dict[str, int]:
    """Categories, products, customers, orders; returns the ids by name.

    Orders (customer, status, day, lines): o1 Ada paid 0 K1x2@50 = 100; o2 Ada paid 1 K2x1@50
    = 50; o3 Ada paid 1 (same time as o2) M1x3@10 = 30; o4 Ada pending 2 K3x2@25 = 50; o5 Bob
    paid 0 K4x1@10 = 10; o6 Cy paid 3 D1x1@120 = 120; o7 Dee pending 0, no lines.
    """
    hardware, software = Category(name="Hardware"), Category(name="Software")
    session.add_all([hardware, software])
    session.flush()
    inputs = Category(name="Input", parent_id=hardware.id)
    session.add_all(
        [
            inputs,
            Category(name="Displays", parent_id=hardware.id),
            Category(name="Games", parent_id=software.id),
        ]
    )
    session.flush()
    keyboards = Category(name="Keyboards", parent_id=inputs.id)
    mice = Category(name="Mice", parent_id=inputs.id)
    session.add_all([keyboards, mice])
    displays = session.scalars(select(Category).where(Category.name == "Displays")).one()

    category = {"K": keyboards, "M": mice, "D": displays}
    products = {
        sku: Product(sku=sku, name=sku, price=Decimal(price), stock=5, category=category[sku[0]])
        for sku, price in (
            ("K1", "50"),
            ("K2", "50"),
            ("K3", "25"),
            ("K4", "10"),
            ("M1", "10"),
            ("D1", "120"),
        )
    }
    session.add_all(products.values())
    customers = {name: Customer(name=name) for name in ("Ada", "Bob", "Cy", "Dee")}
    plan: list[tuple[str, str, str, int, list[tuple[str, int, str]]]] = [
        ("o1", "Ada", "paid", 0, [("K1", 2, "50")]),
        ("o2", "Ada", "paid", 1, [("K2", 1, "50")]),
        ("o3", "Ada", "paid", 1, [("M1", 3, "10")]),
        ("o4", "Ada", "pending", 2, [("K3", 2, "25")]),
        ("o5", "Bob", "paid", 0, [("K4", 1, "10")]),
        ("o6", "Cy", "paid", 3, [("D1", 1, "120")]),
        ("o7", "Dee", "pending", 0, []),
    ]
    orders = {}
    for key, customer, status, day, lines in plan:
        orders[key] = Order(
            customer=customers[customer],
            status=status,
            created=T0 + timedelta(days=day),
            lines=[
                Line(product=products[sku], quantity=quantity, unit_price=Decimal(price))
                for sku, quantity, price in lines
            ],
        )
        session.add(orders[key])
        session.flush()  # ids in plan order
    session.commit()
    ids = {name: customer.id for name, customer in customers.items()}
    ids |= {key: order.id for key, order in orders.items()}
    return ids


@pytest.mark.task(8)
def test_line_total_is_a_hybrid(session: Session, sql: StatementLog) -> None:
    line = Line(quantity=3, unit_price=Decimal("2.50"))
    assert line.total == Decimal("7.50"), "on an instance, the property is plain Python"

    ids = seed(session)
    sql.clear()
    big = session.scalars(select(Line.order_id).where(Line.total > 60).order_by(Line.id)).all()
    assert big == [ids["o1"], ids["o6"]], "on the class, the same property is a SQL expression"
    assert len(sql.statements) == 1
    assert "order_lines.quantity * order_lines.unit_price" in sql.statements[0], (
        f"the WHERE computes the product in SQL: {sql.statements[0]}"
    )


@pytest.mark.task(9)
def test_order_total_is_a_hybrid_with_its_own_expression(
    session: Session, sql: StatementLog
) -> None:
    ids = seed(session)
    o1 = session.get(Order, ids["o1"])
    assert o1 is not None and o1.total == Decimal("100"), "an instance sums its loaded lines"
    empty = Order(lines=[]).total
    assert empty == 0 and isinstance(empty, Decimal), "no lines: Decimal 0, not the int 0"

    session.expunge_all()
    sql.clear()
    stmt = select(Order.id, Order.total).where(Order.total >= 50).order_by(Order.id)
    rows = [tuple(row) for row in session.execute(stmt)]
    assert rows == [
        (ids["o1"], Decimal("100")),
        (ids["o2"], Decimal("50")),
        (ids["o4"], Decimal("50")),
        (ids["o6"], Decimal("120")),
    ], "in a query, Order.total is computed by the database for every order"
    no_lines = session.scalar(select(Order.total).where(Order.id == ids["o7"]))
    assert no_lines == 0, "an order without lines totals 0 in SQL too: coalesce the SUM"
    assert len(sql.statements) == 2, "one statement per query, no lazy loading"
    assert "(SELECT coalesce(sum(" in sql.statements[0], (
        "iterating self.lines cannot become SQL: give the hybrid an .expression, a correlated "
        f"scalar subquery: {sql.statements[0]}"
    )


@pytest.mark.task(10)
def test_big_spenders_reads_a_cte_twice(session: Session, sql: StatementLog) -> None:
    seed(session)
    sql.clear()
    assert big_spenders(session) == [("Ada", Decimal("180")), ("Cy", Decimal("120"))], (
        "paid revenue: Ada 180 (her pending 50 does not count), Cy 120, Bob 10; the average of "
        "the three is 103.33"
    )
    assert len(sql.statements) == 1, "one statement: the CTE and its average inside it"
    assert sql.statements[0].startswith("WITH totals AS"), (
        f"the per-customer totals are computed once, as a CTE named totals: {sql.statements[0]}"
    )


@pytest.mark.task(10)
def test_big_spenders_are_strictly_above_the_average_ties_by_name(session: Session) -> None:
    keyboard = Product(sku="K", name="Keyboard", price=Decimal(10), stock=0)
    for name, revenue in (("Zed", 100), ("Lo", 10), ("Mid", 70), ("Abe", 100)):
        line = Line(product=keyboard, quantity=1, unit_price=Decimal(revenue))
        session.add(Order(customer=Customer(name=name), status="paid", created=T0, lines=[line]))
    unpaid = Line(product=keyboard, quantity=1, unit_price=Decimal(500))
    session.add(Order(customer=Customer(name="Nil"), status="pending", created=T0, lines=[unpaid]))
    void = Line(product=keyboard, quantity=1, unit_price=Decimal(900))
    session.add(Order(customer=Customer(name="Ex"), status="cancelled", created=T0, lines=[void]))
    session.commit()
    assert big_spenders(session) == [("Abe", Decimal("100")), ("Zed", Decimal("100"))], (
        "the average is 70: Mid, at exactly 70, is not above it; Abe and Zed tie, by name. "
        "Nil (pending) and Ex (cancelled) have paid nothing: no revenue, not in the average"
    )


@pytest.mark.task(11)
def test_category_subtree_walks_any_depth(session: Session, sql: StatementLog) -> None:
    seed(session)
    sql.clear()
    assert category_subtree(session, "Hardware") == [
        ("Hardware", 0),
        ("Displays", 1),
        ("Input", 1),
        ("Keyboards", 2),
        ("Mice", 2),
    ], "the root, its children, their children: as deep as the tree goes (not Software/Games)"
    assert category_subtree(session, "Input") == [("Input", 0), ("Keyboards", 1), ("Mice", 1)]
    assert category_subtree(session, "Nowhere") == []
    assert len(sql.statements) == 3, "one statement per call, whatever the depth"
    assert sql.statements[0].startswith("WITH RECURSIVE tree"), sql.statements[0]


@pytest.mark.task(12)
def test_top_sellers_ranks_within_each_category(session: Session, sql: StatementLog) -> None:
    seed(session)
    sql.clear()
    assert top_sellers(session, 3) == [
        ("Displays", "D1", Decimal("120"), 1),
        ("Keyboards", "K1", Decimal("100"), 1),
        ("Keyboards", "K2", Decimal("50"), 2),
        ("Keyboards", "K3", Decimal("50"), 2),
        ("Mice", "M1", Decimal("30"), 1),
    ], (
        "ranks restart in every category (PARTITION BY); K2 and K3 tie at 2 and K4 is 4th, not "
        "3rd: rank(), not dense_rank() or row_number()"
    )
    assert [row[1] for row in top_sellers(session, 1)] == ["D1", "K1", "M1"]
    assert len(sql.statements) == 2
    assert "OVER (PARTITION BY products.category_id ORDER BY" in sql.statements[0], (
        "a window function cannot be filtered in its own WHERE: rank in a subquery, filter "
        f"outside: {sql.statements[0]}"
    )


@pytest.mark.task(13)
def test_running_totals_add_up_one_order_at_a_time(session: Session, sql: StatementLog) -> None:
    ids = seed(session)
    sql.clear()
    assert running_totals(session, ids["Ada"]) == [
        (ids["o1"], Decimal("100"), Decimal("100")),
        (ids["o2"], Decimal("50"), Decimal("150")),
        (ids["o3"], Decimal("30"), Decimal("180")),
        (ids["o4"], Decimal("50"), Decimal("230")),
    ], (
        "o2 and o3 share a timestamp: ordered by created alone they are peers, and the default "
        "window frame (RANGE ... CURRENT ROW) gives both 180; order by (created, id)"
    )
    assert running_totals(session, ids["Dee"]) == [], "Dee's only order has no lines"
    assert len(sql.statements) == 2
    assert "OVER (ORDER BY orders.created, orders.id)" in sql.statements[0], sql.statements[0]


@pytest.mark.task(14)
def test_upsert_inserts_new_updates_known_and_keeps_stock(
    session: Session, sql: StatementLog
) -> None:
    session.add(Product(sku="K1", name="Keyboard", price=Decimal("50.00"), stock=7))
    session.commit()
    price_list = [
        {"sku": "K1", "name": "Keyboard, mechanical", "price": Decimal("55.00")},
        {"sku": "NEW", "name": "Novelty", "price": Decimal("9.99")},
    ]
    sql.clear()
    upsert_price_list(session, price_list)
    session.commit()
    assert len(sql.statements) == 1, "one statement for the whole list, whatever its length"
    assert "ON CONFLICT (sku) DO UPDATE SET name = excluded.name" in sql.statements[0], (
        f"INSERT ... ON CONFLICT (sku) DO UPDATE, with the proposed row as excluded: "
        f"{sql.statements[0]}"
    )

    def catalog() -> list[tuple[str, str, Decimal, int]]:
        rows = session.execute(
            select(Product.sku, Product.name, Product.price, Product.stock).order_by(Product.sku)
        )
        return [(sku, name, price, stock) for sku, name, price, stock in rows]

    want = [
        ("K1", "Keyboard, mechanical", Decimal("55.00"), 7),
        ("NEW", "Novelty", Decimal("9.99"), 0),
    ]
    assert catalog() == want, "new name and price, the stock kept (7); a new sku starts at 0"
    upsert_price_list(session, price_list)
    session.commit()
    assert catalog() == want, "idempotent: the same list again changes nothing"
    upsert_price_list(session, [{"sku": "NEW", "name": "Novelty", "price": Decimal("8.50")}])
    session.commit()
    assert catalog()[1] == ("NEW", "Novelty", Decimal("8.50"), 0), "the latest price wins"
