"""What a step logs about itself: `portaflow.log_metadata(...)` and `portaflow.log_metric(...)`.

Values go into one module-level collector. Inside `python -m portaflow.task`
the collector is emptied before the step is called and copied into the task's
metadata record afterwards; anywhere else (a unit test calling the step as a
plain function) the calls just record and never fail.
"""

from __future__ import annotations

import math
import threading
from typing import Any

__all__ = ["collected", "log_metadata", "log_metric", "reset"]

_lock = threading.Lock()
_metadata: dict[str, Any] = {}
_metrics: dict[str, float] = {}
_history: dict[str, list[dict[str, Any]]] = {}


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy of `value`; what JSON cannot hold becomes its repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else repr(float(value))
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    return repr(value)


def log_metadata(**values: Any) -> None:
    """Attach key/value pairs to the current task's metadata record (later keys win)."""
    with _lock:
        for key, value in values.items():
            _metadata[key] = _jsonable(value)


def log_metric(name: str, value: float, *, step: int | None = None) -> None:
    """Record a numeric metric; with `step=`, also keep its history (a loss per epoch)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    with _lock:
        _metrics[str(name)] = number
        if step is not None:
            _history.setdefault(str(name), []).append({"step": int(step), "value": number})


def reset() -> None:
    """Forget everything logged so far (the task runtime calls this before the step)."""
    with _lock:
        _metadata.clear()
        _metrics.clear()
        _history.clear()


def collected() -> dict[str, Any]:
    """A JSON-safe snapshot: {"metadata": {...}, "metrics": {...}, "metric_history": {...}}."""
    with _lock:
        return {
            "metadata": dict(_metadata),
            "metrics": {k: _jsonable(v) for k, v in _metrics.items()},
            "metric_history": {
                k: [{"step": e["step"], "value": _jsonable(e["value"])} for e in v]
                for k, v in _history.items()
            },
        }
