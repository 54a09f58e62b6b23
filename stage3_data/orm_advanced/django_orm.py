"""The Django ORM past filter(): aggregates, subqueries, F and Q, row locks, bulk writes.

Every function here sends a fixed, small number of queries whatever the number of rows; the
tests count them with ``CaptureQueriesContext`` and read the SQL. Import this module only once
Django is configured (the tests do it inside the test functions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum

from .shop.models import Customer, Order, OrderLine, Product


class OutOfStock(Exception):
    """An order asked for more of a product than there is."""

    def __init__(self, sku: str, wanted: int, available: int) -> None:
        super().__init__(f"{sku}: {wanted} wanted, {available} in stock")
        self.sku = sku


class ProductRow(NamedTuple):
    sku: str
    name: str
    price: Decimal
    stock: int


def customer_report() -> QuerySet[Customer, dict[str, Any]]:
    """One dict per customer, customers without orders included, best revenue first (then name).

    Keys: ``name``; ``order_count``, how many orders they placed (any status); ``pending``, how many
    of those are pending; ``revenue``, the sum of quantity * unit_price over the lines of their
    PAID orders (Decimal 0 when none). One query.
    """
    # kata: begin annotate each customer with order_count (distinct Count), pending (Count with filter=Q), revenue (Sum of F * F over paid lines, default 0); values(); order by -revenue, name
    line_total = F("orders__lines__quantity") * F("orders__lines__unit_price")
    return (
        Customer.objects.annotate(
            # The join to the lines repeats each order once per line: count orders distinctly.
            order_count=Count("orders", distinct=True),
            pending=Count("orders", distinct=True, filter=Q(orders__status=Order.Status.PENDING)),
            revenue=Sum(line_total, filter=Q(orders__status=Order.Status.PAID), default=0),
        )
        .values("name", "order_count", "pending", "revenue")
        .order_by("-revenue", "name")
    )
    # kata: end


def sales_summary() -> dict[str, Any]:
    """Totals over the lines of PAID orders, in one query: ``revenue`` (Decimal, 0 when none),
    ``units`` (sum of quantities, 0 when none), ``orders`` and ``customers`` (distinct counts)."""
    # kata: begin aggregate() over OrderLine of paid orders: revenue Sum(F * F), units Sum, orders and customers distinct Counts (default=0 on the Sums)
    return OrderLine.objects.filter(order__status=Order.Status.PAID).aggregate(
        revenue=Sum(F("quantity") * F("unit_price"), default=0),
        units=Sum("quantity", default=0),
        orders=Count("order", distinct=True),
        customers=Count("order__customer", distinct=True),
    )
    # kata: end


def customers_with_latest_order() -> QuerySet[Customer, dict[str, Any]]:
    """One dict per customer, by name: ``name``, and the ``created`` and ``status`` of their
    latest order (latest ``created``, the higher id on a tie) as ``latest_at`` and
    ``latest_status``; None for both when they have no order. One query."""
    # kata: begin two correlated Subquery annotations over Order.objects.filter(customer=OuterRef("pk")).order_by("-created", "-pk"), [:1]; values(); order by name
    latest = Order.objects.filter(customer=OuterRef("pk")).order_by("-created", "-pk")
    return (
        Customer.objects.annotate(
            latest_at=Subquery(latest.values("created")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
        )
        .values("name", "latest_at", "latest_status")
        .order_by("name")
    )
    # kata: end


def orders_needing_attention(before: datetime) -> QuerySet[Order]:
    """Orders that are pending and were created before ``before``, OR that have no line at all;
    never cancelled ones; each order once, by id. One query."""
    # kata: begin filter Q(pending, created__lt=before) | ~Exists(lines of OuterRef("pk")), exclude cancelled, order by pk
    has_lines = Exists(OrderLine.objects.filter(order=OuterRef("pk")))
    return (
        Order.objects.filter(Q(status=Order.Status.PENDING, created__lt=before) | ~has_lines)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("pk")
    )
    # kata: end


def take_stock(sku: str, quantity: int) -> bool:
    """Take ``quantity`` units of ``sku`` off the shelf if there are enough; say whether it did.

    Race-free without a lock: ONE ``UPDATE ... SET stock = stock - n WHERE sku = ... AND
    stock >= n``; the database does the arithmetic on the current value, so two concurrent
    calls can never both sell the last unit.
    """
    # kata: begin one filter(sku=..., stock__gte=quantity).update(stock=F("stock") - quantity); True when it updated a row
    updated = Product.objects.filter(sku=sku, stock__gte=quantity).update(
        stock=F("stock") - quantity
    )
    return updated == 1
    # kata: end


def import_products(rows: Iterable[ProductRow], *, batch_size: int = 500) -> int:
    """Insert every row as a Product with bulk_create, ``batch_size`` rows per INSERT; return
    how many were inserted."""
    # kata: begin Product.objects.bulk_create([...], batch_size=batch_size); return the count
    created = Product.objects.bulk_create(
        [Product(sku=r.sku, name=r.name, price=r.price, stock=r.stock) for r in rows],
        batch_size=batch_size,
    )
    return len(created)
    # kata: end


def place_order(
    customer: Customer,
    items: Mapping[str, int],
    *,
    on_locked: Callable[[list[Product]], None] = lambda products: None,
) -> Order:
    """Order ``items`` ({sku: quantity}) for ``customer``, all or nothing.

    In one transaction: lock the products' rows (``SELECT ... FOR UPDATE``, in id order), call
    ``on_locked(products)`` (the tests look from another connection there), raise LookupError
    for an unknown sku and OutOfStock when one is short, otherwise create the pending order,
    its lines at today's prices (one bulk INSERT) and lower the stocks (one bulk UPDATE).
    """
    # kata: begin transaction.atomic(); select_for_update().filter(sku__in=items).order_by("pk"); on_locked; check; create the order, bulk_create the lines, bulk_update the stocks
    with transaction.atomic():
        products = list(Product.objects.select_for_update().filter(sku__in=items).order_by("pk"))
        on_locked(products)
        missing = set(items) - {product.sku for product in products}
        if missing:
            raise LookupError(f"unknown products: {', '.join(sorted(missing))}")
        for product in products:
            if product.stock < items[product.sku]:
                raise OutOfStock(product.sku, items[product.sku], product.stock)
        order = Order.objects.create(customer=customer)
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order, product=product, quantity=items[product.sku], unit_price=product.price
            )
            for product in products
        )
        # The rows are locked until commit: reading stock, then writing it, is safe here.
        for product in products:
            product.stock -= items[product.sku]
        Product.objects.bulk_update(products, ["stock"])
        return order
    # kata: end
