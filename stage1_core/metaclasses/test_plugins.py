"""Metaclasses kata: every class is defined inside its test, so each test has a fresh registry."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pytest

from .plugins import KeyedSingletonMeta, Plugin, RegistryMeta


@pytest.mark.task(2)
def test_concrete_subclasses_register_and_abstract_bases_do_not() -> None:
    class Exporter(metaclass=RegistryMeta):
        @abstractmethod
        def export(self, rows: list[str]) -> str: ...

    class TextExporter(Exporter, abstract=True):
        separator = ","

    class CsvExporter(TextExporter):
        name = "csv"

        def export(self, rows: list[str]) -> str:
            return self.separator.join(rows)

    class JsonExporter(Exporter):
        name = "json"

        def export(self, rows: list[str]) -> str:
            return str(rows)

    assert Exporter.registry == {"csv": CsvExporter, "json": JsonExporter}, (
        "concrete classes register by name at definition; the root and abstract bases do not"
    )
    assert CsvExporter.registry is Exporter.registry, "the whole family shares the root's registry"
    assert Exporter.registry["csv"]().export(["a", "b"]) == "a,b"


@pytest.mark.task(2)
def test_each_root_starts_its_own_registry() -> None:
    class Exporter(metaclass=RegistryMeta):
        pass

    class Importer(metaclass=RegistryMeta):
        pass

    class CsvExporter(Exporter):
        name = "csv"

    class CsvImporter(Importer):
        name = "csv"

    assert (Exporter.registry, Importer.registry) == ({"csv": CsvExporter}, {"csv": CsvImporter}), (
        "two families may both have a 'csv': a registry belongs to a root, not to the metaclass"
    )


@pytest.mark.task(2)
def test_duplicate_name_fails_at_the_class_statement_naming_both() -> None:
    class Exporter(metaclass=RegistryMeta):
        pass

    class CsvExporter(Exporter):
        name = "csv"

    with pytest.raises(TypeError) as caught:

        class TurboCsv(Exporter):  # a name that does not contain "CsvExporter"
            name = "csv"

    message = str(caught.value)
    assert "CsvExporter" in message and "TurboCsv" in message, (
        "name both classes: the reader must find the clash without a debugger"
    )
    assert Exporter.registry == {"csv": CsvExporter}, "the first registration is kept"


@pytest.mark.task(1)
def test_missing_name_fails_at_the_class_statement() -> None:
    class Exporter(metaclass=RegistryMeta):
        pass

    class CsvExporter(Exporter):
        name = "csv"

    with pytest.raises(TypeError, match=r"<locals>\.Nameless\b"):

        class Nameless(Exporter):
            pass

    with pytest.raises(TypeError, match=r"<locals>\.TsvExporter\b"):

        class TsvExporter(CsvExporter):  # inherits name = "csv" but does not set its own
            pass

    with pytest.raises(TypeError, match=r"<locals>\.Blank\b"):

        class Blank(Exporter):
            name = ""

    with pytest.raises(TypeError, match=r"<locals>\.Numbered\b"):

        class Numbered(Exporter):
            name = 42  # truthy, but not a str

    assert Exporter.registry == {"csv": CsvExporter}


@pytest.mark.task(1)
def test_unimplemented_abstract_method_fails_at_definition_not_instantiation() -> None:
    class Interface(ABC):
        @abstractmethod
        def export(self, rows: list[str]) -> str: ...

    class Lazy(Interface):  # a plain ABC accepts this class statement...
        pass

    with pytest.raises(TypeError):
        Lazy()  # type: ignore[abstract]  # ...and only complains when someone instantiates it

    class Exporter(metaclass=RegistryMeta):
        @abstractmethod
        def export(self, rows: list[str]) -> str: ...

        @abstractmethod
        def content_type(self) -> str: ...

    with pytest.raises(TypeError, match=r"<locals>\.Broken\b") as caught:

        class Broken(Exporter):
            name = "broken"

            def export(self, rows: list[str]) -> str:
                return ""

    assert "content_type" in str(caught.value), "say which methods are missing"
    assert "export" not in str(caught.value), "export is implemented: list only what is missing"
    assert Exporter.registry == {}, "a rejected class must not be registered"


@pytest.mark.task(1)
def test_missing_abstract_methods_are_listed_sorted() -> None:
    class Exporter(metaclass=RegistryMeta):
        @abstractmethod
        def write(self) -> None: ...

        @abstractmethod
        def close(self) -> None: ...

        @abstractmethod
        def open(self) -> None: ...

        @abstractmethod
        def flush(self) -> None: ...

    with pytest.raises(TypeError, match=r"<locals>\.Empty\b") as caught:

        class Empty(Exporter):
            name = "empty"

    # __abstractmethods__ is a frozenset: its order changes from run to run (hash randomisation)
    message = str(caught.value)
    positions = [message.find(method) for method in ("close", "flush", "open", "write")]
    assert -1 not in positions and positions == sorted(positions), (
        f"name every missing method, sorted: {message!r}"
    )


@pytest.mark.task(3)
def test_init_subclass_registry_without_a_metaclass() -> None:
    class Exporter(Plugin):
        pass

    class TextExporter(Exporter):  # no name=: an abstract base
        pass

    class CsvExporter(TextExporter, name="csv"):
        pass

    class Notifier(Plugin):
        pass

    class CsvNotifier(Notifier, name="csv"):
        pass

    assert Exporter.registry == {"csv": CsvExporter}, "only classes given name= register"
    assert Notifier.registry == {"csv": CsvNotifier}, "each direct Plugin subclass is a family"
    assert CsvExporter.name == "csv", "the name= keyword becomes the class attribute"


@pytest.mark.task(3)
def test_init_subclass_rejects_a_duplicate_name_naming_both() -> None:
    class Exporter(Plugin):
        pass

    class CsvExporter(Exporter, name="csv"):
        pass

    with pytest.raises(TypeError) as caught:

        class OtherCsv(Exporter, name="csv"):
            pass

    message = str(caught.value)
    assert "CsvExporter" in message and "OtherCsv" in message
    assert Exporter.registry == {"csv": CsvExporter}


@pytest.mark.task(3)
def test_init_subclass_passes_other_keywords_on() -> None:
    class Tagged:
        tag = ""

        def __init_subclass__(cls, /, tag: str = "", **kwargs: object) -> None:
            super().__init_subclass__(**kwargs)
            cls.tag = tag

    class Exporter(Plugin):
        pass

    class CsvExporter(Exporter, Tagged, name="csv", tag="text"):
        pass

    assert CsvExporter.tag == "text", (
        "Plugin.__init_subclass__ must consume name= and call super() with the rest, "
        "or the next class in the MRO never runs"
    )
    assert Exporter.registry == {"csv": CsvExporter}


@pytest.mark.task(4)
def test_keyed_singleton_runs_init_once_per_key() -> None:
    inits: list[tuple[str, int]] = []

    class Pool(metaclass=KeyedSingletonMeta):
        def __init__(self, dsn: str, size: int = 5, timeout: float = 1.0) -> None:
            inits.append((dsn, size))
            self.dsn, self.size, self.timeout = dsn, size, timeout

    a = Pool("db-a")
    assert Pool("db-a") is a, "the same arguments give the same instance"
    assert Pool("db-b") is not a, "other arguments give another instance"
    assert Pool("db-a", size=9, timeout=2.0) is Pool("db-a", timeout=2.0, size=9), (
        "keyword order must not matter: sort the kwargs into the key"
    )
    assert inits == [("db-a", 5), ("db-b", 5), ("db-a", 9)], (
        "__init__ runs once per key: overriding __new__ alone would re-run __init__ on every call"
    )


@pytest.mark.task(4)
def test_keyed_singleton_keeps_instances_per_class() -> None:
    class Pool(metaclass=KeyedSingletonMeta):
        def __init__(self, dsn: str) -> None:
            self.dsn = dsn

    class RedisPool(Pool):
        pass

    base, redis = Pool("localhost"), RedisPool("localhost")
    assert type(redis) is RedisPool and type(base) is Pool, (
        "a subclass called with the same arguments must not get its parent's instance"
    )
    assert RedisPool("localhost") is redis


@pytest.mark.task(2)
def test_subclasses_of_a_concrete_plugin_register_in_the_root_registry() -> None:
    class Exporter(metaclass=RegistryMeta):
        pass

    class CsvExporter(Exporter):
        name = "csv"

    class TsvExporter(CsvExporter):
        name = "tsv"

    assert Exporter.registry == {"csv": CsvExporter, "tsv": TsvExporter}, (
        "a grandchild registers in its root's registry too, under its own name"
    )
    assert TsvExporter.registry is Exporter.registry


@pytest.mark.task(3)
def test_init_subclass_roots_with_mixins_and_super_for_every_class() -> None:
    class Tagged:
        tag = ""

        def __init_subclass__(cls, /, tag: str = "", **kwargs: object) -> None:
            super().__init_subclass__(**kwargs)
            cls.tag = tag

    class Exporter(Plugin, Tagged, tag="root"):  # Plugin's hook runs first, then Tagged's
        pass

    class TextExporter(Exporter, tag="text"):  # abstract: no name=
        pass

    class CsvExporter(TextExporter, name="csv"):
        pass

    assert (Exporter.tag, TextExporter.tag, CsvExporter.tag) == ("root", "text", ""), (
        "call super().__init_subclass__ for every subclass: roots and abstract ones too"
    )
    assert Exporter.registry == {"csv": CsvExporter}

    class Importer(Tagged, Plugin):  # a direct Plugin subclass, Plugin not its first base
        pass

    class CsvImporter(Importer, name="csv"):
        pass

    assert Importer.registry == {"csv": CsvImporter}, (
        "Plugin anywhere among the bases makes a family root with its own registry"
    )
    assert Exporter.registry == {"csv": CsvExporter}


@pytest.mark.task(4)
def test_keyed_singleton_keys_keep_args_and_kwargs_apart() -> None:
    class Pool(metaclass=KeyedSingletonMeta):
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.args, self.kwargs = args, kwargs

    by_keyword = Pool("db", size=9)
    by_position = Pool("db", ("size", 9))
    assert by_position is not by_keyword, "(args, sorted kwargs): don't flatten them into one tuple"
    assert (by_position.args, by_keyword.kwargs) == (("db", ("size", 9)), {"size": 9})
    assert list(Pool._instances.values()) == [by_keyword, by_position], (
        "the instances live in cls._instances"
    )


@pytest.mark.task(4)
def test_keyed_singleton_does_not_keep_an_instance_whose_init_failed() -> None:
    attempts: list[str] = []

    class Pool(metaclass=KeyedSingletonMeta):
        def __init__(self, dsn: str) -> None:
            attempts.append(dsn)
            if len(attempts) == 1:
                raise ConnectionError("server not up yet")
            self.dsn = dsn

    with pytest.raises(ConnectionError):
        Pool("db-a")
    pool = Pool("db-a")
    assert (attempts, pool.dsn) == (["db-a", "db-a"], "db-a"), (
        "a failed construction is not cached: the next call builds the instance again"
    )
    assert Pool("db-a") is pool
