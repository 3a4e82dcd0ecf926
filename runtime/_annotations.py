"""Reading a step function's annotations at run time: output names, str inputs, type checks."""

from __future__ import annotations

import inspect
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "accepts_str",
    "check_type",
    "coerce",
    "output_specs",
    "show",
    "type_hints",
]

_EMPTY = inspect.Parameter.empty


def type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations with `Annotated` kept; the raw (maybe string) ones if they do not resolve."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # a name only imported under TYPE_CHECKING, a typo...
        return dict(getattr(func, "__annotations__", {}) or {})


def _strip(ann: Any) -> tuple[str | None, Any]:
    """(name, inner type) of `Annotated[T, "name"]`; (None, ann) for anything else."""
    if typing.get_origin(ann) is typing.Annotated:
        inner, *extras = typing.get_args(ann)
        names = [e for e in extras if isinstance(e, str)]
        return (names[0] if names else None), inner
    return None, ann


def output_specs(hints: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """Declared outputs as (name, type) in order; [] for `-> None`; None when not annotated.

    A plain annotation is one output named "output"; `Annotated[T, "name"]`
    names it; `tuple[...]` is one output per element, named by its `Annotated`
    name or `output_<index>` (0-based).
    """
    if "return" not in hints:
        return None
    ret = hints["return"]
    if ret is None or ret is type(None) or ret == "None":
        return []
    if isinstance(ret, str):
        return None  # unresolved forward reference: fall back to the flags
    name, inner = _strip(ret)
    if name is None and typing.get_origin(inner) is tuple:
        args = typing.get_args(inner)
        if args and not (len(args) == 2 and args[1] is Ellipsis) and args != ((),):
            specs = []
            for index, arg in enumerate(args):
                arg_name, arg_type = _strip(arg)
                specs.append((arg_name or f"output_{index}", arg_type))
            return specs
    return [(name or "output", inner)]


def _union_args(ann: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(ann)
    if origin is typing.Union or (sys.version_info >= (3, 10) and isinstance(ann, types.UnionType)):
        return typing.get_args(ann)
    return None


def accepts_str(ann: Any) -> bool:
    """Whether an input annotated `ann` takes text: str, Path, `str | None`, Literal of str, Any, none."""
    ann = _strip(ann)[1]
    if ann in (_EMPTY, typing.Any, str, Path) or isinstance(ann, typing.TypeVar):
        return True
    if isinstance(ann, str):  # unresolved annotation text
        parts = {p.strip() for p in ann.replace("Optional[", "").rstrip("]").split("|")}
        return bool(parts & {"str", "Any", "typing.Any", "Path", "pathlib.Path"})
    union = _union_args(ann)
    if union is not None:
        return any(accepts_str(a) for a in union)
    if typing.get_origin(ann) is typing.Literal:
        return any(isinstance(a, str) for a in typing.get_args(ann))
    return False


def _numpy_kind(value: Any) -> str | None:
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic):
        kind: str = value.dtype.kind
        return kind
    return None


def is_run_status(ann: Any) -> bool:
    """Whether an input is the `RunStatus` the runner fills (the class, or its name unresolved)."""
    from portaflow.status import RunStatus

    ann = _strip(ann)[1]
    if isinstance(ann, str):
        return ann.rpartition(".")[2] == "RunStatus"
    return ann is RunStatus


def check_type(ann: Any, value: Any) -> bool | None:
    """Shallow check of `value` against `ann`: True, False, or None when it cannot tell."""
    ann = _strip(ann)[1]
    if ann is _EMPTY or ann is typing.Any or isinstance(ann, (str, typing.TypeVar)):
        return None
    if ann is None or ann is type(None):
        return value is None
    union = _union_args(ann)
    if union is not None:
        results = [check_type(a, value) for a in union]
        if any(r is True for r in results):
            return True
        return False if all(r is False for r in results) else None
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return value in typing.get_args(ann)
    if origin is not None:
        return isinstance(value, origin) if isinstance(origin, type) else None
    if not isinstance(ann, type):
        return None
    kind = _numpy_kind(value)
    if ann is float:
        return isinstance(value, (int, float)) or kind in {"i", "u", "f"}
    if ann is int and kind in {"i", "u"}:
        return True
    if ann is bool and kind == "b":
        return True
    if ann is complex:
        return isinstance(value, (int, float, complex))
    if ann is Path or ann is bytes:
        if isinstance(value, str if ann is Path else bytearray):
            return True
    try:
        return isinstance(value, ann)
    except TypeError:  # protocols that are not runtime-checkable, etc.
        return None


def coerce(ann: Any, value: Any) -> Any:
    """The value as the annotation means it: numpy scalars as Python numbers, str as Path..."""
    ann = _strip(ann)[1]
    kind = _numpy_kind(value)
    if ann in (int, float, bool) and kind is not None:
        return ann(value.item())
    if ann is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if ann is Path and isinstance(value, str):
        return Path(value)
    if ann is str and isinstance(value, Path):
        return str(value)
    return value


def show(ann: Any) -> str:
    """An annotation as the user would write it."""
    ann = _strip(ann)[1]
    if isinstance(ann, str):
        return ann
    if isinstance(ann, type) and typing.get_origin(ann) is None:
        return (
            ann.__qualname__
            if ann.__module__ == "builtins"
            else f"{ann.__module__}.{ann.__qualname__}"
        )
    return repr(ann).replace("typing.", "")
