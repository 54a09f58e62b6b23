"""The same JSONB column through SQLAlchemy 2.0: ``postgresql.JSONB`` and its operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(unique=True)
    # A plain JSONB column does not notice in-place changes (product.attrs["x"] = 1); assign a
    # new dict, use MutableDict.as_mutable(JSONB), or update in SQL as catalog.py does.
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


def skus_of_brand(brand: str) -> Select[str]:
    """Skus whose ``attrs ->> 'brand'`` equals ``brand``, by sku."""
    # kata: begin select Product.sku where Product.attrs["brand"].astext == brand, order by sku
    return select(Product.sku).where(Product.attrs["brand"].astext == brand).order_by(Product.sku)
    # kata: end


def skus_containing(subset: dict[str, Any]) -> Select[str]:
    """Skus whose ``attrs`` contain ``subset`` (``@>``), by sku."""
    # kata: begin select Product.sku where Product.attrs.contains(subset), order by sku
    return select(Product.sku).where(Product.attrs.contains(subset)).order_by(Product.sku)
    # kata: end


def skus_with_key(key: str) -> Select[str]:
    """Skus whose ``attrs`` have the top-level key ``key`` (``?``), by sku."""
    # kata: begin select Product.sku where Product.attrs.has_key(key), order by sku
    return select(Product.sku).where(Product.attrs.has_key(key)).order_by(Product.sku)
    # kata: end
