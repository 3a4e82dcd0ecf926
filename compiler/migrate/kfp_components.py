"""KFP v2 components -> portaflow steps: the decorator, NamedTuple returns, path-style artifacts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from portaflow.compiler.migrate.kfp_common import (
    Component,
    Context,
    kwargs,
    literal_str,
    make_call,
    positional,
)

Where = Callable[[cst.CSTNode], CodeRange | None]

#: `@dsl.component` arguments with no meaning for portaflow, dropped without a word.
_SILENT = {"install_kfp_package", "kfp_package_path"}
_PACKAGES = {"packages_to_install", "pip_index_urls", "pip_trusted_hosts"}
_HINT_PACKAGES = (
    "install them in the step's image (a Dockerfile FROM the base image), and give it with "
    '@step(image="...")'
)
_HINT_ARTIFACT = (
    'return the value instead (`-> T`; `Annotated[T, "name"]` names it): portaflow stores '
    "it as an artifact chosen by its type, and a step taking `x: T` gets it back"
)


@dataclass
class _Write:
    """An `Output[T]` parameter written once with `with open(p.path, "w") as f: f.write(e)`."""

    name: str
    type: str
    stmt: cst.With
    value: cst.BaseExpression


def decorator_args(
    ctx: Context, deco: cst.Decorator, where: Where
) -> dict[str, cst.BaseExpression]:
    """`@dsl.component(...)` arguments as `@step` arguments; the rest reported."""
    out: dict[str, cst.BaseExpression] = {}
    if not isinstance(deco.decorator, cst.Call):
        return out
    for key, value in kwargs(deco.decorator).items():
        if key == "base_image":
            out["image"] = value
        elif key in _SILENT:
            continue
        elif key in _PACKAGES:
            ctx.add(
                "PF801",
                "warning",
                f"`{key}` is not carried over: portaflow steps run in their image as it is",
                where(value),
                _HINT_PACKAGES,
            )
        else:
            ctx.add(
                "PF806",
                "warning",
                f"`@dsl.component({key}=...)` has no portaflow equivalent and is dropped",
                where(value),
                "portaflow steps are Python functions run in their `image`",
            )
    return out


def _open_write(
    stmt: cst.BaseStatement, param: str, reading: bool
) -> tuple[str, cst.BaseExpression] | None:
    """`with open(param.path[, mode]) as f: <f.write(e) | v = f.read()>` -> (type, e-or-v)."""
    if not isinstance(stmt, cst.With) or len(stmt.items) != 1:
        return None
    item = stmt.items[0]
    call = item.item
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Name)):
        return None
    if call.func.value != "open" or item.asname is None:
        return None
    args = positional(call)
    if not args or not _is_path(args[0], param):
        return None
    mode = literal_str(args[1]) if len(args) > 1 else literal_str(kwargs(call).get("mode"))
    mode = (
        mode
        if mode is not None
        else ("r" if len(args) == 1 and "mode" not in kwargs(call) else None)
    )
    if mode not in (("r", "rb", "rt") if reading else ("w", "wb", "wt")):
        return None
    handle = item.asname.name
    if not isinstance(handle, cst.Name) or not isinstance(stmt.body, cst.IndentedBlock):
        return None
    if len(stmt.body.body) != 1 or not isinstance(stmt.body.body[0], cst.SimpleStatementLine):
        return None
    line = stmt.body.body[0]
    if len(line.body) != 1:
        return None
    small = line.body[0]
    kind = "bytes" if "b" in mode else "str"
    if reading:
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            return None
        if not _method_call(small.value, handle.value, "read", 0):
            return None
        return kind, small.targets[0].target
    if not isinstance(small, cst.Expr) or not _method_call(small.value, handle.value, "write", 1):
        return None
    assert isinstance(small.value, cst.Call)
    return kind, small.value.args[0].value


def _method_call(node: cst.BaseExpression, obj: str, method: str, nargs: int) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == obj
        and node.func.attr.value == method
        and len(node.args) == nargs
    )


def _is_path(node: cst.BaseExpression, param: str) -> bool:
    return (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == param
        and node.attr.value == "path"
    )


class _Uses(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.returns = 0

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.count += 1

    def visit_Return(self, node: cst.Return) -> None:
        self.returns += 1


def _uses(node: cst.CSTNode, name: str) -> _Uses:
    v = _Uses(name)
    node.visit(v)
    return v


def _metric_logs(body: cst.IndentedBlock, name: str) -> list[cst.SimpleStatementLine] | None:
    """The statements `name.log_metric(k, v)` when they are the parameter's only uses."""
    found = []
    for stmt in body.body:
        if (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and _method_call(stmt.body[0].value, name, "log_metric", 2)
        ):
            found.append(stmt)
    total = _uses(body, name).count
    return found if found and len(found) == total else None


def _annotated(kind: str, name: str) -> str:
    return f'Annotated[{kind}, "{name}"]'


def _named_tuple(ctx: Context, ann: cst.BaseExpression) -> list[tuple[str, str]] | None:
    """`NamedTuple("Outputs", [("a", int), ...])` or `NamedTuple("O", a=int)` -> [(name, type)]."""
    if not isinstance(ann, cst.Call):
        return None
    func = ann.func
    fname = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
    if fname != "NamedTuple":
        return None
    mod = cst.Module(body=[])
    fields: list[tuple[str, str]] = []
    pos = positional(ann)
    if len(pos) > 1 and isinstance(pos[1], (cst.List, cst.Tuple)):
        for el in pos[1].elements:
            pair = el.value
            if not (isinstance(pair, cst.Tuple) and len(pair.elements) == 2):
                return None
            key = literal_str(pair.elements[0].value)
            if key is None:
                return None
            fields.append((key, mod.code_for_node(pair.elements[1].value)))
    else:
        for key, value in kwargs(ann).items():
            fields.append((key, mod.code_for_node(value)))
    return fields or None


def migrate_component(
    ctx: Context, comp: Component, node: cst.FunctionDef, where: Where
) -> cst.FunctionDef:
    """Rewrite a component's signature and body; the decorator is set by the final pass."""
    params = list(node.params.params)
    body = node.body
    if not isinstance(body, cst.IndentedBlock):
        return node
    writes: list[_Write] = []
    #: Parameter name -> its new form, or None when it is gone.
    converted: dict[str, cst.Param | None] = {}
    replace: dict[cst.CSTNode, cst.BaseStatement] = {}
    fallible = False
    for p in params:
        ann = p.annotation.annotation if p.annotation else None
        qual = ctx.qual(ann.value) if isinstance(ann, cst.Subscript) else None
        if isinstance(ann, cst.Call) and ctx.qual(ann.func) in (
            "kfp.dsl.OutputPath",
            "kfp.dsl.InputPath",
        ):
            qual = "path"
        if qual not in ("kfp.dsl.Output", "kfp.dsl.Input", "path"):
            continue
        name = p.name.value
        inner = None
        if isinstance(ann, cst.Subscript) and isinstance(ann.slice[0].slice, cst.Index):
            inner = ctx.qual(ann.slice[0].slice.value)
        if qual == "kfp.dsl.Output" and inner == "kfp.dsl.Metrics":
            logs = _metric_logs(body, name)
            if logs is not None:
                for stmt in logs:
                    small = stmt.body[0]
                    assert isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)
                    call = small.value.with_changes(func=cst.Name("log_metric"))
                    replace[stmt] = stmt.with_changes(body=[small.with_changes(value=call)])
                ctx.portaflow.add("log_metric")
                converted[name] = None
                continue
        found = None
        if qual != "path" and _uses(body, name).count == 1:
            for candidate in body.body:
                got = _open_write(candidate, name, reading=qual == "kfp.dsl.Input")
                if got is not None:
                    found = (candidate, got)
                    break
        if found is None:
            fallible = True
            ctx.add(
                "PF802",
                "error",
                f"path-style artifact parameter `{name}` is used in a way migrate cannot "
                "turn into a value",
                where(p),
                _HINT_ARTIFACT,
            )
            continue
        with_stmt, (kind, expr) = found
        assert isinstance(with_stmt, cst.With)
        if qual == "kfp.dsl.Input":
            # `with open(x.path) as f: v = f.read()` -> the value arrives as the parameter.
            converted[name] = p.with_changes(annotation=cst.Annotation(cst.Name(kind)))
            assert isinstance(expr, cst.BaseAssignTargetExpression)
            assign = cst.Assign(targets=[cst.AssignTarget(expr)], value=cst.Name(name))
            replace[with_stmt] = cst.SimpleStatementLine(
                body=[assign], leading_lines=with_stmt.leading_lines
            )
        else:
            writes.append(_Write(name=name, type=kind, stmt=with_stmt, value=expr))
    if replace:
        body = body.with_changes(body=[replace.get(s, s) for s in body.body])
    if writes and not fallible:
        done = _returns(ctx, comp, node, body, writes, where)
        if done is not None:
            node, body = done
            converted.update({w.name: None for w in writes})
    if converted:
        kept = [converted.get(p.name.value, p) for p in params]
        node = node.with_changes(
            params=node.params.with_changes(
                params=_commas([p for p in kept if p is not None], params[-1])
            )
        )
    if node.returns is not None:
        fields = _named_tuple(ctx, node.returns.annotation)
        if fields is not None:
            ctx.annotated = True
            comp.outputs = [k for k, _t in fields]
            text = "tuple[" + ", ".join(_annotated(t, k) for k, t in fields) + "]"
            node = node.with_changes(returns=cst.Annotation(cst.parse_expression(text)))
    return node.with_changes(body=body)


def _commas(params: list[cst.Param], last: cst.Param) -> list[cst.Param]:
    """The kept parameters; the new last one ends as the old last one did (comma or not)."""
    return [
        p if i < len(params) - 1 else p.with_changes(comma=last.comma) for i, p in enumerate(params)
    ]


def _returns(
    ctx: Context,
    comp: Component,
    node: cst.FunctionDef,
    body: cst.IndentedBlock,
    writes: list[_Write],
    where: Where,
) -> tuple[cst.FunctionDef, cst.IndentedBlock] | None:
    """Path-style outputs written once become the step's return value(s)."""
    returns = node.returns
    has_value = returns is not None and not (
        isinstance(returns.annotation, cst.Name) and returns.annotation.value == "None"
    )
    if has_value or _uses(body, "").returns:
        ctx.add(
            "PF802",
            "error",
            "a component with both a return value (or a `return`) and path-style outputs",
            where(node.name),
            _HINT_ARTIFACT,
        )
        return None
    stmts = list(body.body)
    last = stmts[-1]
    for w in writes:
        i = stmts.index(w.stmt)
        assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(w.name))], value=w.value)
        stmts[i] = cst.SimpleStatementLine(body=[assign], leading_lines=w.stmt.leading_lines)
    if len(writes) == 1 and last is writes[0].stmt:
        ret: cst.BaseSmallStatement = cst.Return(value=writes[0].value)
        stmts[-1] = cst.SimpleStatementLine(body=[ret], leading_lines=last.leading_lines)
    else:
        names = [cst.Name(w.name) for w in writes]
        value: cst.BaseExpression = (
            names[0]
            if len(names) == 1
            else cst.Tuple([cst.Element(n) for n in names], lpar=[], rpar=[])
        )
        stmts.append(cst.SimpleStatementLine(body=[cst.Return(value=value)]))
    ctx.annotated = True
    if len(writes) == 1:
        text = _annotated(writes[0].type, writes[0].name)
    else:
        text = "tuple[" + ", ".join(_annotated(w.type, w.name) for w in writes) + "]"
        comp.outputs = [w.name for w in writes]
    node = node.with_changes(returns=cst.Annotation(cst.parse_expression(text)))
    return node, body.with_changes(body=stmts)


def step_decorator(deco: cst.Decorator, comp: Component) -> cst.Decorator:
    """`@step` or `@step(...)` from the component's own arguments and its tasks' options."""
    args = dict(comp.args)
    for key, value in (comp.options or {}).items():
        args.setdefault(key, value)
    order = ["image", "retries", "resources", "env", "cache"]
    items = sorted(args.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    expr: cst.BaseExpression = make_call("step", items) if items else cst.Name("step")
    mod = cst.Module(body=[])
    if len(mod.code_for_node(expr)) > 98:
        # One argument a line, as a formatter would write it.
        inner = "".join(f"    {k}={mod.code_for_node(v)},\n" for k, v in items)
        expr = cst.parse_expression(f"step(\n{inner})")
    return deco.with_changes(decorator=expr)


__all__ = ["decorator_args", "migrate_component", "step_decorator"]
