"""`@portaflow.materializer`: the registry of user materializers (kept tiny: `import portaflow` loads it).

    @portaflow.materializer(MyType)
    class MyTypeMaterializer:
        name = "acme.mytype"                       # optional; default "module.ClassName"
        def save(self, obj: MyType, dir: Path) -> None: ...
        def load(self, dir: Path) -> MyType: ...

    portaflow.materializer(Other, save=save_other, load=load_other)   # function pair

`save` writes any files it likes into the existing, empty directory `dir`
(except `portaflow-artifact.json`); `load` reads them back. Registrations win
over the built-in materializers, and the most specific registered class wins.
The sidecar records the materializer's name and module, so a later step loads
the artifact even if its own module does not import the registering one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar, overload, runtime_checkable

__all__ = ["BUILTIN_NAMES", "Materializer", "Registration", "materializer", "registrations"]

C = TypeVar("C", bound=type)

#: Names of the built-in materializers; user materializers may not take them.
BUILTIN_NAMES = frozenset(
    {
        "json",
        "bytes",
        "path",
        "pandas.parquet",
        "pandas.series.parquet",
        "numpy.npy",
        "joblib",
        "pickle",
    }
)


@runtime_checkable
class Materializer(Protocol):
    """Saves values of some types into a directory and loads them back."""

    #: Stable name recorded in the sidecar; loading looks the materializer up by it.
    name: str

    def save(self, obj: Any, dir: Path) -> None:
        """Write `obj` as one or more files inside the existing, empty `dir`."""

    def load(self, dir: Path) -> Any:
        """Read back what `save` wrote into `dir`."""


class Registration(NamedTuple):
    """One `@portaflow.materializer` call."""

    #: The class whose instances (and subclasses' instances) it saves.
    type: type
    #: The materializer.
    materializer: Materializer
    #: Importable module that registers it, recorded in sidecars (None for `__main__`).
    module: str | None


_REGISTERED: list[Registration] = []


def registrations() -> tuple[Registration, ...]:
    """Every registration, oldest first."""
    return tuple(_REGISTERED)


class _FunctionMaterializer:
    """Adapts a pair of save/load functions to the Materializer protocol."""

    def __init__(
        self, name: str, save: Callable[[Any, Path], None], load: Callable[[Path], Any]
    ) -> None:
        self.name = name
        self._save = save
        self._load = load

    def save(self, obj: Any, dir: Path) -> None:
        self._save(obj, dir)

    def load(self, dir: Path) -> Any:
        return self._load(dir)

    def __repr__(self) -> str:
        return f"<portaflow materializer {self.name}>"


def _register(type_: type, mat: Materializer, module: str | None) -> None:
    name = getattr(mat, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError("a materializer needs a non-empty str `name`")
    if name in BUILTIN_NAMES:
        raise ValueError(f"materializer name {name!r} is taken by a built-in; choose another")
    # Registering again (a module imported twice, as __main__ and by name) replaces.
    _REGISTERED[:] = [r for r in _REGISTERED if r.type is not type_ and r.materializer.name != name]
    _REGISTERED.append(Registration(type_, mat, None if module == "__main__" else module))


@overload
def materializer(type_: type, /, *, name: str | None = None) -> Callable[[C], C]: ...
@overload
def materializer(
    type_: type,
    /,
    *,
    save: Callable[[Any, Path], None],
    load: Callable[[Path], Any],
    name: str | None = None,
) -> Materializer: ...
def materializer(
    type_: type,
    /,
    *,
    save: Callable[[Any, Path], None] | None = None,
    load: Callable[[Path], Any] | None = None,
    name: str | None = None,
) -> Callable[[C], C] | Materializer:
    """Register how values of `type_` (and its subclasses) are saved and loaded.

    As a class decorator, the class is instantiated without arguments and needs
    `save(self, obj, dir)` and `load(self, dir)`; its `name` attribute (else
    `name=`, else "module.ClassName") goes into the sidecar. With `save=` and
    `load=` functions it returns the registered materializer.
    """
    if not isinstance(type_, type):
        raise TypeError(f"@portaflow.materializer needs a class, got {type_!r}")
    if save is not None or load is not None:
        if save is None or load is None:
            raise TypeError("portaflow.materializer(...) needs both save= and load=")
        mat = _FunctionMaterializer(name or f"{type_.__module__}.{type_.__qualname__}", save, load)
        _register(type_, mat, getattr(save, "__module__", None))
        return mat

    def decorate(cls: C) -> C:
        instance = cls()
        if not (
            callable(getattr(instance, "save", None)) and callable(getattr(instance, "load", None))
        ):
            raise TypeError(
                f"materializer class {cls.__qualname__} needs save() and load() methods"
            )
        if not isinstance(getattr(instance, "name", None), str):
            instance.name = name or f"{cls.__module__}.{cls.__qualname__}"
        _register(type_, instance, cls.__module__)
        return cls

    return decorate
