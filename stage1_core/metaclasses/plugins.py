"""Metaclasses: code that runs when a ``class`` statement runs, and when a class is called."""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Hashable
from typing import Any, ClassVar


class RegistryMeta(ABCMeta):
    """A plugin registry: every concrete subclass is registered by its ``name`` at definition.

    The first class built with this metaclass is a *root*: it owns a fresh ``registry`` dict, and
    its whole family of subclasses registers there. ``abstract=True`` in the class statement marks
    an intermediate base that is neither validated nor registered. Deriving from ABCMeta keeps
    ``@abstractmethod`` working (and computes ``__abstractmethods__`` for us)::

        class Exporter(metaclass=RegistryMeta):
            @abstractmethod
            def export(self, rows): ...
        class TextExporter(Exporter, abstract=True): ...
        class CsvExporter(TextExporter):
            name = "csv"
            def export(self, rows): ...
    """

    registry: dict[str, RegistryMeta]

    def __new__(
        mcls,
        clsname: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        /,
        *,
        abstract: bool = False,
        **kwargs: Any,
    ) -> RegistryMeta:
        # `abstract` is ours: consume it so type.__new__ and __init_subclass__ never see it.
        cls = super().__new__(mcls, clsname, bases, namespace, **kwargs)
        if not any(isinstance(base, RegistryMeta) for base in bases):
            cls.registry = {}  # a root: a new family with its own registry
        elif not abstract:
            cls.check_complete()
            cls.add_to_registry()
        return cls

    def check_complete(cls) -> None:
        """Raise TypeError now, while the class statement runs, if ``cls`` is not a usable plugin."""
        # kata: begin TypeError naming cls unless its body sets name and no abstractmethod is left
        own_name = cls.__dict__.get("name")
        if not isinstance(own_name, str) or not own_name:
            raise TypeError(f"{cls.__qualname__} must set name = '<non-empty str>' in its body")
        missing = sorted(cls.__abstractmethods__)  # computed by ABCMeta.__new__
        if missing:
            raise TypeError(f"{cls.__qualname__} does not implement {', '.join(missing)}")
        # kata: end

    def add_to_registry(cls) -> None:
        """Add ``cls`` to its family's registry under ``cls.name``; a name is taken only once."""
        # kata: begin registry[cls.name] = cls; TypeError naming both classes if the name is taken
        name: str = cls.__dict__["name"]
        taken = cls.registry.get(name)
        if taken is not None:
            raise TypeError(
                f"plugin name {name!r} is already taken by {taken.__qualname__}; "
                f"{cls.__qualname__} cannot register it again"
            )
        cls.registry[name] = cls
        # kata: end


class Plugin:
    """The same registry without a metaclass: ``__init_subclass__`` (PEP 487).

    A direct subclass of Plugin starts a family with a fresh ``registry``; its subclasses pass
    ``name=`` in the class statement to register, and omit it to stay abstract::

        class Exporter(Plugin): ...
        class CsvExporter(Exporter, name="csv"): ...
    """

    registry: ClassVar[dict[str, type[Plugin]]]
    name: ClassVar[str]

    def __init_subclass__(cls, /, name: str | None = None, **kwargs: Any) -> None:
        # kata: begin super() with other kwargs; a family root gets a registry; name= registers
        super().__init_subclass__(**kwargs)
        if Plugin in cls.__bases__:
            cls.registry = {}
            return
        if name is None:
            return
        taken = cls.registry.get(name)
        if taken is not None:
            raise TypeError(
                f"plugin name {name!r} is already taken by {taken.__qualname__}; "
                f"{cls.__qualname__} cannot register it again"
            )
        cls.name = name
        cls.registry[name] = cls
        # kata: end


class KeyedSingletonMeta(type):
    """One instance per constructor arguments: ``Pool("db-a") is Pool("db-a")``.

    ``type.__call__`` is what runs ``__new__`` and ``__init__`` when you call a class; overriding
    it in the metaclass decides whether they run at all. Each class (subclasses included) keeps
    its own instances.
    """

    _instances: dict[Hashable, Any]

    def __init__(cls, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cls._instances = {}  # per class: a subclass gets its own dict, not its parent's

    def __call__(cls, *args: Hashable, **kwargs: Hashable) -> Any:
        # `-> Any` tells mypy to keep checking calls against the class's own __init__.
        # kata: begin key = (args, sorted kwargs); call super().__call__ only for a new key
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cls._instances:
            cls._instances[key] = super().__call__(*args, **kwargs)
        return cls._instances[key]
        # kata: end
