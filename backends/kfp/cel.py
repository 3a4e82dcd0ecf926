"""IR conditions -> the CEL of a KFP `triggerPolicy.condition`, in the forms kfp emits.

kfp compiles `dsl.If(a >= b)` to `inputs.parameter_values['pipelinechannel--a'] >= ...`,
an elif/else to `!(...) && ...`. The KFP driver evaluates it as CEL; `kfp.local` rewrites
`&&`, `||` and `!(` to Python and evaluates that, so only those forms are emitted: every
negation is `!(...)` and every operand of `&&` / `||` is parenthesised. Literals are
written as JSON (double-quoted strings with `\\u` escapes), valid in CEL and Python alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from portaflow.compiler import ir

#: CEL for one value: (expression, IR type) of a non-literal binding.
Operand = Callable[[ir.Binding], tuple[str, str]]


class CelError(Exception):
    """A condition CEL cannot express; the message says why."""


def literal(value: ir.JSONValue) -> str:
    """A JSON value as a CEL literal."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CelError(f"CEL has no literal for {value!r}")
        return repr(value)
    if isinstance(value, (int, str)):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"


def _truthy(expr: str, typ: str) -> str:
    if typ.endswith(" | null"):
        return f"({expr} != null) && ({_truthy(expr, typ[: -len(' | null')])})"
    if typ == "bool":
        return f"{expr} == true"
    if typ in ("int", "float"):
        return f"{expr} != 0"
    if typ == "str":
        return f'{expr} != ""'
    if typ.startswith("list["):
        return f"{expr} != []"
    if typ.startswith("dict["):
        return f"{expr} != {{}}"
    raise CelError(f"cannot test whether a value of type {typ!r} is true")


def to_cel(cond: ir.Condition, operand: Operand) -> str:
    """The CEL text of a condition; operand() gives the expression of each non-literal value."""

    def value(b: ir.Binding) -> str:
        if isinstance(b, ir.Literal):
            return literal(b.value)
        return operand(b)[0]

    match cond:
        case ir.Truthy(value=v):
            if isinstance(v, ir.Literal):
                return "true" if v.value else "false"
            expr, typ = operand(v)
            return _truthy(expr, typ)
        case ir.Compare(left=a, op=op, right=b):
            if op == "not in":
                return f"!({value(a)} in {value(b)})"
            return f"{value(a)} {op} {value(b)}"
        case ir.Not(operand=c):
            return f"!({to_cel(c, operand)})"
        case ir.All(operands=cs):
            return " && ".join(f"({to_cel(c, operand)})" for c in cs)
        case ir.Any(operands=cs):
            return " || ".join(f"({to_cel(c, operand)})" for c in cs)
    raise AssertionError(cond)  # pragma: no cover
