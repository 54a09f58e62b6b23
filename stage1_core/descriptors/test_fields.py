"""Descriptors kata: test classes are defined inside the tests, so one gap fails one test."""

from __future__ import annotations

import pytest

from .fields import Field, NonEmptyStr, OneOf, PositiveInt, Product, cached_lazy


@pytest.mark.task(1)
def test_class_access_returns_the_descriptor() -> None:
    class Point:
        x = Field(int)

    assert isinstance(Point.x, Field), "Point.x (no instance) must return the descriptor itself"
    assert (Point.x.name, Point.x.qualname) == ("x", "Point.x"), "__set_name__ recorded the name"


@pytest.mark.task(2)
def test_values_live_in_each_instance_dict() -> None:
    class Point:
        x = Field(int)

    a, b = Point(), Point()
    a.x, b.x = 1, 2
    assert (a.x, b.x) == (1, 2), "each instance keeps its own value, not one shared by the class"
    assert vars(a) == {"x": 1}, "the value is stored in instance.__dict__ under the field's name"


@pytest.mark.task(1)
def test_unset_field_raises_attribute_error() -> None:
    class Point:
        x = Field(int)

    point = Point()
    with pytest.raises(AttributeError, match=r"Point\.x"):
        _ = point.x
    assert getattr(point, "x", None) is None, (
        "AttributeError (not KeyError) keeps getattr() working"
    )
    assert not hasattr(point, "x"), "hasattr() relies on AttributeError too"


@pytest.mark.task(2)
def test_wrong_type_raises_type_error_naming_the_attribute() -> None:
    class Point:
        x = Field(int)

    point = Point()
    with pytest.raises(TypeError, match=r"Point\.x"):
        point.x = "1"  # type: ignore[assignment]
    assert "x" not in vars(point), "a rejected value must not be stored"


@pytest.mark.task(3)
def test_positive_int_rejects_zero_negatives_and_bools() -> None:
    class Order:
        quantity = PositiveInt()

    order = Order()
    order.quantity = 3
    for bad in (0, -1):
        with pytest.raises(ValueError, match=r"Order\.quantity"):
            order.quantity = bad
    for flag in (True, False):
        with pytest.raises(TypeError, match=r"Order\.quantity"):
            order.quantity = flag  # bool subclasses int: isinstance(True, int) is True
    with pytest.raises(TypeError, match=r"Order\.quantity"):
        order.quantity = 2.5  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"Order\.quantity"):
        # the type check comes first: validate("3") would fail on `"3" <= 0` and not name it
        order.quantity = "3"  # type: ignore[assignment]
    assert order.quantity == 3, "a failed assignment keeps the previous value (validate first)"


@pytest.mark.task(4)
def test_non_empty_str_rejects_blank_strings() -> None:
    class Tag:
        label = NonEmptyStr()

    tag = Tag()
    tag.label = "sale"
    for bad in ("", " ", "   ", "\n\t", "\r\n", "\u3000"):  # \u3000: the ideographic space
        with pytest.raises(ValueError, match=r"Tag\.label"):
            tag.label = bad
    with pytest.raises(TypeError, match=r"Tag\.label"):
        tag.label = 5  # type: ignore[assignment]  # checked by type before validate() runs
    assert tag.label == "sale"


@pytest.mark.task(5)
def test_one_of_rejects_unknown_choices_and_lists_them() -> None:
    class Ticket:
        state = OneOf("open", "closed")

    ticket = Ticket()
    ticket.state = "closed"
    with pytest.raises(ValueError, match=r"Ticket\.state") as caught:
        ticket.state = "pending"
    message = str(caught.value)
    assert "'open'" in message and "'closed'" in message, "tell the caller what is allowed"
    assert ticket.state == "closed"


@pytest.mark.task(2)
def test_product_validates_every_field() -> None:
    desk = Product("Standing desk", 49_900, quantity=2, status="active")
    assert (desk.name, desk.price_cents, desk.quantity, desk.status) == (
        "Standing desk",
        49_900,
        2,
        "active",
    )
    with pytest.raises(ValueError, match="price_cents"):
        Product("Desk", 0)
    with pytest.raises(ValueError, match="name"):
        Product("  ", 100)
    with pytest.raises(ValueError, match="status"):
        Product("Desk", 100, status="sold")
    with pytest.raises(ValueError, match="price_cents"):
        desk.price_cents = -5
    assert desk.price_cents == 49_900, "validation runs on every assignment, not only in __init__"


@pytest.mark.task(6)
def test_cached_lazy_computes_once_per_instance() -> None:
    calls: list[str] = []

    class Report:
        def __init__(self, rows: list[int]) -> None:
            self.rows = rows

        @cached_lazy
        def total(self) -> int:
            calls.append("total")
            return sum(self.rows)

    first, second = Report([1, 2, 3]), Report([10])
    assert (first.total, first.total, first.total) == (6, 6, 6)
    assert len(calls) == 1, "the first read computes, later reads reuse the stored value"
    assert second.total == 10, "each instance has its own value (don't cache on the descriptor)"
    assert len(calls) == 2, "a second instance computes separately, once"
    assert isinstance(Report.total, cached_lazy), "on the class, return the descriptor itself"


@pytest.mark.task(6)
def test_cached_lazy_stores_in_instance_dict_and_steps_aside() -> None:
    calls: list[str] = []

    class Report:
        @cached_lazy
        def total(self) -> int:
            calls.append("total")
            return 42

    report = Report()
    assert report.total == 42
    assert vars(report) == {"total": 42}, "the value goes into instance.__dict__ under its name"
    del Report.total  # the descriptor is gone: reads can only be served by the instance dict
    assert report.total == 42, "after the first read, lookups never reach the descriptor again"
    assert len(calls) == 1


@pytest.mark.task(6)
def test_cached_lazy_recomputes_after_del_and_can_be_overridden() -> None:
    rows = [1, 2]

    class Report:
        @cached_lazy
        def total(self) -> int:
            return sum(rows)

    report = Report()
    assert report.total == 3
    rows.append(4)
    assert report.total == 3, "cached: a change in the inputs is not seen until invalidated"
    del report.total
    assert report.total == 7, "del drops the cached value; the next read recomputes"
    report.total = 0
    assert report.total == 0, "a non-data descriptor lets the instance __dict__ win"


@pytest.mark.task(6)
def test_product_search_terms_are_lazy() -> None:
    desk = Product("Standing Desk", 100)
    assert "search_terms" not in vars(desk), "nothing is computed before the first read"
    assert desk.search_terms == frozenset({"standing", "desk"})
    desk.name = "Chair"
    assert desk.search_terms == frozenset({"standing", "desk"}), "stale until invalidated"
    del desk.search_terms
    assert desk.search_terms == frozenset({"chair"})


class Empty:
    """An instance that is falsy (``len() == 0``) but still an instance, not ``None``."""

    def __len__(self) -> int:
        return 0


@pytest.mark.task(1)
def test_falsy_values_and_falsy_instances_are_still_values() -> None:
    class Box(Empty):
        count = Field(int)
        note = Field(object)

    box = Box()
    assert not box, "the test needs a falsy instance"
    box.count, box.note = 0, None
    assert box.count == 0, "on a falsy instance, return the stored value: test `instance is None`"
    assert box.note is None, "a stored None (or 0, or '') is set: only a missing key is unset"
    assert Box.count is vars(Box)["count"], "only instance=None (class access) returns self"


@pytest.mark.task(2)
def test_subclasses_of_the_kind_are_accepted() -> None:
    class Cents(int):
        pass

    class Slug(str):
        pass

    class Row:
        number = Field(int)
        label = Field(str)

    row = Row()
    row.number, row.label = Cents(5), Slug("desk")
    assert (row.number, row.label) == (5, "desk"), (
        "isinstance(value, self.kind), not `type(value) is self.kind`: subclasses are that kind"
    )
    row.number = True
    assert row.number is True, "a plain Field(int) takes a bool; only PositiveInt refuses it"


@pytest.mark.task(3)
def test_positive_int_accepts_its_boundaries_and_int_subclasses() -> None:
    class Cents(int):
        pass

    class Order:
        quantity = PositiveInt()

    order = Order()
    for good in (1, 2**63 - 1, 2**64, Cents(7)):
        order.quantity = good
        assert order.quantity == good, f"{good!r} is a positive int: it must be accepted"


@pytest.mark.task(4)
def test_non_empty_str_accepts_any_non_blank_string_unchanged() -> None:
    class Tag:
        label = NonEmptyStr()

    tag = Tag()
    for good in ("a", "  sale  ", "new\tarrival", "促销"):
        tag.label = good
        assert tag.label == good, f"{good!r} has a non-whitespace character: store it as given"


@pytest.mark.task(5)
def test_one_of_accepts_exact_choices_only() -> None:
    class Ticket:
        state = OneOf("open", "closed")

    ticket = Ticket()
    for good in ("open", "closed"):
        ticket.state = good
        assert ticket.state == good
    for bad in ("pen", "clos", "open closed", "OPEN", "Closed", ""):
        with pytest.raises(ValueError, match=r"Ticket\.state"):
            ticket.state = bad  # membership in the tuple, not a substring or case-insensitive
    assert ticket.state == "closed"


@pytest.mark.task(6)
def test_cached_lazy_uses_the_attribute_name_it_was_bound_to() -> None:
    calls: list[str] = []

    def compute_total(self: object) -> int:
        calls.append("total")
        return 42

    class Report:
        total = cached_lazy(compute_total)  # bound as "total", the function is "compute_total"

    report = Report()
    assert (report.total, report.total) == (42, 42)
    assert vars(report) == {"total": 42}, "store under self.name, set by __set_name__"
    assert calls == ["total"], "stored under the attribute's name, the second read skips __get__"


@pytest.mark.task(6)
def test_cached_lazy_writes_instance_dict_directly() -> None:
    import dataclasses

    calls: list[str] = []

    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int

        @cached_lazy
        def norm2(self) -> int:
            calls.append("norm2")
            return self.x * self.x + self.y * self.y

    point = Point(3, 4)
    assert (point.norm2, point.norm2) == (25, 25), (
        "a frozen dataclass refuses setattr(): write instance.__dict__[self.name] directly"
    )
    assert calls == ["norm2"]


@pytest.mark.task(6)
def test_cached_lazy_on_a_falsy_instance() -> None:
    class Report(Empty):
        @cached_lazy
        def total(self) -> int:
            return 42

    report = Report()
    assert report.total == 42, "a falsy instance is still an instance: test `instance is None`"
    assert vars(report) == {"total": 42}
