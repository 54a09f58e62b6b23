"""A small shop: customers place orders of lines, each line a product at the price of the day.

The models are given (the committed migration must match them); the queries are yours, in
``django_orm.py``. Each field is annotated ``Field[type you assign, type you read]`` for mypy,
which (without the django-stubs mypy plugin) cannot infer it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    name: models.CharField[str, str] = models.CharField(max_length=100, unique=True)
    email: models.EmailField[str, str] = models.EmailField(unique=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku: models.CharField[str, str] = models.CharField(max_length=32, unique=True)
    name: models.CharField[str, str] = models.CharField(max_length=200)
    price: models.DecimalField[Decimal, Decimal] = models.DecimalField(
        max_digits=10, decimal_places=2
    )
    # PositiveIntegerField is also a CHECK ("stock" >= 0) in PostgreSQL: overselling is an error.
    stock: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("sku",)

    def __str__(self) -> str:
        return self.sku


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    customer: models.ForeignKey[Customer, Customer] = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders"
    )
    customer_id: int
    status: models.CharField[str, str] = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created: models.DateTimeField[datetime, datetime] = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created", "pk")

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


class OrderLine(models.Model):
    order: models.ForeignKey[Order, Order] = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines"
    )
    order_id: int
    product: models.ForeignKey[Product, Product] = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="lines"
    )
    product_id: int
    quantity: models.PositiveIntegerField[int, int] = models.PositiveIntegerField()
    # The price when ordered: the product's price may change later, the order's may not.
    unit_price: models.DecimalField[Decimal, Decimal] = models.DecimalField(
        max_digits=10, decimal_places=2
    )

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"
