"""`name = container_step(...)` at module level: a step whose body is a command, read statically.

The IR gives such a step a `ContainerSpec` (image and argv template) instead of
a Python function; its inputs and outputs are parameters, and its code hash
covers the whole declaration. Placeholder syntax: `portaflow.container`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import string

from portaflow.compiler import ir
from portaflow.compiler.source import Module, Project, dsl_name
from portaflow.compiler.steps import Report, StaticEval
from portaflow.compiler.types import TypeReader

_ARGS = ("name", "image", "command", "inputs", "outputs")
_PARAM_TYPES = ("str", "int", "float", "bool")


def container_decl(project: Project, module: Module, stmt: ast.AST) -> ast.Call | None:
    """The `container_step(...)` call a module-level assignment makes, if it makes one."""
    value = getattr(stmt, "value", None)
    if isinstance(value, ast.Call) and dsl_name(project, module, value.func) == "container_step":
        return value
    return None


def _placeholders(item: str) -> list[str] | None:
    """Placeholder fields of an argv item ("!" for a format spec or conversion); None if malformed."""
    try:
        parsed = list(string.Formatter().parse(item))
    except ValueError:
        return None
    return [f if not (spec or conv) else "!" for _, f, spec, conv in parsed if f is not None]


def read_container_step(
    project: Project, module: Module, var: str, call: ast.Call, report: Report
) -> ir.StepDef | None:
    """The StepDef of `var = container_step(...)`, or None after reporting what is wrong."""
    ok = True

    def bad(code: str, node: ast.AST, message: str, hint: str) -> None:
        nonlocal ok
        ok = False
        report(code, node, message, hint)

    for arg in call.args:
        bad(
            "PF262",
            arg,
            "container_step(...) takes keyword arguments only",
            "write name=..., image=..., command=[...], inputs={...}, outputs={...}",
        )
    kws: dict[str, ast.expr] = {}
    for kw in call.keywords:
        if kw.arg not in _ARGS:
            bad(
                "PF262",
                kw,
                f"container_step has no option {kw.arg!r}",
                f"options: {', '.join(_ARGS)}",
            )
        else:
            kws[kw.arg] = kw.value
    ev = StaticEval(project, module, report)
    strings: dict[str, str] = {}
    for key in ("name", "image"):
        node = kws.get(key)
        val = ev.literal(node) if node is not None else None
        if not isinstance(val, str) or not val.strip():
            bad(
                "PF262",
                node or call,
                f"container_step needs {key}= as a non-empty string",
                f'e.g. {key}="{"count-lines" if key == "name" else "busybox:1.36"}"',
            )
        else:
            strings[key] = val
    types = TypeReader(project, module)
    sides: dict[str, dict[str, ir.TypeInfo]] = {"inputs": {}, "outputs": {}}
    named: dict[str, set[str]] = {"inputs": set(), "outputs": set()}
    for side, found in sides.items():
        node = kws.get(side)
        if node is None:
            continue
        if not isinstance(node, ast.Dict) or any(k is None for k in node.keys):
            bad(
                "PF263",
                node,
                f"container_step {side}= must be a dict literal of names to types",
                f'e.g. {side}={{"path": str, "count": int}}',
            )
            continue
        for k, v in zip(node.keys, node.values, strict=True):
            assert k is not None
            if not (
                isinstance(k, ast.Constant) and isinstance(k.value, str) and k.value.isidentifier()
            ):
                bad(
                    "PF263",
                    k,
                    f"container_step {side} names must be identifier strings",
                    'e.g. "path" or "line_count"',
                )
                continue
            named[side].add(k.value)
            info = types.read(v)
            if info.type not in _PARAM_TYPES:
                bad(
                    "PF264",
                    v,
                    f"{side[:-1]} {k.value!r} of a container_step has type "
                    f"{ast.unparse(v)!r}; a command's inputs and outputs are parameters",
                    "use str, int, float or bool; pass a file as a str path",
                )
                continue
            found[k.value] = ir.TypeInfo(
                annotation=ast.unparse(v), type=info.type, kind="parameter"
            )
    command: list[str] = []
    node = kws.get("command")
    items = node.elts if isinstance(node, ast.List | ast.Tuple) else None
    if items is None or not items:
        bad(
            "PF265",
            node or call,
            "container_step needs command= as a non-empty list of strings",
            'an argv list, never a shell string: command=["wc", "-l", "{path}"]',
        )
    else:
        for item in items:
            val = ev.literal(item)
            if not isinstance(val, str):
                bad(
                    "PF265",
                    item,
                    "each command item must be a string literal",
                    'write values as placeholders: "{count}"',
                )
                continue
            fields = _placeholders(val)
            if fields is None or "!" in fields or "" in fields:
                bad(
                    "PF266",
                    item,
                    f"command item {val!r} has a malformed placeholder",
                    "write {input}, {outputs.name}, and {{ }} for literal braces",
                )
                continue
            for f in fields:
                side, key = ("outputs", f[8:]) if f.startswith("outputs.") else ("inputs", f)
                if key not in named[side]:
                    bad(
                        "PF267",
                        item,
                        f"placeholder {{{f}}} names no {side[:-1]} of this container_step",
                        f"declared {side}: {', '.join(sides[side]) or 'none'}",
                    )
            command.append(val)
    used = {f for item in command for f in (_placeholders(item) or [])}
    for out in sides["outputs"]:
        if f"outputs.{out}" not in used:
            bad(
                "PF268",
                kws["outputs"],
                f"output {out!r} is never written: no {{outputs.{out}}} placeholder in the command",
                f'pass its path to the tool: "{{outputs.{out}}}"',
            )
    if not ok:
        return None
    spec = ir.ContainerSpec(image=strings["image"], command=tuple(command))
    inputs = tuple(
        ir.StepInput(name=n, type=t, has_default=False) for n, t in sides["inputs"].items()
    )
    outputs = tuple(ir.StepOutput(name=n, type=t) for n, t in sides["outputs"].items())
    declared = {
        "name": strings["name"],
        "image": spec.image,
        "command": command,
        "inputs": {n: t.type for n, t in sides["inputs"].items()},
        "outputs": {n: t.type for n, t in sides["outputs"].items()},
    }
    digest = hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()
    return ir.StepDef(
        ref=f"{module.name}:{var}",
        name=strings["name"],
        inputs=inputs,
        outputs=outputs,
        config=ir.StepConfig(),
        code_hash=digest,
        doc="",
        span=module.span(call),
        container=spec,
    )
