"""Descriptors: validated, typed fields and a lazy attribute, the machinery behind properties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar, overload

T = TypeVar("T")


class Field(Generic[T]):
    """A data descriptor (it has ``__get__`` *and* ``__set__``) holding a value of type ``kind``.

    The value lives in the instance's own ``__dict__`` under the attribute's name. That is safe
    because a data descriptor on the class takes precedence over the instance ``__dict__``, so
    every read and write still goes through ``__get__``/``__set__``.
    """

    def __init__(self, kind: type[T]) -> None:
        self.kind = kind
        self.name = "<unbound>"
        self.qualname = "<unbound>"

    def __set_name__(self, owner: type, name: str) -> None:
        # Called once, when the owning class is created: `price = PositiveInt()` learns "price".
        self.name = name
        self.qualname = f"{owner.__name__}.{name}"

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Self | T:
        # kata: begin on the class return self; else instance.__dict__[name], or AttributeError
        if instance is None:
            return self
        try:
            value: T = instance.__dict__[self.name]
        except KeyError:
            raise AttributeError(f"{self.qualname} has not been set") from None
        return value
        # kata: end

    def __set__(self, instance: object, value: T) -> None:
        # kata: begin TypeError unless a self.kind; self.validate(value); store in instance.__dict__
        if not isinstance(value, self.kind):
            raise TypeError(
                f"{self.qualname} must be {self.kind.__name__}, got {type(value).__name__}"
            )
        self.validate(value)
        instance.__dict__[self.name] = value
        # kata: end

    def validate(self, value: T) -> None:
        """Raise ValueError if ``value`` (already of the right type) is not acceptable."""


class PositiveInt(Field[int]):
    """An int greater than zero; ``True`` is not an int here, although ``bool`` subclasses it."""

    def __init__(self) -> None:
        super().__init__(int)

    def validate(self, value: int) -> None:
        # kata: begin TypeError for a bool, ValueError for value <= 0; name the attribute
        if isinstance(value, bool):
            raise TypeError(f"{self.qualname} must be int, got bool")
        if value <= 0:
            raise ValueError(f"{self.qualname} must be > 0, got {value}")
        # kata: end


class NonEmptyStr(Field[str]):
    """A string with at least one non-whitespace character."""

    def __init__(self) -> None:
        super().__init__(str)

    def validate(self, value: str) -> None:
        # kata: begin ValueError naming the attribute if value is empty or only whitespace
        if not value.strip():
            raise ValueError(f"{self.qualname} must not be blank")
        # kata: end


class OneOf(Field[str]):
    """One of a fixed set of strings, e.g. a status."""

    def __init__(self, *choices: str) -> None:
        super().__init__(str)
        self.choices = choices

    def validate(self, value: str) -> None:
        # kata: begin ValueError naming the attribute and the choices if value is not one
        if value not in self.choices:
            allowed = ", ".join(map(repr, self.choices))
            raise ValueError(f"{self.qualname} must be one of {allowed}, got {value!r}")
        # kata: end


class cached_lazy(Generic[T]):
    """A *non-data* descriptor (only ``__get__``): compute once per instance, then step aside.

    The first read calls ``func`` and stores the result in the instance ``__dict__`` under the
    same name. The instance ``__dict__`` beats a non-data descriptor, so later reads never reach
    ``__get__`` again. ``del obj.attr`` drops the cached value; the next read recomputes it.
    The standard library ships this as ``functools.cached_property``.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Self | T:
        # kata: begin class access returns self; else compute once, store in instance.__dict__
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value
        # kata: end


class Product:
    """A small model whose attributes validate themselves on every assignment."""

    name = NonEmptyStr()
    price_cents = PositiveInt()
    quantity = PositiveInt()
    status = OneOf("draft", "active", "archived")

    def __init__(
        self, name: str, price_cents: int, quantity: int = 1, status: str = "draft"
    ) -> None:
        self.name = name
        self.price_cents = price_cents
        self.quantity = quantity
        self.status = status

    @cached_lazy
    def search_terms(self) -> frozenset[str]:
        """The lower-cased words of the name, tokenised once per product."""
        return frozenset(self.name.lower().split())
