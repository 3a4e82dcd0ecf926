"""IR conditions as Argo `when` expression tags (`{{=...}}`, the expr language).

Operands are variables the expression looks up by name, decoded from JSON text, and
literals written as expr literals with every unusual character `\\u`-escaped, so no user
string or runtime value can change the expression's shape
(https://argo-workflows.readthedocs.io/en/latest/variables/#expression).
"""

from __future__ import annotations

from collections.abc import Callable

from portaflow.compiler import ir

from . import values
from .scopes import Ref

#: Resolves a binding to (reference, normalised type) in the current group.
Resolver = Callable[[ir.Binding], tuple[Ref, str]]


def _operand(b: ir.Binding, resolve: Resolver) -> tuple[str, str]:
    if isinstance(b, ir.Literal):
        v = b.value
        t = "str" if isinstance(v, str) else "list" if isinstance(v, list) else "any"
        return values.expr_literal(v), t
    ref, typ = resolve(b)
    if typ == "str":
        # Strings may arrive as raw text from `argo submit -p`; JSON text starts with a quote.
        return f"({ref.expr} startsWith '\"' ? {values.decode(ref.expr)} : {ref.expr})", typ
    return values.decode(ref.expr), typ


def _truthy(x: str, typ: str) -> str:
    if typ == "bool":
        return f"{x} == true"
    if typ in ("int", "float"):
        return f"{x} != 0"
    if typ == "str" or typ.startswith(("list", "dict")):
        return f"len({x}) > 0"
    return f"({x} != nil && {x} != false && {x} != 0 && {x} != '')"


def render(cond: ir.Condition, resolve: Resolver) -> str:
    """The expr text of a condition (without the surrounding tag)."""
    match cond:
        case ir.Truthy(value=v):
            x, typ = _operand(v, resolve)
            return _truthy(x, typ)
        case ir.Compare(left=a, op=op, right=b):
            left, _ = _operand(a, resolve)
            right, rtyp = _operand(b, resolve)
            if op in ("in", "not in"):
                test = f"{right} contains {left}" if rtyp == "str" else f"{left} in {right}"
                return test if op == "in" else f"!({test})"
            return f"{left} {op} {right}"
        case ir.Not(operand=c):
            return f"!({render(c, resolve)})"
        case ir.All(operands=cs):
            return " && ".join(f"({render(c, resolve)})" for c in cs)
        case ir.Any(operands=cs):
            return " || ".join(f"({render(c, resolve)})" for c in cs)
    raise AssertionError(cond)  # pragma: no cover


def when(cond: ir.Condition, resolve: Resolver) -> str:
    """The `when` field for a condition."""
    text = render(cond, resolve)
    # fasttemplate ends a tag at the first `}}`: a dict literal's `}` must not touch it.
    return "{{=" + text + (" }}" if text.endswith("}") else "}}")
