"""Values as JSON and types by name: what cache keys, parameters and sidecars are made of."""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["canonical_json", "describe_type", "to_json_value"]

_TYPE_ALIASES = {
    "pandas.core.frame.DataFrame": "pandas.DataFrame",
    "pandas.core.series.Series": "pandas.Series",
    "pathlib.PosixPath": "pathlib.Path",
    "pathlib.WindowsPath": "pathlib.Path",
    # Python 3.13 moved the concrete classes to pathlib._local
    "pathlib._local.PosixPath": "pathlib.Path",
    "pathlib._local.WindowsPath": "pathlib.Path",
    "pathlib._local.Path": "pathlib.Path",
}


def describe_type(obj: Any) -> str:
    """Qualified name of the value's type: "int", "pandas.DataFrame", "sklearn.linear_model._base.LinearRegression"."""
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    name = f"{cls.__module__}.{cls.__qualname__}"
    return _TYPE_ALIASES.get(name, name)


def _numpy_scalar(obj: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(obj, np.generic) and obj.dtype.kind in "biuf"


def to_json_value(obj: Any) -> Any:
    """`obj` with tuples as lists and numpy scalars as Python numbers; TypeError if not JSON."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, (list, tuple)):
        return [to_json_value(x) for x in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"dict key {k!r} is not a str")
            out[k] = to_json_value(v)
        return out
    if _numpy_scalar(obj):
        return obj.item()
    raise TypeError(f"a value of type {describe_type(obj)} is not JSON")


def canonical_json(obj: Any) -> str:
    """One text per JSON value: sorted keys, no spaces, UTF-8 kept (used for cache keys)."""
    return json.dumps(to_json_value(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
