"""A `@dsl.pipeline` body -> a portaflow pipeline body: task calls, outputs, control flow, options."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst
from libcst.metadata import CodeRange

from portaflow.compiler.migrate.kfp_common import (
    Component,
    Context,
    arg,
    comment_lines,
    footer_comments,
    kwargs,
    literal_str,
    make_call,
    positional,
    string,
)
from portaflow.compiler.migrate.kfp_options import HINT_OPTIONS, task_options

Where = Callable[[cst.CSTNode], CodeRange | None]


def _is_task_method(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and (
            node.func.attr.value in ("after", "ignore_upstream_failure")
            or node.func.attr.value.startswith(("set_", "add_"))
        )
    )


def unchain(expr: cst.BaseExpression) -> tuple[cst.BaseExpression, list[cst.Call]]:
    """`comp(...).after(t).set_cpu_limit("1")` -> (`comp(...)`, [the method calls, in order])."""
    methods: list[cst.Call] = []
    while _is_task_method(expr):
        assert isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
        methods.insert(0, expr)
        expr = expr.func.value
    return expr, methods


_NONE = Component(outputs=["", ""])


class _Exprs(cst.CSTTransformer):
    """Task outputs, `dsl.Collected` and loop-item fields inside one expression."""

    def __init__(self, body: PipelineBody) -> None:
        self.b = body

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        b = self.b
        value = original_node.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Name)
            and original_node.attr.value == "output"
            and len(b.ctx.components.get(value.func.value, _NONE).outputs) <= 1
        ):
            return updated_node.value  # `step(...).output` -> `step(...)`
        if not isinstance(value, cst.Name):
            return updated_node
        name, attr = value.value, original_node.attr.value
        if name in b.tasks and attr == "output":
            if name in b.unpacked:
                b.ctx.add(
                    "PF809",
                    "error",
                    f"`{name}.output` of a task with several outputs",
                    b.where(original_node),
                    f'name the output: `{name}.outputs["..."]`',
                )
                return updated_node
            return cst.Name(name)
        if name in b.items and name not in b.tasks:
            # `item.field` of a loop over dicts is `item["field"]` in portaflow.
            return cst.Subscript(
                value=cst.Name(name), slice=[cst.SubscriptElement(cst.Index(string(attr)))]
            )
        return updated_node

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        b = self.b
        value = original_node.value
        if not (
            isinstance(value, cst.Attribute)
            and isinstance(value.value, cst.Name)
            and value.attr.value == "outputs"
            and value.value.value in b.tasks
            and len(original_node.slice) == 1
            and isinstance(original_node.slice[0].slice, cst.Index)
        ):
            return updated_node
        name = value.value.value
        key = literal_str(original_node.slice[0].slice.value)
        if name not in b.unpacked:
            return cst.Name(name)
        if key is None or key not in b.unpacked[name]:
            b.ctx.add(
                "PF809",
                "error",
                f"`{name}.outputs[...]` names no output of the task",
                b.where(original_node),
                "use one of the component's output names: " + ", ".join(b.unpacked[name]),
            )
            return updated_node
        return cst.Name(b.unpacked[name][key])

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.b.ctx.qual(original_node.func) != "kfp.dsl.Collected":
            return updated_node
        inner = positional(updated_node)
        if len(inner) == 1 and isinstance(inner[0], cst.Name) and inner[0].value in self.b.lists:
            return inner[0]
        self.b.ctx.add(
            "PF805",
            "error",
            "`dsl.Collected` of a loop that is not one task call",
            self.b.where(original_node),
            "collect with a comprehension, `results = [step(x=x) for x in items]`, and pass "
            "`results`; move the other steps of the loop into one step or a sub-pipeline",
        )
        return updated_node


class PipelineBody:
    """Rewrites one pipeline function's body; gathers step options into the context."""

    def __init__(self, ctx: Context, where: Where, name: str, params: set[str]) -> None:
        self.ctx = ctx
        #: The pipeline's parameter names (an exit hook takes them by name).
        self.params = params
        self.where = where
        self.name = name
        #: Task variable -> the component it calls.
        self.tasks: dict[str, str] = {}
        #: Task variable -> output name -> the unpacked variable (components with several outputs).
        self.unpacked: dict[str, dict[str, str]] = {}
        #: Variables holding the list of a loop's results (built as comprehensions).
        self.lists: set[str] = set()
        #: Loop item names in scope.
        self.items: set[str] = set()
        #: Task variable -> the output names `v.outputs["x"]` reads.
        self.used_outputs: dict[str, set[str]] = {}
        #: Variables `dsl.Collected(v.output)` reads or `.after(v)` waits for.
        self.collected: set[str] = set()
        #: Methods called on a task variable in statements of their own: var -> calls.
        self.later: dict[str, list[cst.Call]] = {}
        #: Statements folded into others (by id), whose comments move to the next statement.
        self.dropped: set[int] = set()
        #: Task variables an `ExitHandler` names as its exit task -> the hook's component.
        self.exit_vars: dict[str, str] = {}
        self._footer: list[cst.EmptyLine] = []
        self.exprs = _Exprs(self)

    # ------------------------------------------------------------------ scan

    def scan(self, stmts: Sequence[cst.BaseStatement]) -> None:
        """Statement-level `t.after(...)`/`t.set_*(...)` and `dsl.Collected` uses, everywhere."""
        self._scan(stmts)
        self.tasks.clear()  # filled again, in order, by the rewrite

    def _scan(self, stmts: Sequence[cst.BaseStatement]) -> None:
        bare: dict[str, tuple[cst.BaseStatement, str]] = {}
        for stmt in stmts:
            if self._with_kind(stmt) == "kfp.dsl.ExitHandler":
                assert isinstance(stmt, cst.With) and isinstance(stmt.items[0].item, cst.Call)
                task = arg(stmt.items[0].item, 0, "exit_task")
                if isinstance(task, cst.Name) and task.value in bare:
                    line, hook = bare[task.value]
                    self.exit_vars[task.value] = hook
                    self.dropped.add(id(line))
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
                small = stmt.body[0]
                value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
                if isinstance(small, cst.Assign) and isinstance(value, cst.Call):
                    base, chained = unchain(value)
                    if isinstance(base, cst.Call) and isinstance(base.func, cst.Name):
                        target = small.targets[0].target
                        if isinstance(target, cst.Name):
                            self.tasks.setdefault(target.value, base.func.value)
                            if self._hook(base) and not chained:
                                bare[target.value] = (stmt, base.func.value)
                if isinstance(small, cst.Expr) and isinstance(value, cst.Call):
                    base, methods = unchain(value)
                    if methods and isinstance(base, cst.Name) and base.value in self.tasks:
                        self.later.setdefault(base.value, []).extend(methods)
                        self.dropped.add(id(stmt))
            stmt.visit(_Collected(self))
            body = getattr(stmt, "body", None)
            if isinstance(body, cst.IndentedBlock):
                self._scan(body.body)

    # ------------------------------------------------------------------ rewrite

    def block(self, stmts: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []
        i = 0
        while i < len(stmts):
            stmt = stmts[i]
            i += 1
            if id(stmt) in self.dropped:
                carried += comment_lines(stmt)
                continue
            new: list[cst.BaseStatement]
            if isinstance(stmt, cst.With) and len(stmt.items) == 1:
                kind = self._with_kind(stmt)
                if kind in ("kfp.dsl.If", "kfp.dsl.Condition"):
                    chain = [stmt]
                    while i < len(stmts) and self._with_kind(stmts[i]) in (
                        "kfp.dsl.Elif",
                        "kfp.dsl.Else",
                    ):
                        chain.append(stmts[i])  # type: ignore[arg-type]
                        i += 1
                        if self._with_kind(chain[-1]) == "kfp.dsl.Else":
                            break
                    new = [self._if(chain)]
                elif kind == "kfp.dsl.ParallelFor":
                    new = [self._loop(stmt)]
                elif kind == "kfp.dsl.ExitHandler":
                    new = self._exit(stmt)
                else:
                    if kind is not None and kind.startswith("kfp."):
                        self.ctx.add(
                            "PF800",
                            "error",
                            f"`{kind.removeprefix('kfp.')}` has no portaflow equivalent",
                            self.where(stmt.items[0]),
                            "the pipeline language has `if/elif/else`, `for` loops and "
                            "comprehensions, `after=`, and `on_exit=`/`on_failure=` hooks",
                        )
                    new = [self._expr(stmt)]
            elif isinstance(stmt, cst.SimpleStatementLine):
                new = [self._line(stmt)]
            else:
                new = [self._expr(stmt)]
            if carried and new:
                first = new[0]
                new[0] = first.with_changes(leading_lines=[*carried, *_leading(first)])
                carried = []
            if new and not out and stmts and id(stmts[0]) in self.dropped:
                # The block's first statement was folded away: no blank line opens the block.
                lines = list(_leading(new[0]))
                while lines and lines[0].comment is None:
                    lines.pop(0)
                new[0] = new[0].with_changes(leading_lines=lines)
            out += new
        # Comments of statements folded away at the end go to the block's footer.
        self._footer = carried
        return out

    def indented(self, block: cst.BaseSuite, extra: Sequence[cst.EmptyLine] = ()) -> cst.BaseSuite:
        if not isinstance(block, cst.IndentedBlock):
            return block
        stmts = self.block(block.body)
        footer = [*self._footer, *block.footer]
        if not stmts:
            stmts = [cst.SimpleStatementLine(body=[cst.Pass()])]
        return block.with_changes(body=stmts, footer=[*extra, *footer])

    def _expr(self, node: cst.BaseStatement) -> cst.BaseStatement:
        new = node.visit(self.exprs)
        assert isinstance(new, cst.BaseStatement)
        return new

    def _with_kind(self, stmt: cst.CSTNode) -> str | None:
        if not isinstance(stmt, cst.With) or len(stmt.items) != 1:
            return None
        call = stmt.items[0].item
        return self.ctx.qual(call.func) if isinstance(call, cst.Call) else None

    # ------------------------------------------------------------------ tasks

    def _line(self, line: cst.SimpleStatementLine) -> cst.BaseStatement:
        if len(line.body) != 1:
            return self._expr(line)
        small = line.body[0]
        target: cst.BaseAssignTargetExpression | None = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif isinstance(small, cst.Expr):
            value = small.value
        else:
            return self._expr(line)
        base, methods = unchain(value)
        if not (
            isinstance(base, cst.Call)
            and isinstance(base.func, cst.Name)
            and base.func.value in self.ctx.components
        ):
            return self._expr(line)
        var = target.value if isinstance(target, cst.Name) else None
        call = self.task_call(base, [*methods, *self.later.get(var or "", [])])
        if var is None:
            return line.with_changes(body=[small.with_changes(value=call)])
        callee = base.func.value
        self.tasks[var] = callee
        outputs = self.ctx.components[callee].outputs
        if len(outputs) > 1:
            used = self.used_outputs.get(var, set())
            names = {o: f"{'' if o in used else '_'}{var}_{o}" for o in outputs}
            self.unpacked[var] = names
            elements = [cst.Element(cst.Name(n)) for n in names.values()]
            tuple_target = cst.Tuple(elements, lpar=[], rpar=[])
            return line.with_changes(
                body=[small.with_changes(targets=[cst.AssignTarget(tuple_target)], value=call)]
            )
        return line.with_changes(body=[small.with_changes(value=call)])

    def _after_name(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(expr, cst.Name) and expr.value in self.unpacked:
            return cst.Name(next(iter(self.unpacked[expr.value].values())))
        return expr

    def task_call(self, base: cst.Call, methods: list[cst.Call]) -> cst.BaseExpression:
        """The task's call with `after=`; its options go to the step (or are reported)."""
        new = base.visit(self.exprs)
        assert isinstance(new, cst.Call) and isinstance(base.func, cst.Name)
        after_args, options, kept = task_options(self.ctx, self.where, methods)
        after = [self._after_name(a) for a in after_args]
        self._options(base, options)
        if after:
            elements = [cst.Element(a) for a in after]
            new = _add_kwarg(new, "after", cst.List(elements))
        result: cst.BaseExpression = new
        for m in kept:
            assert isinstance(m.func, cst.Attribute)
            result = m.with_changes(func=m.func.with_changes(value=result))
        return result

    def _options(self, call: cst.Call, options: dict[str, cst.BaseExpression]) -> None:
        assert isinstance(call.func, cst.Name)
        comp = self.ctx.components[call.func.value]
        if comp.is_pipeline:
            return
        if comp.options is None:
            comp.options = options
            return
        mod = cst.Module(body=[])
        mine = {k: mod.code_for_node(v) for k, v in options.items()}
        theirs = {k: mod.code_for_node(v) for k, v in comp.options.items()}
        if mine != theirs:
            self.ctx.add(
                "PF804",
                "error",
                f"this task of `{call.func.value}` sets other options than an earlier one "
                f"({', '.join(sorted(mine)) or 'none'} vs {', '.join(sorted(theirs)) or 'none'})",
                self.where(call),
                HINT_OPTIONS,
            )

    # ------------------------------------------------------------------ control flow

    def _if(self, chain: list[cst.With]) -> cst.BaseStatement:
        orelse: cst.If | cst.Else | None = None
        for w in reversed(chain):
            kind = self._with_kind(w)
            call = w.items[0].item
            assert isinstance(call, cst.Call)
            body = self.indented(w.body)
            if kind == "kfp.dsl.Else":
                orelse = cst.Else(body=body, leading_lines=w.leading_lines)
                continue
            cond = arg(call, 0, "condition")
            test = cond.visit(self.exprs) if cond is not None else cst.Name("True")
            assert isinstance(test, cst.BaseExpression)
            orelse = cst.If(test=test, body=body, orelse=orelse, leading_lines=w.leading_lines)
        assert isinstance(orelse, cst.If)
        return orelse

    def _loop(self, w: cst.With) -> cst.BaseStatement:
        call = w.items[0].item
        assert isinstance(call, cst.Call)
        items = arg(call, 0, "items")
        asname = w.items[0].asname
        if items is None or asname is None or not isinstance(asname.name, cst.Name):
            self.ctx.add(
                "PF800",
                "error",
                "`dsl.ParallelFor` without `items` and `as NAME`",
                self.where(call),
                "write `for item in items:`",
            )
            return self._expr(w)
        if "parallelism" in kwargs(call):
            self.ctx.add(
                "PF806",
                "warning",
                "`parallelism=` is dropped: every iteration may run at once",
                self.where(kwargs(call)["parallelism"]),
                "limit parallel runs in the engine (Argo `parallelism`, `portaflow run --workers N`)",
            )
        comp = self._comprehension(w)
        if comp is not None:
            return comp
        item = asname.name.value
        iterable = items.visit(self.exprs)
        assert isinstance(iterable, cst.BaseExpression)
        self.items.add(item)
        body = self.indented(w.body)
        return cst.For(
            target=cst.Name(item), iter=iterable, body=body, leading_lines=w.leading_lines
        )

    def _comprehension(self, w: cst.With) -> cst.BaseStatement | None:
        """`with ParallelFor(xs) as x: v = step(...)` with `v` collected -> `v = [step(...) for x in xs]`."""
        fors: list[tuple[str, cst.BaseExpression]] = []
        withs: list[cst.With] = []
        node: cst.BaseStatement = w
        while self._with_kind(node) == "kfp.dsl.ParallelFor":
            assert isinstance(node, cst.With)
            call = node.items[0].item
            asname = node.items[0].asname
            assert isinstance(call, cst.Call)
            items = arg(call, 0, "items")
            if items is None or asname is None or not isinstance(asname.name, cst.Name):
                return None
            fors.append((asname.name.value, items))
            withs.append(node)
            if not isinstance(node.body, cst.IndentedBlock) or len(node.body.body) != 1:
                return None
            node = node.body.body[0]
        if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
            return None
        small = node.body[0]
        if not (isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name)):
            return None
        var = small.targets[0].target.value
        base, methods = unchain(small.value)
        if var not in self.collected or not (
            isinstance(base, cst.Call)
            and isinstance(base.func, cst.Name)
            and base.func.value in self.ctx.components
            and len(self.ctx.components[base.func.value].outputs) <= 1
        ):
            return None
        iters = []
        for name, items in fors:
            it = items.visit(self.exprs)
            assert isinstance(it, cst.BaseExpression)
            iters.append((name, it))
            self.items.add(name)
        elt = self.task_call(base, [*methods, *self.later.get(var, [])])
        comp_for: cst.CompFor | None = None
        for name, it in reversed(iters):
            comp_for = cst.CompFor(target=cst.Name(name), iter=it, inner_for_in=comp_for)
        assert comp_for is not None
        self.lists.add(var)
        self.tasks[var] = base.func.value
        assign = small.with_changes(value=cst.ListComp(elt=elt, for_in=comp_for))
        lines = comment_lines(*withs) + [ln for ln in node.leading_lines if ln.comment]
        for inner in withs:
            lines += footer_comments(inner.body)
        leading = [ln for ln in w.leading_lines if ln.comment is None] + lines
        return node.with_changes(body=[assign], leading_lines=leading)

    def _hook(self, call: cst.Call) -> bool:
        """A component call a portaflow hook can stand for: `cleanup(p=p)` for parameters `p`."""
        if not isinstance(call.func, cst.Name) or call.func.value not in self.ctx.components:
            return False
        return all(
            a.keyword is not None
            and isinstance(a.value, cst.Name)
            and a.value.value == a.keyword.value
            and a.keyword.value in self.params
            for a in call.args
        )

    def _exit(self, w: cst.With) -> list[cst.BaseStatement]:
        call = w.items[0].item
        assert isinstance(call, cst.Call)
        task = arg(call, 0, "exit_task")
        if isinstance(task, cst.Name) and task.value in self.exit_vars:
            hook: str | None = self.exit_vars[task.value]
        elif isinstance(task, cst.Call) and self._hook(task):
            assert isinstance(task.func, cst.Name)
            hook = task.func.value
        else:
            hook = None
        if hook is None:
            self.ctx.add(
                "PF800",
                "error",
                "`dsl.ExitHandler` whose exit task is not a component call taking only "
                "pipeline parameters of the same name",
                self.where(call),
                "portaflow hooks are steps: @pipeline(on_exit=cleanup) runs `cleanup()` at the end",
            )
            return [self._expr(w)]
        self.ctx.on_exit[self.name] = hook
        stmts = self.block(w.body.body) if isinstance(w.body, cst.IndentedBlock) else []
        lines = comment_lines(w) + footer_comments(w.body) + self._footer
        self._footer = []
        if stmts:
            keep = [ln for ln in w.leading_lines if ln.comment is None]
            stmts[0] = stmts[0].with_changes(leading_lines=[*keep, *lines, *_leading(stmts[0])])
        return stmts


class _Collected(cst.CSTVisitor):
    """`dsl.Collected(v.output)` and `v.outputs["x"]` uses."""

    def __init__(self, body: PipelineBody) -> None:
        self.b = body

    def visit_Subscript(self, node: cst.Subscript) -> None:
        value = node.value
        if (
            isinstance(value, cst.Attribute)
            and isinstance(value.value, cst.Name)
            and value.attr.value == "outputs"
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        ):
            key = literal_str(node.slice[0].slice.value)
            if key is not None:
                self.b.used_outputs.setdefault(value.value.value, set()).add(key)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "after":
            # `.after(v)` of a loop's task waits for every iteration: `v` is the list.
            self.b.collected.update(
                a.value.value for a in node.args if isinstance(a.value, cst.Name)
            )
            return
        if self.b.ctx.qual(node.func) != "kfp.dsl.Collected":
            return
        inner = positional(node)
        if (
            len(inner) == 1
            and isinstance(inner[0], cst.Attribute)
            and isinstance(inner[0].value, cst.Name)
        ):
            self.b.collected.add(inner[0].value.value)


def _leading(stmt: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    """The comment and blank lines above a statement (every statement node has them)."""
    lines: Sequence[cst.EmptyLine] = getattr(stmt, "leading_lines", ())
    return lines


def _add_kwarg(call: cst.Call, key: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `key=value` last; a call written one argument a line stays so."""
    new = make_call("f", [(key, value)]).args[0]
    args = list(call.args)
    last = args[-1] if args else None
    if last is not None and isinstance(last.comma, cst.Comma):
        if isinstance(last.comma.whitespace_after, cst.ParenthesizedWhitespace):
            # A trailing comma before a line break: the new argument takes that line's place.
            between = args[-2].comma if len(args) > 1 else last.comma
            args[-1] = last.with_changes(comma=between)
            new = new.with_changes(comma=last.comma)
    return call.with_changes(args=[*args, new])
