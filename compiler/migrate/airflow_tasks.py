"""Airflow TaskFlow values read statically: schedules, durations, literal types, task options.

Helpers of `portaflow.compiler.migrate.airflow`; pure functions on libcst nodes.
Airflow's arguments: https://airflow.apache.org/docs/apache-airflow/stable/core-concepts/tasks.html
"""

from __future__ import annotations

import libcst as cst

#: Airflow's cron presets (airflow/utils/dates.py `cron_presets`), as five-field cron.
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

#: JSON Schema types of `Param(type=...)` -> Python annotations.
PARAM_TYPES = {
    "integer": "int",
    "number": "float",
    "string": "str",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
    "null": "None",
}

#: Trigger rules under which a task runs after a branch whichever way it went (a join).
JOIN_RULES = {"none_failed", "none_failed_min_one_success", "none_skipped"}

_SECONDS = {
    "weeks": 604800,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
    "milliseconds": 0.001,
}


def string_value(node: cst.BaseExpression) -> str | None:
    """The text of a plain string literal (no f-string), else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def number_value(node: cst.BaseExpression) -> float | None:
    """The value of an int or float literal (a leading minus allowed), else None."""
    sign = 1
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        sign, node = -1, node.expression
    if isinstance(node, cst.Integer):
        return sign * int(node.evaluated_value)
    if isinstance(node, cst.Float):
        return sign * float(node.evaluated_value)
    return None


def dotted(node: cst.BaseExpression) -> str:
    """`a.b.c` for a Name/Attribute chain, else ""."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head else ""
    return ""


def duration(node: cst.BaseExpression, timedelta_names: set[str]) -> str | int | None:
    """`timedelta(minutes=5)` -> "5m", a number of seconds -> that int; None when not static."""
    if isinstance(node, cst.Call) and dotted(node.func) in timedelta_names:
        total = 0.0
        for i, arg in enumerate(node.args):
            unit = arg.keyword.value if arg.keyword else ("days", "seconds")[min(i, 1)]
            value = number_value(arg.value)
            if unit not in _SECONDS or value is None or arg.star:
                return None
            total += value * _SECONDS[unit]
        return _seconds_text(total)
    value = number_value(node)
    if value is not None and value == int(value) and value >= 0:
        return int(value)
    return None


def _seconds_text(total: float) -> str | None:
    if total != int(total) or total < 0:
        return None
    n = int(total)
    for unit, size in (("h", 3600), ("m", 60)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}s"


def literal_type(node: cst.BaseExpression) -> str | None:
    """The annotation a literal's value has (`5` -> "int"), or None when it is not a literal."""
    if string_value(node) is not None or isinstance(node, cst.FormattedString):
        return "str"
    if isinstance(node, cst.Integer) or (
        isinstance(node, cst.UnaryOperation) and isinstance(node.expression, cst.Integer)
    ):
        return "int"
    if isinstance(node, cst.Float) or (
        isinstance(node, cst.UnaryOperation) and isinstance(node.expression, cst.Float)
    ):
        return "float"
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return "bool"
    if isinstance(node, (cst.List, cst.ListComp)):
        return _list_type(node)
    if isinstance(node, (cst.Dict, cst.DictComp)):
        return "dict"
    return None


def _list_type(node: cst.List | cst.ListComp) -> str:
    if isinstance(node, cst.ListComp) or not node.elements:
        return "list"
    kinds = {literal_type(e.value) if isinstance(e, cst.Element) else None for e in node.elements}
    if len(kinds) == 1 and None not in kinds:
        return f"list[{kinds.pop()}]"
    return "list"


def returns(fn: cst.FunctionDef) -> list[cst.Return]:
    """Every `return` of the function itself (not of nested functions or classes)."""
    found: list[cst.Return] = []

    class _Find(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is fn

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Return(self, node: cst.Return) -> None:
            found.append(node)

    fn.visit(_Find())
    return found


def return_type(fn: cst.FunctionDef) -> str | None:
    """The annotation the function's returns agree on: "None" when it returns no value."""
    values = [r.value for r in returns(fn) if r.value is not None]
    if not values:
        return "None"
    kinds = {literal_type(v) for v in values}
    if None in kinds:
        return None
    if len(kinds) == 1:
        return kinds.pop()
    if all(k is not None and k.startswith("list") for k in kinds):
        return "list"
    return None


def dict_keys(value: cst.BaseExpression) -> list[tuple[str, cst.BaseExpression]] | None:
    """`{"a": x, "b": y}` -> [("a", x), ("b", y)]; None unless every key is a string literal."""
    if not isinstance(value, cst.Dict):
        return None
    out = []
    for el in value.elements:
        if not isinstance(el, cst.DictElement):
            return None
        key = string_value(el.key)
        if key is None or not key.isidentifier():
            return None
        out.append((key, el.value))
    return out


def kwargs(call: cst.Call) -> dict[str, cst.Arg]:
    """The keyword arguments of a call, by name."""
    return {a.keyword.value: a for a in call.args if a.keyword is not None}
