"""How values travel through Argo: JSON text that Argo never reads as a tag or Kubernetes expands.

Every parameter value portaflow places in a manifest is JSON text, the task runtime's
`--param` format (docs/CONTRACTS.md). Two characters are escaped inside JSON strings:
`{` (as `\\u007b`) so Argo never sees a `{{...}}` template tag it would substitute
(https://argo-workflows.readthedocs.io/en/latest/variables/), and `$` (as `\\u0024`) so
Kubernetes never expands a `$(VAR)` reference in a container's command
(https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/).
The JSON still decodes to exactly the user's value.

Conditions are Argo expression tags (`{{=...}}`, the expr language): operands are variables
looked up by name, never text pasted into the expression, so no runtime value can change it.
"""

from __future__ import annotations

import json
import re

from portaflow.compiler.ir import JSONValue

_ESCAPES = {"{": "\\u007b", "}": "\\u007d", "$": "\\u0024"}


def _json_str(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    return text.replace("{", _ESCAPES["{"]).replace("$", _ESCAPES["$"])


def to_json(value: JSONValue) -> str:
    """Compact, key-sorted JSON with `{` and `$` escaped inside strings."""
    if isinstance(value, str):
        return _json_str(value)
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_json_str(k)}:{to_json(v)}" for k, v in items) + "}"
    return json.dumps(value)


def has_tag(s: str) -> bool:
    """Whether Argo would treat part of `s` as a template tag."""
    return "{{" in s


def k8s_escape_dollar(s: str) -> str:
    """Escape `$(` so Kubernetes passes the text through unexpanded (`$$` means `$`)."""
    return s.replace("$(", "$$(")


_SAFE_EXPR_RUN = re.compile(r"[A-Za-z0-9 _.,:;/@#%^&*()+=\[\]<>?!|~`-]*")
_UNSAFE_EXPR_CHAR = re.compile(r"[^A-Za-z0-9 _.,:;/@#%^&*()+=\[\]<>?!|~`-]")


def expr_string(s: str) -> str:
    """An expr-language string literal; every character outside a small safe set is a \\u escape.

    Braces are escaped too, so the literal can never close the `{{=...}}` tag around it.
    """
    if _SAFE_EXPR_RUN.fullmatch(s):
        return "'" + s + "'"
    return "'" + _UNSAFE_EXPR_CHAR.sub(_expr_escape, s) + "'"


def _expr_escape(m: re.Match[str]) -> str:
    ch = ord(m.group())
    return f"\\u{ch:04x}" if ch <= 0xFFFF else f"\\U{ch:08x}"


def expr_literal(value: JSONValue) -> str:
    """An expr-language literal for a JSON value."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return expr_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(expr_literal(v) for v in value) + "]"
    items = sorted(value.items())
    # A space before `}`: fasttemplate ends a tag at the first `}}`, so `{'a': {'b': 1}}`
    # would end `{{=... }}` early; `{'a': {'b': 1 } }` cannot.
    return "{" + ", ".join(f"{expr_string(k)}: {expr_literal(v)}" for k, v in items) + " }"


def expr_var(*path: str) -> str:
    """A variable path in expr form with bracketed names (`tasks['a-b'].outputs...`)."""
    head, *rest = path
    return head + "".join(
        f"[{expr_string(p)}]" if not _IDENT.fullmatch(p) else f".{p}" for p in rest
    )


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def decode(var: str) -> str:
    """The expr that decodes a JSON-text variable into a value."""
    return f"jsonpath({var}, '$')"


def safe_json(expr: str) -> str:
    """`expr` (JSON text re-encoded by Argo's `toJson`) with `$` and `{{` escaped again.

    `toJson` writes decoded strings back raw; in JSON `{{` and `$` can only occur inside
    strings, where `\\u007b` and `\\u0024` decode to the same characters, so the result
    holds no template tag and nothing Kubernetes expands (see the module docstring).
    """
    dollar = expr_string("\\u0024")
    brace = expr_string("{\\u007b")
    return f"replace(replace({expr}, {expr_string('$')}, {dollar}), {expr_string('{{')}, {brace})"


#: Beyond this magnitude a JSON integer does not survive a float64 round trip.
EXACT_INT = 2**53


def has_big_int(value: JSONValue) -> bool:
    """Whether `value` holds an integer Argo's float64 JSON decoding would round."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > EXACT_INT
    if isinstance(value, list):
        return any(has_big_int(v) for v in value)
    if isinstance(value, dict):
        return any(has_big_int(v) for v in value.values())
    return False
