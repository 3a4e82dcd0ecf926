"""One comparable form for a step output, however it was stored (ZenML or portaflow).

Standard library only, duck-typed on pandas and numpy, so both the ZenML venv's
driver and the test process import it. JSON values stay themselves (floats rounded to
9 digits); a DataFrame becomes its columns, index and rows; a numpy value its list;
any other object its type, since two tools pickle it differently.
"""

from __future__ import annotations

from typing import Any


def canon(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (list, tuple)):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canon(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    if kind.__module__.startswith("pandas") and kind.__name__ == "DataFrame":
        return {
            "DataFrame": {
                "columns": [str(c) for c in value.columns],
                "index": canon(value.index.tolist()),
                "rows": canon(value.values.tolist()),
            }
        }
    if kind.__module__ == "numpy" and hasattr(value, "tolist"):
        return {"numpy": canon(value.tolist())}
    return {"object": name}
