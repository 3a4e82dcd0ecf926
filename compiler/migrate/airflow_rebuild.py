"""The second pass over a DAG body: statements written back with after=, comprehensions and ifs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import libcst as cst

from portaflow.compiler.migrate.airflow_cst import (
    append_arg,
    expr,
    keep_comments,
    kwarg,
    leading,
    removed_lines,
    simple,
)
from portaflow.compiler.migrate.airflow_decorators import code
from portaflow.compiler.migrate.airflow_tasks import string_value

if TYPE_CHECKING:
    from portaflow.compiler.migrate.airflow_body import Inv, _Body
    from portaflow.compiler.migrate.airflow_dependencies import Edge

_TEMPLATE_PREFIXES = ("params.", "params['", 'params["')


def rebuild_body(
    b: _Body, stmts: list[cst.BaseStatement], kinds: list[str], edges: list[Edge]
) -> cst.IndentedBlock:
    from portaflow.compiler.migrate.airflow_body import branch_test, is_join, output_keys

    # Name the calls written inside dependency statements that something waits on.
    ups = {id(e.up) for e in edges}
    for index, inline in b.inline.items():
        inline[:] = _topological(inline, edges)
        for pos, inv in enumerate(inline):
            inv.order = (index, pos)
            if id(inv) in ups:
                inv.var = _unique(b, f"{inv.fn}_task")
    # Multiple outputs read as r["key"].
    multi = _multi_vars(b, stmts, kinds, output_keys)
    for e in edges:
        if e.up.order >= e.down.order:
            b.m.report(
                e.down.node,
                "PF866",
                f"`{e.down.fn}` is called before `{e.up.fn}`, which it must wait for",
                f"move the call of `{e.down.fn}` below the call of `{e.up.fn}`",
            )
        elif b.tasks[e.up.fn].flavour == "branch":
            e.down.tests.append(branch_test(b, e.up, str(e.up.var), e.down))
            e.down.after.append(e.up)  # the branch's own conditions are inherited
        else:
            e.down.after.append(e.up)
    conds: dict[int, tuple[str, ...]] = {}
    for inv in sorted(b.invs, key=lambda i: i.order):
        got: list[str] = []
        if not is_join(b, inv):
            for up in [*inv.data, *inv.after]:
                got += [c for c in conds.get(id(up), ()) if c not in got]
        got += [t for t in inv.tests if t not in got]
        conds[id(inv)] = tuple(got)
    _hints(b, multi)
    items: list[tuple[cst.BaseStatement, tuple[str, ...]]] = []
    carry: list[cst.EmptyLine] = []
    for i, (stmt, kind) in enumerate(zip(stmts, kinds, strict=True)):
        new: list[tuple[cst.BaseStatement, tuple[str, ...]]] = []
        if kind == "hoisted":
            continue
        if kind == "dep":
            carry += removed_lines(stmt)
            for inv in b.inline.get(i, []):
                line = _statement(b, inv, multi)
                new.append((line, conds[id(inv)]))
        elif kind == "call":
            assert isinstance(stmt, cst.SimpleStatementLine)
            mine = [inv for inv in b.invs if inv.order[0] == i]
            cond: list[str] = []
            for inv in mine:
                cond += [c for c in conds[id(inv)] if c not in cond]
            rewritten = _rewrite_statement(b, stmt, multi)
            new.append((keep_comments([stmt], [rewritten])[0], tuple(cond)))
        else:
            new.append((stmt, ()))
        if not new:
            continue
        if carry:
            first, c = new[0]
            new[0] = (first.with_changes(leading_lines=[*carry, *leading(first)]), c)
            carry = []
        items.extend(new)
    body = _nest(items, 0)
    block = b.fn.body
    assert isinstance(block, cst.IndentedBlock)
    if not body:
        body = [simple(cst.Pass())]
    elif (stmts and kinds[0] == "hoisted") or (
        len(kinds) > 1 and kinds[0] == "doc" and kinds[1] == "hoisted"
    ):
        # The first statement after the task functions that moved out: no blank line on top.
        at = 1 if kinds[0] == "doc" and len(body) > 1 else 0
        lines = leading(body[at])
        while lines and lines[0].comment is None and at == 0:
            lines.pop(0)
        body[at] = body[at].with_changes(leading_lines=lines)
    return block.with_changes(body=body, footer=[*block.footer, *carry])


def _topological(invs: list[Inv], edges: list[Edge]) -> list[Inv]:
    """Calls of one dependency statement, each after the ones it waits on (stable)."""
    mine = {id(i) for i in invs}
    waits = {id(i): {id(e.up) for e in edges if e.down is i and id(e.up) in mine} for i in invs}
    out: list[Inv] = []
    left = list(invs)
    while left:
        ready = next((i for i in left if not (waits[id(i)] - {id(o) for o in out})), left[0])
        out.append(ready)
        left.remove(ready)
    return out


def _unique(b: _Body, base: str) -> str:
    name, n = base, 1
    while name in b.taken:
        n += 1
        name = f"{base}_{n}"
    b.taken.add(name)
    return name


def _multi_vars(
    b: _Body,
    stmts: list[cst.BaseStatement],
    kinds: list[str],
    keys_of: Callable[[_Body, str], list[str] | None],
) -> dict[str, list[str]]:
    """Names read as `r["key"]` -> the output keys of the task they hold."""
    out: dict[str, list[str]] = {}
    for stmt, kind in zip(stmts, kinds, strict=True):
        if kind not in ("call", "dep"):
            continue
        for node in _subscripts(stmt):
            inv = b.vars.get(node.value.value)  # type: ignore[attr-defined]
            if inv is None:
                continue
            keys = keys_of(b, inv.fn)
            key = string_value(node.slice[0].slice.value)  # type: ignore[attr-defined]
            if keys is None or key not in keys:
                b.m.report(
                    node,
                    "PF869",
                    f"`{code(node)}` reads one key of a task result, but `{inv.fn}` does not "
                    "return a dict literal with that key in every `return`",
                    'return `{"key": value, ...}` with the same keys everywhere, or pass the whole value',
                )
                continue
            out[str(inv.var)] = keys
            b.plan.multi[inv.fn] = keys
    return out


def _subscripts(stmt: cst.CSTNode) -> list[cst.Subscript]:
    found: list[cst.Subscript] = []

    class _Find(cst.CSTVisitor):
        def visit_Subscript(self, node: cst.Subscript) -> None:
            if (
                isinstance(node.value, cst.Name)
                and len(node.slice) == 1
                and isinstance(node.slice[0].slice, cst.Index)
                and string_value(node.slice[0].slice.value) is not None
            ):
                found.append(node)

    stmt.visit(_Find())
    return found


def _param_annotation(b: _Body, fn: str, index: int | None, name: str | None) -> str | None:
    params = b.tasks[fn].node.params.params
    for i, p in enumerate(params):
        if (name is not None and p.name.value == name) or (name is None and i == index):
            return code(p.annotation.annotation) if p.annotation else None
    return None


def _hints(b: _Body, multi: dict[str, list[str]]) -> None:
    """Types of unannotated task results, from the parameters they are passed to."""
    for inv in b.invs:
        expand = isinstance(inv.node.func, cst.Attribute)
        for i, arg in enumerate(inv.node.args):
            name = arg.keyword.value if arg.keyword else None
            ann = _param_annotation(b, inv.fn, i, name)
            if ann is None:
                continue
            v = arg.value
            if isinstance(v, cst.Name) and v.value in b.vars and v.value not in multi:
                up = b.vars[v.value]
                b.plan.hints.setdefault(up.fn, f"list[{ann}]" if expand else ann)
            elif isinstance(v, cst.Subscript) and isinstance(v.value, cst.Name):
                maybe = b.vars.get(v.value.value)
                key = (
                    string_value(v.slice[0].slice.value)
                    if isinstance(v.slice[0].slice, cst.Index)
                    else None
                )
                if maybe is not None and key is not None:
                    b.plan.key_hints.setdefault((maybe.fn, key), ann)


def _after_names(b: _Body, inv: Inv, multi: dict[str, list[str]]) -> list[str]:
    out = []
    for up in inv.after:
        if up.var is None:
            continue
        if inv.tests and b.tasks[up.fn].flavour == "branch":
            continue  # the `if` on its result already waits for it
        name = up.var if up.var not in multi else f"{up.var}_{multi[up.var][0]}"
        if name not in out:
            out.append(name)
    return out


class _Rewrite(cst.CSTTransformer):
    def __init__(self, b: _Body, multi: dict[str, list[str]]) -> None:
        self.b = b
        self.multi = multi
        self.depth = 0

    def visit_Call(self, node: cst.Call) -> None:
        if node in self.b.by_node:
            self.depth += 1

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        inv = self.b.by_node.get(original)
        if inv is None:
            return updated
        self.depth -= 1
        after = _after_names(self.b, inv, self.multi)
        extra = kwarg("after", expr(f"[{', '.join(after)}]")) if after else None
        if not isinstance(updated.func, cst.Attribute):
            return append_arg(updated, extra) if extra else updated
        return _comprehension(self.b, inv, updated, extra)

    def leave_Subscript(
        self, original: cst.Subscript, updated: cst.Subscript
    ) -> cst.BaseExpression:
        if isinstance(original.value, cst.Name) and original.value.value in self.multi:
            key = string_value(original.slice[0].slice.value)  # type: ignore[attr-defined]
            if key in self.multi[original.value.value]:
                return cst.Name(f"{original.value.value}_{key}")
        return updated

    def leave_SimpleString(
        self, original: cst.SimpleString, updated: cst.SimpleString
    ) -> cst.BaseExpression:
        text = original.evaluated_value
        if self.depth == 0 or not isinstance(text, str) or "{{" not in text:
            return updated
        inner = text.strip()
        if inner.startswith("{{") and inner.endswith("}}"):
            ref = inner[2:-2].strip()
            for prefix in _TEMPLATE_PREFIXES:
                if ref.startswith(prefix):
                    name = ref[len(prefix) :].rstrip("]'\"")
                    if name in self.b.params:
                        return cst.Name(name)
        self.b.m.report(
            original,
            "PF871",
            "a Jinja template argument; portaflow passes values, not templates",
            "pass a pipeline parameter (`{{ params.n }}` becomes `n`) or compute it in the step",
        )
        return updated


def _comprehension(
    b: _Body, inv: Inv, updated: cst.Call, extra: cst.Arg | None
) -> cst.BaseExpression:
    func = updated.func
    assert isinstance(func, cst.Attribute)
    base = func.value
    fixed: list[cst.Arg] = []
    if isinstance(base, cst.Call):  # t.partial(...).expand(...)
        fixed = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in base.args]
    loops: list[tuple[str, cst.BaseExpression]] = []
    args = list(fixed)
    for a in updated.args:
        if a.keyword is None:
            b.m.report(
                inv.node,
                "PF866",
                "`.expand()` with a positional argument",
                "name the mapped argument",
            )
            return updated
        var = a.keyword.value if a.keyword.value not in b.taken else f"{a.keyword.value}_item"
        loops.append((var, a.value))
        args.append(kwarg(a.keyword.value, cst.Name(var)))
    if len(loops) > 2:
        b.m.report(
            inv.node,
            "PF866",
            "`.expand()` over more than two arguments (portaflow nests loops two levels)",
            "combine the lists in a step and expand over one",
        )
        return updated
    if extra is not None:
        args.append(extra)
    args = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for a in args[:-1]
    ] + [args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    call = cst.Call(func=cst.Name(inv.fn), args=args)
    comp: cst.CompFor | None = None
    for var, items in reversed(loops):
        comp = cst.CompFor(target=cst.Name(var), iter=items, inner_for_in=comp)
    assert comp is not None
    return cst.ListComp(elt=call, for_in=comp)


def _rewrite_statement(
    b: _Body, stmt: cst.SimpleStatementLine, multi: dict[str, list[str]]
) -> cst.SimpleStatementLine:
    new = stmt.visit(_Rewrite(b, multi))
    assert isinstance(new, cst.SimpleStatementLine)
    small = new.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        if isinstance(target, cst.Name) and target.value in multi:
            names = [f"{target.value}_{k}" for k in multi[target.value]]
            tuple_target = expr(", ".join(names)) if len(names) > 1 else cst.Name(names[0])
            small = small.with_changes(targets=[small.targets[0].with_changes(target=tuple_target)])
            new = new.with_changes(body=[small])
    return new


def _statement(b: _Body, inv: Inv, multi: dict[str, list[str]]) -> cst.BaseStatement:
    """A task call written inside a dependency statement, as a statement of its own."""
    value = inv.node.visit(_Rewrite(b, multi))
    assert isinstance(value, cst.BaseExpression)
    if inv.var is None:
        return simple(cst.Expr(value))
    return simple(cst.Assign(targets=[cst.AssignTarget(cst.Name(inv.var))], value=value))


def _nest(
    items: list[tuple[cst.BaseStatement, tuple[str, ...]]], depth: int
) -> list[cst.BaseStatement]:
    """Statements under the `if`s their conditions need; consecutive ones share an `if`."""
    out: list[cst.BaseStatement] = []
    i = 0
    while i < len(items):
        stmt, conds = items[i]
        if len(conds) <= depth:
            out.append(stmt)
            i += 1
            continue
        key = conds[depth]
        j = i
        while j < len(items) and len(items[j][1]) > depth and items[j][1][depth] == key:
            j += 1
        inner = _nest(items[i:j], depth + 1)
        first = inner[0]
        inner[0] = first.with_changes(leading_lines=[])
        out.append(
            cst.If(
                test=expr(key),
                body=cst.IndentedBlock(body=inner),
                leading_lines=leading(first),
            )
        )
        i = j
    return out
