"""The Django half: annotate/aggregate, Subquery/OuterRef, Q, F, select_for_update, bulk writes.

Each test also reads the SQL that was sent (``CaptureQueriesContext``): the point of these
tools is doing the work in the database, in a known, small number of queries.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from .conftest import T0, Shop

SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The SQL sent, less the savepoints that atomic() nests inside the test's transaction."""
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(SAVEPOINTS)]


@pytest.mark.task(1)
def test_customer_report_counts_orders_once_and_sums_paid_lines(shop: Shop) -> None:
    from .django_orm import customer_report

    # The models and the committed migration agree (exits 1 on drift: run makemigrations).
    call_command("makemigrations", "orm_shop", "--check", "--dry-run", verbosity=0)
    from .shop.models import Customer

    Customer.objects.create(name="Al", email="al@example.com")  # last in, first of the zeros

    with CaptureQueriesContext(connection) as captured:
        report = list(customer_report())
    assert report == [
        {"name": "Ada", "order_count": 3, "pending": 1, "revenue": Decimal("300.00")},
        {"name": "Bob", "order_count": 3, "pending": 0, "revenue": Decimal("60.00")},
        {"name": "Al", "order_count": 0, "pending": 0, "revenue": Decimal("0")},
        {"name": "Cy", "order_count": 0, "pending": 0, "revenue": Decimal("0")},
        {"name": "Dee", "order_count": 2, "pending": 1, "revenue": Decimal("0")},
    ], (
        "joining orders to their lines repeats each order once per line: Count(..., "
        "distinct=True); revenue sums only PAID lines (filter=Q(...)), 0 (default=) when none; "
        "customers without orders stay in (annotate joins LEFT OUTER); by -revenue, then name "
        "(order_by replaces Meta.ordering: name the tie-break again)"
    )
    assert len(captured) == 1, f"one query for the whole report, not one per customer: {captured}"
    assert "GROUP BY" in captured[0]["sql"], "the database aggregates, not Python"


@pytest.mark.task(2)
def test_sales_summary_is_one_aggregate(shop: Shop) -> None:
    from .django_orm import sales_summary

    with CaptureQueriesContext(connection) as captured:
        summary = sales_summary()
    assert summary == {
        "revenue": Decimal("360.00"),
        "units": 7,
        "orders": 3,
        "customers": 2,
    }, "over the lines of the paid orders o1, o2 and o4: distinct orders, distinct customers"
    assert len(captured) == 1 and "SUM(" in captured[0]["sql"], "aggregate() is one query"


@pytest.mark.task(2)
def test_sales_summary_of_nothing_is_zero(django_db: None) -> None:
    from .django_orm import sales_summary

    assert sales_summary() == {"revenue": 0, "units": 0, "orders": 0, "customers": 0}, (
        "SQL's SUM of no rows is NULL: give the Sums default=0"
    )


@pytest.mark.task(3)
def test_latest_order_comes_from_a_correlated_subquery(shop: Shop) -> None:
    from .django_orm import customers_with_latest_order

    with CaptureQueriesContext(connection) as captured:
        rows = list(customers_with_latest_order())
    assert rows == [
        {"name": "Ada", "latest_at": T0 + timedelta(days=3), "latest_status": "pending"},
        {"name": "Bob", "latest_at": T0 + timedelta(days=4), "latest_status": "cancelled"},
        {"name": "Cy", "latest_at": None, "latest_status": None},
        {"name": "Dee", "latest_at": T0 + timedelta(days=5), "latest_status": "pending"},
    ], (
        "each customer's newest order (Dee's o6 and o7 share a timestamp: the higher id, o7, "
        "wins); Max() gives the date but not the status of that order: Subquery + OuterRef"
    )
    assert len(captured) == 1, "one query, the subqueries inside it, not one per customer"
    assert captured[0]["sql"].count("SELECT") == 3, "one outer SELECT, two correlated subqueries"


@pytest.mark.task(4)
def test_orders_needing_attention_combines_q_with_or_and_not(shop: Shop) -> None:
    from .django_orm import orders_needing_attention

    with CaptureQueriesContext(connection) as captured:
        found = [order.pk for order in orders_needing_attention(T0 + timedelta(days=4))]
    o3, o6 = shop.orders["o3"].pk, shop.orders["o6"].pk
    assert found == [o3, o6], (
        "o3 is pending since before the cut-off, o6 has no line; o7 is pending but recent, o8 has "
        "no line but is cancelled. Each order once: a filter through the lines joins them, and an "
        "order with two lines then comes out twice; ~Exists(...) joins nothing"
    )
    assert len(captured) == 1

    at_o3 = [order.pk for order in orders_needing_attention(shop.orders["o3"].created)]
    assert at_o3 == [o6], (
        "'created before `before`' is strict: o3, created exactly at the cut-off, is not "
        "before it (created__lt, not created__lte)"
    )

    from .shop.models import Order

    both = Order.objects.create(customer=shop.customers["Cy"], status="pending", created=T0)
    found = [order.pk for order in orders_needing_attention(T0 + timedelta(days=4))]
    assert found == [o3, o6, both.pk], (
        "an order that is both pending since before the cut-off AND without a line matches "
        "either condition: OR (|), not exclusive OR (^)"
    )


@pytest.mark.task(5)
def test_take_stock_is_one_conditional_update_with_f(shop: Shop) -> None:
    from .django_orm import take_stock
    from .shop.models import Product

    with CaptureQueriesContext(connection) as captured:
        took = take_stock("MS", 3)
    assert took is True
    assert Product.objects.get(sku="MS").stock == 2
    assert len(captured) == 1, (
        "read, subtract in Python, save() is two queries and a race: two requests read 5 and "
        f"both write 2. Send one UPDATE: {statements(captured)}"
    )
    sql = captured[0]["sql"]
    assert sql.startswith("UPDATE") and '"stock" - 3' in sql, (
        f"the subtraction happens in the database: SET stock = stock - 3 (F('stock') - 3): {sql}"
    )

    with CaptureQueriesContext(connection) as captured:
        took = take_stock("MS", 3)  # only 2 left
    assert took is False, "not enough stock: nothing taken, and the answer says so"
    assert Product.objects.get(sku="MS").stock == 2, "the guard is in the WHERE: stock >= 3"
    assert len(captured) == 1 and captured[0]["sql"].startswith("UPDATE")
    assert take_stock("NOPE", 1) is False, "an unknown sku updates no row"

    assert take_stock("MS", 2) is True, "taking exactly what is left is allowed: stock >= n"
    assert Product.objects.get(sku="MS").stock == 0
    assert take_stock("MS", 1) is False, "and then the shelf is empty"


@pytest.mark.task(6)
def test_import_products_inserts_in_batches(django_db: None) -> None:
    from .django_orm import ProductRow, import_products
    from .shop.models import Product

    rows = [ProductRow(f"SKU-{i:04}", f"Thing {i}", Decimal("1.50"), i % 7) for i in range(1200)]
    with CaptureQueriesContext(connection) as captured:
        count = import_products(rows, batch_size=500)
    inserts = [sql for sql in statements(captured) if sql.startswith("INSERT")]
    assert count == 1200
    assert len(inserts) == 3 and len(statements(captured)) == 3, (
        f"1,200 rows by 500 are three INSERTs (500, 500, 200), not one per row: "
        f"{len(statements(captured))} statements"
    )
    assert Product.objects.count() == 1200
    assert Product.objects.get(sku="SKU-0013").stock == 13 % 7

    with CaptureQueriesContext(connection) as captured:
        pair = [ProductRow("ONE", "One", Decimal(1), 1), ProductRow("TWO", "Two", Decimal(2), 2)]
        assert import_products(pair) == 2
    assert len(statements(captured)) == 1, "a few rows: one INSERT ... VALUES (...), (...)"

    five = (ProductRow(f"B-{i}", f"Bolt {i}", Decimal("0.10"), 100) for i in range(5))
    with CaptureQueriesContext(connection) as captured:
        assert import_products(five, batch_size=2) == 5, (
            "rows may be any iterable, a generator too: count what was created"
        )
    assert len(statements(captured)) == 3, (
        f"batch_size is the caller's: 5 rows by 2 are three INSERTs (2, 2, 1): {statements(captured)}"
    )
    assert Product.objects.filter(sku__startswith="B-").count() == 5


@pytest.mark.task(7)
def test_place_order_locks_checks_and_writes_in_bulk(shop: Shop) -> None:
    from .django_orm import place_order
    from .shop.models import OrderLine, Product

    seen: list[list[str]] = []
    with CaptureQueriesContext(connection) as captured:
        order = place_order(
            shop.customers["Cy"],
            {"MN": 1, "KB": 2, "MS": 1},
            on_locked=lambda products: seen.append([p.sku for p in products]),
        )
    assert seen == [["KB", "MS", "MN"]], (
        "on_locked gets the locked products in id order: everyone locks in the same order, "
        "so two orders for the same products cannot deadlock"
    )
    sent = statements(captured)
    assert "FOR UPDATE" in sent[0], f"first lock the rows: select_for_update(): {sent[0]}"
    assert [sql.split()[0] for sql in sent] == ["SELECT", "INSERT", "INSERT", "UPDATE"], (
        "lock (SELECT ... FOR UPDATE), the order, ALL its lines in one bulk_create, ALL the "
        f"stocks in one bulk_update; not a query per product: {sent}"
    )
    assert order.customer_id == shop.customers["Cy"].pk and order.status == "pending"
    lines = {
        line.product.sku: (line.quantity, line.unit_price)
        for line in OrderLine.objects.filter(order=order).select_related("product")
    }
    assert lines == {
        "KB": (2, Decimal("50.00")),
        "MS": (1, Decimal("20.00")),
        "MN": (1, Decimal("200.00")),
    }, "one line per product, at today's price"
    stock = dict(Product.objects.values_list("sku", "stock"))
    assert stock == {"KB": 8, "MS": 4, "MN": 1}, "each stock lowered by what was ordered"


@pytest.mark.task(7)
def test_place_order_is_all_or_nothing(shop: Shop) -> None:
    from .django_orm import OutOfStock, place_order
    from .shop.models import Order, Product

    before = dict(Product.objects.values_list("sku", "stock"))
    orders = Order.objects.count()
    with pytest.raises(OutOfStock) as raised:
        place_order(shop.customers["Cy"], {"KB": 1, "MN": 3})  # 2 monitors in stock
    assert raised.value.sku == "MN"
    with pytest.raises(LookupError):
        place_order(shop.customers["Cy"], {"KB": 1, "GHOST": 1})
    assert Order.objects.count() == orders, "a refused order leaves no order behind"
    assert dict(Product.objects.values_list("sku", "stock")) == before, "nor any stock change"
    place_order(shop.customers["Cy"], {"MN": 2})
    assert Product.objects.get(sku="MN").stock == 0, "the last units in stock can be ordered"


@pytest.mark.task(7)
def test_place_order_rolls_back_a_crash_between_its_writes(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db.models import QuerySet

    from .django_orm import place_order
    from .shop.models import Order, OrderLine, Product

    class Crash(Exception):
        """The database went away after the order was written, before the stocks were."""

    def crash(self: QuerySet[Product], *args: object, **kwargs: object) -> int:
        raise Crash

    monkeypatch.setattr(QuerySet, "bulk_update", crash)
    orders, lines = Order.objects.count(), OrderLine.objects.count()
    with pytest.raises(Crash):
        place_order(shop.customers["Cy"], {"KB": 1})
    assert (Order.objects.count(), OrderLine.objects.count()) == (orders, lines), (
        "the order and its lines were written, then the stock update failed: inside "
        "transaction.atomic() the whole order is rolled back, never half an order"
    )
    assert Product.objects.get(sku="KB").stock == 10


def try_lock(sku: str) -> DatabaseError | None:
    """From another thread, so another connection: try to lock ``sku``'s row without waiting."""
    from .shop.models import Product

    outcome: list[DatabaseError | None] = []

    def attempt() -> None:
        try:
            with transaction.atomic():
                list(Product.objects.select_for_update(nowait=True).filter(sku=sku))
            outcome.append(None)
        except DatabaseError as exc:
            outcome.append(exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(timeout=30)
    assert outcome, "the other connection never answered"
    return outcome[0]


@pytest.mark.task(7)
def test_place_order_holds_row_locks_until_commit(django_transactional_db: None) -> None:
    from .django_orm import place_order
    from .shop.models import Customer, Product

    cy = Customer.objects.create(name="Cy", email="cy@example.com")
    Product.objects.create(sku="KB", name="Keyboard", price=Decimal(50), stock=3)
    Product.objects.create(sku="MS", name="Mouse", price=Decimal(20), stock=3)
    assert try_lock("KB") is None, "nothing holds the row yet"

    while_locked: dict[str, DatabaseError | None] = {}

    def look_from_elsewhere(products: list[Product]) -> None:
        while_locked["KB"] = try_lock("KB")
        while_locked["MS"] = try_lock("MS")

    place_order(cy, {"KB": 1}, on_locked=look_from_elsewhere)
    assert isinstance(while_locked["KB"], DatabaseError), (
        "while the order is being placed its product rows are locked (SELECT ... FOR UPDATE "
        "inside transaction.atomic()): another connection's NOWAIT lock must fail"
    )
    assert while_locked["MS"] is None, "only the ordered rows are locked, not the whole table"
    assert try_lock("KB") is None, "the lock ends with the transaction: commit released it"
    assert Product.objects.get(sku="KB").stock == 2
