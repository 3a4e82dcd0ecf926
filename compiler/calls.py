"""Step calls in a `@pipeline` body: arguments bound to inputs, tasks created, sub-pipelines inlined.

`CallCompiler` holds the state the body compiler builds (tasks, loops,
sub-pipeline records) and the parts every statement uses: errors, unique ids,
reading names. `BodyCompiler` (body.py) adds statements and expressions.
"""

from __future__ import annotations

import ast
import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace

from portaflow.compiler import ir, runmode
from portaflow.compiler.bodyctx import Abort, Ctx, Report, Value, is_prefix
from portaflow.compiler.containerstep import container_decl, read_container_step
from portaflow.compiler.grouphooks import group_hooks
from portaflow.compiler.importcall import KINDS as IMPORT_KINDS
from portaflow.compiler.importcall import import_call
from portaflow.compiler.source import Module, Project, Symbol
from portaflow.compiler.steps import (
    _NOT_LITERAL,
    StaticEval,
    StepReader,
    decorator_kind,
    signature_params,
)
from portaflow.compiler.types import compatible, literal_type


class CallCompiler(ABC):
    """Compiles step and sub-pipeline calls into tasks, loops and sub-pipeline records."""

    def __init__(
        self, project: Project, steps: StepReader, report_for: Callable[[Module], Report]
    ) -> None:
        self.project = project
        self.steps = steps
        self.report_for = report_for
        self.tasks: list[ir.Task] = []
        self.loops: list[ir.Loop] = []
        self.subpipelines: list[ir.SubPipeline] = []
        self.step_defs: dict[str, ir.StepDef] = {}
        self.used_step_nodes: set[int] = set()
        self._ids: set[str] = set()
        self._branch_counter = 0
        self._loop_counter: dict[str, int] = {}
        self.bound: list[tuple[Module, ast.AST, str, Value]] = []
        self._containers: dict[str, ir.StepDef | None] = {}

    # ------------------------------------------------------------------ helpers

    def error(self, ctx: Ctx, code: str, node: ast.AST, message: str, hint: str = "") -> Abort:
        self.report_for(ctx.module)(code, node, message, hint)
        return Abort()

    def unique_id(self, base: str) -> str:
        candidate = base
        n = 1
        while candidate in self._ids:
            n += 1
            candidate = f"{base}_{n}"
        self._ids.add(candidate)
        return candidate

    def new_branch(self, ctx: Ctx) -> tuple[int, ...]:
        self._branch_counter += 1
        return (*ctx.branch, self._branch_counter)

    # ------------------------------------------------------------------ provided by BodyCompiler

    @abstractmethod
    def value(self, node: ast.expr, ctx: Ctx, *, assigning: bool = False) -> Value:
        """Compile an expression used as a value."""

    @abstractmethod
    def block(self, stmts: list[ast.stmt], ctx: Ctx, *, top: bool = False) -> None:
        """Compile a list of statements."""

    # ------------------------------------------------------------------ names

    def read_name(self, node: ast.Name, ctx: Ctx) -> Value:
        val = ctx.env.get(node.id)
        if val is None:
            sym = self.project.resolve(ctx.module, node.id)
            if sym is not None and sym.kind == "assign":
                lit = self._module_constant(sym)
                if lit is not _NOT_LITERAL:
                    return self.literal_value(lit, ctx)
            if sym is not None and sym.kind == "def":
                raise self.error(
                    ctx,
                    "PF201",
                    node,
                    f"`{node.id}` is used without calling it",
                    f"call the step: `{node.id}(...)`",
                )
            close = difflib.get_close_matches(node.id, list(ctx.env), n=1)
            raise self.error(
                ctx,
                "PF206",
                node,
                f"name {node.id!r} is used before it is assigned",
                (f"did you mean {close[0]!r}? " if close else "")
                + "assign it from a step or declare it as a pipeline parameter",
            )
        val.used = True
        if not is_prefix(val.loops, ctx.loops):
            raise self.error(
                ctx,
                "PF233",
                node,
                f"{node.id!r} holds one value per loop iteration and is used outside its loop",
                f"collect the results with a list comprehension: `{node.id}s = [step(x) for x in items]`",
            )
        if not is_prefix(val.branch, ctx.branch):
            raise self.error(
                ctx,
                "PF234",
                node,
                f"{node.id!r} is only assigned when an `if` branch runs, but is used outside it",
                "use it inside the same branch, or order with `after=[...]` only",
            )
        return val

    def _module_constant(self, sym: Symbol) -> object:
        stmt = sym.node
        value = getattr(stmt, "value", None)
        if sym.module is None or not isinstance(value, ast.expr):
            return _NOT_LITERAL
        return StaticEval(self.project, sym.module, lambda *a: None).literal(value)

    def literal_value(self, lit: object, ctx: Ctx) -> Value:
        return Value(
            binding=ir.Literal(value=lit),  # type: ignore[arg-type]
            type=literal_type(lit),
            kind="parameter",
            task=None,
            loops=(),
            branch=(),
        )

    # ------------------------------------------------------------------ calls

    def call(self, node: ast.Call, ctx: Ctx) -> Value:
        sym = self.project.resolve_expr(ctx.module, node.func)
        if isinstance(node.func, ast.Name) and node.func.id in ctx.env:
            raise self.error(
                ctx,
                "PF204",
                node.func,
                f"{node.func.id!r} is a pipeline value, not a step; it cannot be called",
                "only @step and @pipeline functions can be called in a pipeline body",
            )
        if sym is not None and sym.kind == "dsl" and sym.qualname in IMPORT_KINDS:
            return import_call(self, node, sym.qualname, ctx)
        if sym is not None and sym.kind == "external":  # a step of an installed package?
            opened = self.project.open_installed(sym.qualname)
            if (
                opened is not None
                and opened.module is not None
                and isinstance(opened.node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and decorator_kind(self.project, opened.module, opened.node)
            ):
                sym = opened
        if sym is not None and sym.kind == "assign" and sym.module is not None:
            made = container_decl(self.project, sym.module, sym.node)  # type: ignore[arg-type]
            if made is not None:
                return self.container_call(node, sym, made, ctx)
        fn = sym.node if sym is not None and sym.kind == "def" else None
        kind = None
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert sym is not None and sym.module is not None
            found = decorator_kind(self.project, sym.module, fn)
            kind = found[0] if found else None
        if kind is None:
            self._bad_call(node, sym, ctx)
        assert sym is not None and sym.module is not None
        assert isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        if kind == "pipeline":
            return self.inline(node, sym.module, fn, ctx)
        return self.step_call(node, sym.module, fn, ctx)

    def _bad_call(self, node: ast.Call, sym: Symbol | None, ctx: Ctx) -> None:
        name = ast.unparse(node.func)
        if sym is not None and sym.kind == "missing" and self.project.was_refused(sym.qualname):
            raise Abort()  # the file's own error (syntax, encoding...) says what is wrong
        if sym is not None and sym.kind in ("missing", "external"):
            top = sym.qualname.split(".")[0]
            if sym.kind == "missing" or (top and self.project.exists_package(top)):
                raise self.error(
                    ctx,
                    "PF120",
                    node.func,
                    f"cannot resolve `{name}`: {sym.qualname!r} is not a module or "
                    "definition in this project",
                    "check the import; steps are found by parsing project files under the root "
                    "(nearest pyproject.toml, or --root)",
                )
            opened = top in self.project.installed
            raise self.error(
                ctx,
                "PF204",
                node.func,
                f"`{name}` comes from {top!r}, outside the project; only @step and @pipeline "
                "functions can be called in a pipeline body",
                "wrap the call in a @step function and call that"
                + (
                    ""
                    if opened
                    else f"; a @step of an installed package is found when {top!r} is installed "
                    "where portaflow runs (on its sys.path)"
                ),
            )
        if sym is None and isinstance(node.func, ast.Name):
            import builtins

            if hasattr(builtins, node.func.id):
                raise self.error(
                    ctx,
                    "PF204",
                    node.func,
                    f"`{name}()` is not a step; a pipeline body only wires steps together",
                    "call it inside a @step function",
                )
            close = difflib.get_close_matches(node.func.id, list(ctx.module.defs), n=1)
            raise self.error(
                ctx,
                "PF206",
                node.func,
                f"name {node.func.id!r} is not defined",
                (f"did you mean {close[0]!r}? " if close else "") + "define or import the step",
            )
        raise self.error(
            ctx,
            "PF204",
            node.func,
            f"`{name}` is not a @step or @pipeline function",
            "decorate it with @step, or call it inside a step",
        )

    def bind_args(
        self,
        node: ast.Call,
        names: list[str],
        required: set[str],
        what: str,
        ctx: Ctx,
    ) -> tuple[dict[str, ast.expr], list[ast.expr]]:
        """Map a call's arguments to parameter names; returns (bound, after exprs)."""
        bound: dict[str, ast.expr] = {}
        after: list[ast.expr] = []
        errors = False
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                self.error(
                    ctx, "PF201", arg, "`*args` is not allowed in a step call", "pass each input"
                )
                errors = True
                continue
            if i >= len(names):
                self.error(
                    ctx,
                    "PF212",
                    arg,
                    f"{what} takes {len(names)} positional argument(s) but {len(node.args)} were given",
                    f"its inputs are: {', '.join(names) or '(none)'}",
                )
                errors = True
                break
            bound[names[i]] = arg
        for kw in node.keywords:
            if kw.arg is None:
                self.error(
                    ctx, "PF201", kw, "`**kwargs` is not allowed in a step call", "name each input"
                )
                errors = True
                continue
            if kw.arg == "after" and "after" not in names:
                after.extend(
                    kw.value.elts if isinstance(kw.value, (ast.List, ast.Tuple)) else [kw.value]
                )
                continue
            if kw.arg not in names:
                close = difflib.get_close_matches(kw.arg, names, n=1)
                self.error(
                    ctx,
                    "PF210",
                    kw,
                    f"{what} has no input named {kw.arg!r}",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + f"its inputs are: {', '.join(names) or '(none)'}",
                )
                errors = True
                continue
            if kw.arg in bound:
                self.error(
                    ctx, "PF213", kw, f"input {kw.arg!r} is given more than once", "pass it once"
                )
                errors = True
                continue
            bound[kw.arg] = kw.value
        missing = [n for n in names if n in required and n not in bound]
        if missing and not errors:
            self.error(
                ctx,
                "PF211",
                node,
                f"{what} is missing required input(s): {', '.join(missing)}",
                f"pass them, e.g. `{ast.unparse(node.func)}(..., {missing[0]}=...)`",
            )
            errors = True
        if errors:
            raise Abort()
        return bound, after

    def after_tasks(self, exprs: list[ast.expr], ctx: Ctx) -> tuple[str, ...]:
        out: list[str] = []
        for e in exprs:
            if not isinstance(e, ast.Name):
                raise self.error(
                    ctx,
                    "PF201",
                    e,
                    "`after=` takes names of step results",
                    "write `after=[a, b]` with names assigned from steps",
                )
            val = ctx.env.get(e.id)
            if val is None:
                self.read_name(e, ctx)  # reports PF206
                raise Abort()
            val.used = True
            if not is_prefix(val.loops, ctx.loops):
                self.read_name(e, ctx)  # reports PF233
            if val.task is None:
                raise self.error(
                    ctx,
                    "PF201",
                    e,
                    f"{e.id!r} is not the result of a step, so there is nothing to wait for",
                    "`after=` takes names assigned from step calls",
                )
            tasks = [val.task] + [m.task for m in val.multi or () if m.task]
            for t in tasks:
                if t not in out:
                    out.append(t)
        return tuple(out)

    def step_call(
        self, node: ast.Call, module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Ctx
    ) -> Value:
        step = self.steps.read(module, fn)
        if step is None:
            raise Abort()
        self.used_step_nodes.add(id(fn))
        return self.step_task(node, step, fn.name, ctx)

    def container_call(self, node: ast.Call, sym: Symbol, made: ast.Call, ctx: Ctx) -> Value:
        """A call of a module-level `container_step(...)`: a task like a step's."""
        assert sym.module is not None
        var = sym.qualname.rsplit(".", 1)[-1]
        key = f"{sym.module.name}:{var}"
        if key not in self._containers:
            self._containers[key] = read_container_step(
                self.project, sym.module, var, made, self.report_for(sym.module)
            )
        step = self._containers[key]
        if step is None:
            raise Abort()
        return self.step_task(node, step, var, ctx)

    def step_task(self, node: ast.Call, step: ir.StepDef, base: str, ctx: Ctx) -> Value:
        """Bind a call's arguments to `step`'s inputs and add its task."""
        self.step_defs[step.ref] = step
        what = f"step {step.name!r}"
        names = [i.name for i in step.inputs]
        status = [i.name for i in step.inputs if i.type.type == ir.RUN_STATUS]
        required = {i.name for i in step.inputs if not i.has_default and i.name not in status}
        run, node = runmode.run_mode(self, node, names, ctx)
        bound, after_exprs = self.bind_args(node, names, required, what, ctx)
        runmode.check_run_status(self, node, step, status, bound, run, ctx)
        inputs: list[ir.InputBinding] = []
        failed = False
        for inp in step.inputs:
            expr = bound.get(inp.name)
            if expr is None:
                continue
            try:
                val = self.value(expr, ctx)
                inputs.append(self.check_input(inp, val, expr, what, ctx))
            except Abort:
                failed = True
        after = self.after_tasks(after_exprs, ctx)
        after = (*ctx.after, *(a for a in after if a not in ctx.after))
        if failed:
            raise Abort()
        if run != "succeeded":
            runmode.check_run_mode(self, node, run, inputs, after_exprs, ctx)
        task_id = self.unique_id(ctx.prefix + base)
        cond: ir.Condition | None = None
        if len(ctx.conds) == 1:
            cond = ctx.conds[0]
        elif ctx.conds:
            cond = ir.All(operands=ctx.conds)
        self.tasks.append(
            ir.Task(
                id=task_id,
                step=step.ref,
                inputs=tuple(inputs),
                after=after,
                condition=cond,
                loop=ctx.loops[-1] if ctx.loops else None,
                scope=ctx.scope,
                run=run,
                span=ctx.module.span(node),
            )
        )
        outs = [
            Value(
                binding=ir.TaskOutput(task=task_id, output=o.name),
                type=o.type.type,
                kind=o.type.kind,
                task=task_id,
                loops=ctx.loops,
                branch=ctx.branch,
            )
            for o in step.outputs
        ]
        if len(outs) == 1:
            return outs[0]
        if not outs:
            return Value(
                binding=None,
                type="null",
                kind="parameter",
                task=task_id,
                loops=ctx.loops,
                branch=ctx.branch,
            )
        return Value(
            binding=None,
            type="tuple",
            kind="parameter",
            task=task_id,
            loops=ctx.loops,
            branch=ctx.branch,
            multi=tuple(outs),
        )

    def check_input(
        self, inp: ir.StepInput, val: Value, expr: ast.expr, what: str, ctx: Ctx
    ) -> ir.InputBinding:
        if val.multi is not None:
            raise self.error(
                ctx,
                "PF215",
                expr,
                f"input {inp.name!r} gets a step result with {len(val.multi)} outputs",
                "unpack it first: `a, b = step(...)`, then pass one of the names",
            )
        if val.binding is None:
            raise self.error(
                ctx,
                "PF216",
                expr,
                f"input {inp.name!r} gets the result of a step that has no outputs",
                "order with `after=[...]` instead of passing it",
            )
        declared = inp.type
        if declared.type != "any":
            if declared.kind == "parameter" and val.kind == "artifact":
                raise self.error(
                    ctx,
                    "PF220",
                    expr,
                    f"input {inp.name!r} of {what} is declared {declared.annotation or declared.type} "
                    f"(a parameter) but gets an artifact of type {val.type}",
                    "pass a parameter-typed output, or declare the input with the artifact's type",
                )
            if declared.kind == "artifact" and isinstance(val.binding, (ir.Literal, ir.ParamRef)):
                raise self.error(
                    ctx,
                    "PF221",
                    expr,
                    f"input {inp.name!r} of {what} is declared {declared.annotation} (an artifact) "
                    f"but gets a {'literal' if isinstance(val.binding, ir.Literal) else 'parameter'}",
                    "artifacts come from step outputs; load the value inside a step from a path parameter",
                )
            if not compatible(val.type, declared.type):
                raise self.error(
                    ctx,
                    "PF221",
                    expr,
                    f"input {inp.name!r} of {what} is declared {declared.annotation or declared.type} "
                    f"but gets a value of type {val.type}",
                    "pass a value of the declared type, or change the annotation",
                )
        kind: ir.OutputKind = declared.kind if declared.type != "any" else val.kind
        if isinstance(val.binding, (ir.Literal, ir.ParamRef, ir.LoopItem)):
            kind = "parameter"
        return ir.InputBinding(
            name=inp.name, binding=val.binding, kind=kind, span=ctx.module.span(expr)
        )

    # ------------------------------------------------------------------ sub-pipelines

    def inline(
        self, node: ast.Call, module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Ctx
    ) -> Value:
        qual = f"{module.name}:{fn.name}"
        if qual in ctx.stack:
            raise self.error(
                ctx,
                "PF240",
                node,
                f"pipeline {fn.name!r} calls itself (through {' -> '.join(ctx.stack)})",
                "pipelines are inlined at compile time, so recursion cannot end; use a loop",
            )
        params = signature_params(fn)
        names = [p.arg for p, _ in params]
        required = {p.arg for p, d in params if d is None}
        for kw in node.keywords:
            if kw.arg == "run" and "run" not in names:
                raise self.error(
                    ctx,
                    "PF255",
                    kw,
                    "`run=` is not supported on a sub-pipeline call",
                    "give `run=` to a step called after= the sub-pipeline's result",
                )
        bound, after_exprs = self.bind_args(node, names, required, f"pipeline {fn.name!r}", ctx)
        # `after=` on a call orders the whole group: every step inside waits for those tasks.
        after = self.after_tasks(after_exprs, ctx)
        after = (*ctx.after, *(a for a in after if a not in ctx.after))
        env: dict[str, Value] = {}
        ev = StaticEval(self.project, module, self.report_for(module))
        for p, default in params:
            if p.arg in bound:
                val = self.value(bound[p.arg], ctx)
            else:
                assert default is not None
                lit = ev.literal(default)
                if lit is _NOT_LITERAL:
                    raise self.error(
                        ctx, "PF300", default, "parameter defaults must be literals", ""
                    )
                val = self.literal_value(lit, ctx)
            env[p.arg] = replace(val, used=True)
        call_id = self.unique_id(ctx.prefix + fn.name)
        self.subpipelines.append(
            ir.SubPipeline(
                id=call_id, pipeline=fn.name, scope=ctx.scope, span=ctx.module.span(node)
            )
        )
        sub = Ctx(
            module=module,
            env=env,
            prefix=call_id + ".",
            scope=(*ctx.scope, call_id),
            loops=ctx.loops,
            conds=ctx.conds,
            branch=ctx.branch,
            after=after,
            stack=(*ctx.stack, qual),
        )
        first = len(self.tasks)
        self.block(fn.body, sub, top=True)
        group = tuple(t.id for t in self.tasks[first:])
        group_hooks(self, module, fn, group, sub, ctx)
        if not sub.returned or sub.returned[-1] is None:
            return Value(
                binding=None,
                type="null",
                kind="parameter",
                task=None,
                loops=ctx.loops,
                branch=ctx.branch,
            )
        return sub.returned[-1]
