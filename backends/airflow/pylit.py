"""Python literals built from values: the only way user data enters a generated DAG file.

Every string goes through `repr`, so quotes, triple quotes, newlines,
backslashes, `{{ }}`, `{% %}` and code-looking text stay data; nothing is
ever pasted into the source. Containers keep their order (the IR's order is
already deterministic); floats that JSON cannot hold are spelled `float(...)`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def lit(value: Any) -> str:
    """The Python source of a literal equal to `value` (JSON-like values, tuples as lists)."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"float({str(value)!r})"
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    raise TypeError(f"no literal for {type(value).__name__}")


def block(value: Mapping[str, Any], indent: int) -> str:
    """A dict literal over several lines when it has more than one key, for readable diffs."""
    if len(value) <= 1:
        return lit(value)
    pad = " " * (indent + 4)
    body = "".join(f"{pad}{lit(k)}: {lit(v)},\n" for k, v in value.items())
    return "{\n" + body + " " * indent + "}"
