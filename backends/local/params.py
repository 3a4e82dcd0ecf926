"""Pipeline parameters of a local run: `--param k=v` text parsed and checked by the declared type.

Types are the IR's normalised strings ("int", "list[str]", "dict[str, float]",
"int | null", "any"). Text is read as JSON except for `str`, where it is taken
as written (so `--param region=eu` needs no quotes), as Argo passes strings.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from portaflow.compiler import ir


class ParamError(ValueError):
    """A parameter that is unknown, missing or of the wrong type; the message says which."""


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, but they are not JSON."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def parse_assignments(pipeline: ir.Pipeline, pairs: Iterable[str]) -> dict[str, ir.JSONValue]:
    """`["n=3", "regions=[\"eu\"]"]` -> typed values, by the pipeline's declared parameter types."""
    declared = {p.name: p for p in pipeline.params}
    out: dict[str, ir.JSONValue] = {}
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParamError(
                f"--param {pair!r}: write it as NAME=VALUE, e.g. --param n_estimators=200"
            )
        if name in given:
            raise ParamError(
                f"--param {name} is given twice ({given[name]!r} and {pair!r}); give each "
                "parameter once"
            )
        given[name] = pair
        param = declared.get(name)
        if param is None:
            raise ParamError(_unknown(name, pipeline))
        out[name] = parse_value(param, text)
    return out


def parse_value(param: ir.Param, text: str) -> ir.JSONValue:
    """One parameter value from its command-line text."""
    tp = param.type.type
    value: Any
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _NotJson as exc:
        if accepts(tp, text) and not accepts(tp, 0.5):  # a str parameter: the text as written
            return text
        raise ParamError(
            f"--param {param.name}={_clip(text)}: {exc} is not a JSON number, and a pipeline "
            "parameter travels as JSON; give a finite number (or a str parameter for the text)"
        ) from None
    except RecursionError:
        raise ParamError(
            f"--param {param.name}: the value is nested too deeply to be read as JSON"
        ) from None
    except json.JSONDecodeError:
        if not accepts(tp, text):
            raise ParamError(
                f"--param {param.name}={text}: not valid JSON for type {tp}"
                f" (lists and dicts are JSON, e.g. --param {param.name}='{_example(tp)}')"
            ) from None
        return text
    if accepts(tp, value):
        return _coerce(tp, value)
    if accepts(tp, text):  # a str parameter given text that happens to be JSON ("3", "true")
        return text
    raise ParamError(f"--param {param.name}={text}: expected {tp}, got {_type_name(value)}")


def resolve(pipeline: ir.Pipeline, given: Mapping[str, ir.JSONValue]) -> dict[str, ir.JSONValue]:
    """Every parameter's value for a run: given ones checked, defaults filled in, none missing."""
    declared = {p.name: p for p in pipeline.params}
    for name, value in given.items():
        param = declared.get(name)
        if param is None:
            raise ParamError(_unknown(name, pipeline))
        if not _finite(value):
            raise ParamError(
                f"parameter {name}: NaN and Infinity are not JSON numbers, and a pipeline "
                "parameter travels as JSON; give a finite number"
            )
        if not accepts(param.type.type, value):
            raise ParamError(f"parameter {name}: expected {param.type.type}, got {value!r}")
    out: dict[str, ir.JSONValue] = {}
    missing = []
    for p in pipeline.params:
        if p.name in given:
            out[p.name] = _coerce(p.type.type, given[p.name])
        elif p.has_default:
            out[p.name] = p.default
        else:
            missing.append(p.name)
    if missing:
        flags = " ".join(f"--param {m}=..." for m in missing)
        raise ParamError(
            f"pipeline {pipeline.name!r} needs a value for {', '.join(missing)}: pass {flags}"
        )
    return out


def accepts(tp: str, value: Any) -> bool:
    """Whether a JSON value fits a normalised IR type."""
    tp = tp.strip()
    alternatives = _split(tp, "|")
    if len(alternatives) > 1:
        return any(accepts(a, value) for a in alternatives)
    if tp in ("any", "") or "." in tp:
        return True
    if tp == "null":
        return value is None
    if tp == "bool":
        return isinstance(value, bool)
    if tp == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if tp == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp == "str":
        return isinstance(value, str)
    if tp in ("list", "tuple"):
        return isinstance(value, list)
    if tp == "dict":
        return isinstance(value, dict)
    head, _, rest = tp.partition("[")
    args = _split(rest[:-1], ",") if rest.endswith("]") else []
    if head in ("list", "tuple") and len(args) == 1:
        return isinstance(value, list) and all(accepts(args[0], v) for v in value)
    if head == "tuple":
        return (
            isinstance(value, list)
            and len(value) == len(args)
            and all(accepts(a, v) for a, v in zip(args, value, strict=True))
        )
    if head == "dict" and len(args) == 2:
        return isinstance(value, dict) and all(accepts(args[1], v) for v in value.values())
    return True  # a type this checker does not know is the runtime's to check


def _coerce(tp: str, value: ir.JSONValue) -> ir.JSONValue:
    # A float parameter given 3 travels as 3.0, so the cache key does not depend on how it was typed.
    if tp.strip() == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _finite(value: Any) -> bool:
    """Whether a value holds no NaN or infinity, at any depth (iteratively: no recursion limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return True


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _split(text: str, sep: str) -> list[str]:
    """Split at `sep` outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


def _unknown(name: str, pipeline: ir.Pipeline) -> str:
    names = [p.name for p in pipeline.params]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    known = ", ".join(names) if names else "none"
    return f"pipeline {pipeline.name!r} has no parameter {name!r}{hint} (parameters: {known})"


def _type_name(value: Any) -> str:
    return {
        bool: "a bool",
        int: "an int",
        float: "a float",
        str: "a string",
        list: "a list",
        dict: "a dict",
        type(None): "null",
    }.get(type(value), type(value).__name__) + f" ({json.dumps(value)})"


def _example(tp: str) -> str:
    if tp.startswith("list"):
        return '["a", "b"]' if "str" in tp else "[1, 2]"
    if tp.startswith("dict"):
        return '{"key": 1}'
    return "..."
