"""The `@pipeline` body language: statements and expressions compiled to IR tasks.

The body is never executed. Each statement form the language allows is
compiled here; everything else gets a diagnostic that says what is wrong and
shows the allowed form. Values are tracked per name with the loop and `if`
branch they were made in, so a per-iteration value used outside its loop, or a
branch-only value used after the `if`, is an error instead of a wrong DAG.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from portaflow.compiler import ir
from portaflow.compiler.source import Module, Project, Symbol
from portaflow.compiler.steps import (
    _NOT_LITERAL,
    StaticEval,
    StepReader,
    decorator_kind,
    short,
    signature_params,
)
from portaflow.compiler.types import compatible, element_type, literal_type

MAX_LOOP_DEPTH = 2

_STATEMENT_HINTS: dict[type, tuple[str, str]] = {
    ast.While: ("'while'", "fan out with `for item in items:` over a list, or loop inside a step"),
    ast.Try: ("'try'", "handle errors inside the step, or use @step(retries=Retry(max=3))"),
    ast.With: ("'with'", "open resources inside a step"),
    ast.AsyncWith: ("'async with'", "open resources inside a step"),
    ast.AsyncFor: ("'async for'", "use a plain `for` loop over a list"),
    ast.Raise: ("'raise'", "raise inside a step; a failing step fails the run"),
    ast.Import: ("'import' inside a pipeline", "put imports at the top of the file"),
    ast.ImportFrom: ("'import' inside a pipeline", "put imports at the top of the file"),
    ast.FunctionDef: ("a function definition", "define steps at the top level with @step"),
    ast.AsyncFunctionDef: ("a function definition", "define steps at the top level with @step"),
    ast.ClassDef: ("a class definition", "define classes at the top level of a module"),
    ast.Delete: ("'del'", "just stop using the name"),
    ast.Global: ("'global'", "pass values to steps as arguments"),
    ast.Nonlocal: ("'nonlocal'", "pass values to steps as arguments"),
    ast.Assert: ("'assert'", "check inside a step"),
    ast.AugAssign: ("augmented assignment", "compute inside a step and return the result"),
    ast.AnnAssign: ("an annotated assignment", "write `x = step(...)` without an annotation"),
    ast.Break: ("'break'", "a fan-out runs every item; filter the list in a step"),
    ast.Continue: ("'continue'", "a fan-out runs every item; filter the list in a step"),
}
if hasattr(ast, "Match"):
    _STATEMENT_HINTS[ast.Match] = ("'match'", "use if/elif/else on a step output")
if hasattr(ast, "TryStar"):
    _STATEMENT_HINTS[ast.TryStar] = ("'try'", "handle errors inside the step")

_CMP_OPS: dict[type, ir.CompareOp] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "==",
    ast.IsNot: "!=",
}


class Abort(Exception):
    """Stops compiling the current statement after a diagnostic was reported."""


@dataclass(slots=True)
class Value:
    """What a name in the pipeline body holds."""

    #: The IR binding, None for a handle of a step without outputs.
    binding: ir.Binding | None
    #: Normalised type.
    type: str
    #: How it travels.
    kind: ir.OutputKind
    #: Producing task id, for `after=`.
    task: str | None
    #: Loop ids active where the value was made, outermost first.
    loops: tuple[str, ...]
    #: The `if` branch path where the value was made.
    branch: tuple[int, ...]
    #: For an unpacked-later result of a step with several outputs.
    multi: tuple[Value, ...] | None = None
    #: Whether the name has been read (for unused-output warnings).
    used: bool = False


@dataclass(slots=True)
class Ctx:
    """Where in the body a statement is compiled."""

    module: Module
    env: dict[str, Value]
    prefix: str = ""
    scope: tuple[str, ...] = ()
    loops: tuple[str, ...] = ()
    conds: tuple[ir.Condition, ...] = ()
    branch: tuple[int, ...] = ()
    #: Values the body returned (sub-pipelines).
    returned: list[Value | None] = field(default_factory=list)
    #: Names of pipelines being inlined, to catch recursion.
    stack: tuple[str, ...] = ()

    def child(self, **changes: object) -> Ctx:
        new = replace(self, **changes)  # type: ignore[arg-type]
        if "env" not in changes:
            new.env = dict(self.env)
        return new


Report = Callable[..., None]


class BodyCompiler:
    """Compiles pipeline bodies into tasks, loops and sub-pipeline records."""

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

    # ------------------------------------------------------------------ statements

    def block(self, stmts: list[ast.stmt], ctx: Ctx, *, top: bool = False) -> None:
        for i, stmt in enumerate(stmts):
            if (
                top
                and i == 0
                and isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            ):
                continue  # docstring
            try:
                self.statement(stmt, ctx)
            except Abort:
                continue

    def statement(self, stmt: ast.stmt, ctx: Ctx) -> None:
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Call):
                self.call(stmt.value, ctx)
                return
            if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                return  # a string used as a comment
            raise self.error(
                ctx,
                "PF201",
                stmt,
                "an expression statement does nothing in a pipeline body",
                "call a step, e.g. `train(df)`, or assign its output: `model = train(df)`",
            )
        if isinstance(stmt, ast.Assign):
            self.assign(stmt, ctx)
            return
        if isinstance(stmt, ast.If):
            self.if_stmt(stmt, ctx)
            return
        if isinstance(stmt, ast.For):
            self.for_stmt(stmt, ctx)
            return
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Return):
            ctx.returned.append(self.returned_value(stmt.value, ctx))
            return
        what, hint = _STATEMENT_HINTS.get(type(stmt), (f"'{type(stmt).__name__}'", ""))
        if isinstance(stmt, ast.AugAssign):
            code = "PF202"
        else:
            code = "PF200"
        raise self.error(
            ctx,
            code,
            _head(stmt),
            f"{what} is not allowed in a @pipeline body",
            hint or "a pipeline body may only call steps, assign, use if/for and return",
        )

    def returned_value(self, node: ast.expr | None, ctx: Ctx) -> Value | None:
        """What a (sub-)pipeline returns: one value, or a tuple the caller unpacks."""
        if node is None:
            return None
        if isinstance(node, ast.Tuple) and node.elts:
            parts = tuple(self.value(e, ctx) for e in node.elts)
            for e, part in zip(node.elts, parts, strict=True):
                if part.multi is not None or part.binding is None:
                    raise self.error(
                        ctx, "PF215", e, "return single outputs, one per tuple element", ""
                    )
            return Value(
                binding=None,
                type="tuple",
                kind="parameter",
                task=parts[0].task,
                loops=ctx.loops,
                branch=ctx.branch,
                multi=parts,
            )
        return self.value(node, ctx)

    def assign(self, stmt: ast.Assign, ctx: Ctx) -> None:
        if len(stmt.targets) != 1:
            raise self.error(
                ctx,
                "PF200",
                stmt,
                "chained assignment is not allowed",
                "assign one name: `x = step()`",
            )
        target = stmt.targets[0]
        if isinstance(target, ast.Name):
            val = self.value(stmt.value, ctx, assigning=True)
            if val.multi is not None:
                raise self.error(
                    ctx,
                    "PF215",
                    stmt.value,
                    f"this step has {len(val.multi)} outputs; assigning them to one name is ambiguous",
                    f"unpack them: `{', '.join(f'x{i}' for i in range(len(val.multi)))} = ...`",
                )
            self.bind(ctx, target.id, val, target)
            return
        if isinstance(target, (ast.Tuple, ast.List)) and all(
            isinstance(e, ast.Name) for e in target.elts
        ):
            val = self.value(stmt.value, ctx, assigning=True)
            parts = val.multi if val.multi is not None else None
            if parts is None:
                raise self.error(
                    ctx,
                    "PF214",
                    stmt,
                    f"cannot unpack one value into {len(target.elts)} names",
                    "only a step returning a tuple[...] of outputs can be unpacked",
                )
            if len(parts) != len(target.elts):
                raise self.error(
                    ctx,
                    "PF214",
                    target,
                    f"the step has {len(parts)} outputs but {len(target.elts)} names are given",
                    f"unpack exactly {len(parts)} names",
                )
            for name_node, part in zip(target.elts, parts, strict=True):
                assert isinstance(name_node, ast.Name)
                self.bind(ctx, name_node.id, part, name_node)
            return
        raise self.error(
            ctx,
            "PF200",
            target,
            f"assignment to `{ast.unparse(target)}` is not allowed",
            "assign to a plain name or unpack into names: `a, b = split(df)`",
        )

    def bind(self, ctx: Ctx, name: str, val: Value, node: ast.AST) -> None:
        val = replace(val, used=False)
        ctx.env[name] = val
        if val.task is not None and val.binding is not None and not name.startswith("_"):
            # Checked after the whole body: read_name marks the same object used.
            self.bound.append((ctx.module, node, name, val))

    def if_stmt(self, stmt: ast.If, ctx: Ctx) -> None:
        cond = self.condition(stmt.test, ctx)
        branches: list[tuple[list[ast.stmt], tuple[ir.Condition, ...]]] = []
        branches.append((stmt.body, (*ctx.conds, cond)))
        negated: list[ir.Condition] = [ir.Not(operand=cond)]
        orelse = stmt.orelse
        while len(orelse) == 1 and isinstance(orelse[0], ast.If):
            elif_ = orelse[0]
            c = self.condition(elif_.test, ctx)
            branches.append((elif_.body, (*ctx.conds, *negated, c)))
            negated.append(ir.Not(operand=c))
            orelse = elif_.orelse
        if orelse:
            branches.append((orelse, (*ctx.conds, *negated)))
        for body, conds in branches:
            sub = ctx.child(conds=conds, branch=self.new_branch(ctx), env=ctx.env)
            sub.env = _ChildEnv(ctx.env)
            self.block(body, sub)
            for name, val in sub.env.own.items():
                ctx.env[name] = val  # visible later, flagged by its branch when read

    def for_stmt(self, stmt: ast.For, ctx: Ctx) -> None:
        if stmt.orelse:
            raise self.error(
                ctx, "PF200", stmt.orelse[0], "'for ... else' is not allowed", "drop the else block"
            )
        if not isinstance(stmt.target, ast.Name):
            raise self.error(
                ctx,
                "PF232",
                stmt.target,
                "loop over one name only",
                'iterate over a list of dicts and index the item: `for row in rows: f(row["a"])`',
            )
        loop_ctx = self.open_loop(stmt, stmt.target.id, stmt.iter, ctx)
        self.block(stmt.body, loop_ctx)
        for name, val in loop_ctx.env.own.items() if isinstance(loop_ctx.env, _ChildEnv) else ():
            ctx.env[name] = val  # reads outside the loop are reported (PF233)

    def open_loop(self, node: ast.AST, var: str, iter_node: ast.expr, ctx: Ctx) -> Ctx:
        if len(ctx.loops) >= MAX_LOOP_DEPTH:
            raise self.error(
                ctx,
                "PF231",
                node,
                f"loops may nest at most {MAX_LOOP_DEPTH} levels",
                "move the inner fan-out into a sub-pipeline over a flattened list, or into a step",
            )
        items, item_type = self.loop_items(iter_node, ctx)
        base = f"{ctx.prefix}loop_"
        n = self._loop_counter.get(base, 0) + 1
        self._loop_counter[base] = n
        loop_id = f"{base}{n}"
        self.loops.append(
            ir.Loop(
                id=loop_id,
                var=var,
                items=items,
                parent=ctx.loops[-1] if ctx.loops else None,
                scope=ctx.scope,
                span=ctx.module.span(node),
            )
        )
        loops = (*ctx.loops, loop_id)
        sub = ctx.child(loops=loops)
        sub.env = _ChildEnv(ctx.env)
        sub.env.own_set(
            var,
            Value(
                binding=ir.LoopItem(loop=loop_id),
                type=item_type,
                kind="parameter",
                task=None,
                loops=loops,
                branch=ctx.branch,
                used=True,
            ),
        )
        return sub

    def loop_items(self, node: ast.expr, ctx: Ctx) -> tuple[ir.Binding, str]:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "range"
            and node.func.id not in ctx.env
            and self.project.resolve(ctx.module, "range") is None
        ):
            ev = StaticEval(self.project, ctx.module, self.report_for(ctx.module))
            args = [ev.literal(a) for a in node.args]
            if (
                node.keywords
                or not 1 <= len(args) <= 3
                or not all(isinstance(a, int) and not isinstance(a, bool) for a in args)
            ):
                raise self.error(
                    ctx,
                    "PF230",
                    node,
                    "range() in a pipeline takes literal ints only",
                    "write `range(3)` or pass a list parameter",
                )
            return ir.Literal(value=list(range(*args))), "int"
        lit = StaticEval(self.project, ctx.module, self.report_for(ctx.module)).literal(node)
        if lit is not _NOT_LITERAL:
            if not isinstance(lit, list):
                raise self.error(
                    ctx,
                    "PF230",
                    node,
                    f"cannot loop over {ast.unparse(node)}",
                    "loop over a list literal",
                )
            return ir.Literal(value=lit), element_type(literal_type(lit))
        val = self.value(node, ctx)
        if val.multi is not None or val.binding is None:
            raise self.error(ctx, "PF230", node, "cannot loop over this value", "loop over a list")
        if val.kind == "artifact":
            raise self.error(
                ctx,
                "PF230",
                node,
                f"cannot fan out over an artifact of type {val.type}",
                "return a JSON list (e.g. list[str] of keys or paths) from the step and loop over that",
            )
        if not (val.type.startswith("list[") or val.type == "any"):
            raise self.error(
                ctx,
                "PF230",
                node,
                f"cannot loop over `{ast.unparse(node)}` of type {val.type}: it is not a list",
                "loop over a list literal, a list parameter or a list-typed step output",
            )
        return val.binding, element_type(val.type)

    # ------------------------------------------------------------------ expressions

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
        if not _is_prefix(val.loops, ctx.loops):
            raise self.error(
                ctx,
                "PF233",
                node,
                f"{node.id!r} holds one value per loop iteration and is used outside its loop",
                f"collect the results with a list comprehension: `{node.id}s = [step(x) for x in items]`",
            )
        if not _is_prefix(val.branch, ctx.branch):
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

    def value(self, node: ast.expr, ctx: Ctx, *, assigning: bool = False) -> Value:
        """Compile an expression used as a value."""
        lit = StaticEval(self.project, ctx.module, self.report_for(ctx.module)).literal(node)
        if lit is not _NOT_LITERAL:
            return self.literal_value(lit, ctx)
        if isinstance(node, ast.Name):
            return self.read_name(node, ctx)
        if isinstance(node, ast.Call):
            return self.call(node, ctx)
        if isinstance(node, ast.ListComp):
            return self.comprehension(node, ctx)
        if isinstance(node, ast.Subscript):
            base = self.value(node.value, ctx)
            key = StaticEval(self.project, ctx.module, self.report_for(ctx.module)).literal(
                node.slice
            )
            if isinstance(base.binding, ir.LoopItem) and isinstance(key, str):
                return replace(
                    base,
                    binding=ir.LoopItem(loop=base.binding.loop, path=(*base.binding.path, key)),
                    type="any",
                )
            raise self.error(
                ctx,
                "PF207",
                node,
                f"indexing `{ast.unparse(node.value)}` is not allowed in a pipeline body",
                'only a loop item may be indexed by a string key (`row["lr"]`); '
                "for step outputs, return several named outputs or index inside a step",
            )
        if isinstance(node, ast.Attribute):
            raise self.error(
                ctx,
                "PF203",
                node,
                f"attribute access `{ast.unparse(node)}` is not allowed on a pipeline value",
                "values are only known at run time: read the attribute inside a step, "
                "or return it as a named output",
            )
        if isinstance(node, ast.JoinedStr):
            raise self.error(
                ctx,
                "PF205",
                node,
                "f-strings of pipeline values are not allowed",
                "format the string inside a step and return it",
            )
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare)):
            raise self.error(
                ctx,
                "PF202",
                node,
                f"`{short(node)}` computes on pipeline values, which only exist at run time",
                "do the arithmetic inside a step and return the result; "
                "comparisons are allowed in `if` conditions",
            )
        if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
            raise self.error(
                ctx,
                "PF201",
                node,
                "a list or dict holding step outputs cannot be built in a pipeline body",
                "fan in with a comprehension: `xs = [step(i) for i in items]`, "
                "or pass each output as its own argument",
            )
        raise self.error(
            ctx,
            "PF201",
            node,
            f"`{short(node)}` is not allowed in a pipeline body",
            "use step calls, names, literals, if/for and list comprehensions over steps",
        )

    def comprehension(self, node: ast.ListComp, ctx: Ctx) -> Value:
        gens = node.generators
        if any(g.ifs for g in gens) or any(g.is_async for g in gens):
            bad = next(g for g in gens if g.ifs or g.is_async)
            raise self.error(
                ctx,
                "PF232",
                bad.ifs[0] if bad.ifs else node,
                "filters in a fan-out comprehension are not supported",
                "fan out over every item and filter inside the step, "
                "or use `for x in xs:` with an `if` in the body",
            )
        inner = ctx
        first_loop: str | None = None
        for gen in gens:
            if not isinstance(gen.target, ast.Name):
                raise self.error(
                    ctx,
                    "PF232",
                    gen.target,
                    "a fan-out comprehension loops over one name",
                    "write `[step(x) for x in items]`",
                )
            inner = self.open_loop(node, gen.target.id, gen.iter, inner)
            if first_loop is None:
                first_loop = inner.loops[-1]
        if not isinstance(node.elt, ast.Call):
            raise self.error(
                ctx,
                "PF232",
                node.elt,
                "a fan-out comprehension must call a step for each item",
                "write `[step(x) for x in items]`",
            )
        val = self.call(node.elt, inner)
        assert first_loop is not None
        if val.multi is not None:
            raise self.error(
                ctx,
                "PF215",
                node.elt,
                "a step with several outputs cannot be collected by a comprehension",
                "return one output from the fanned-out step",
            )
        if not isinstance(val.binding, ir.TaskOutput):
            raise self.error(
                ctx,
                "PF216",
                node.elt,
                "the fanned-out step has no output to collect",
                "call it in a `for` loop instead, and order later steps with `after=[...]`",
            )
        return Value(
            binding=ir.Gathered(task=val.binding.task, output=val.binding.output, loop=first_loop),
            type=f"list[{val.type}]",
            kind=val.kind,
            task=val.task,
            loops=ctx.loops,
            branch=ctx.branch,
        )

    # ------------------------------------------------------------------ conditions

    def condition(self, node: ast.expr, ctx: Ctx) -> ir.Condition:
        if isinstance(node, ast.BoolOp):
            parts = tuple(self.condition(v, ctx) for v in node.values)
            return (
                ir.All(operands=parts) if isinstance(node.op, ast.And) else ir.Any(operands=parts)
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ir.Not(operand=self.condition(node.operand, ctx))
        if isinstance(node, ast.Compare):
            left = self.operand(node.left, ctx)
            pairs: list[ir.Condition] = []
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.operand(right_node, ctx)
                if isinstance(op, (ast.Is, ast.IsNot)) and not (
                    isinstance(right, ir.Literal) and right.value is None
                ):
                    raise self.error(
                        ctx,
                        "PF201",
                        node,
                        "`is` compares identity, which has no meaning between tasks",
                        "use `==` / `!=`; `is None` / `is not None` are allowed",
                    )
                pairs.append(ir.Compare(left=left, op=_CMP_OPS[type(op)], right=right))
                left = right
            return pairs[0] if len(pairs) == 1 else ir.All(operands=tuple(pairs))
        return ir.Truthy(value=self.operand(node, ctx))

    def operand(self, node: ast.expr, ctx: Ctx) -> ir.Binding:
        val = self.value(node, ctx)
        if val.multi is not None:
            raise self.error(
                ctx,
                "PF215",
                node,
                "a step with several outputs cannot be tested",
                "unpack it first",
            )
        if val.binding is None:
            raise self.error(ctx, "PF216", node, "this step has no output to test", "")
        if val.kind == "artifact":
            raise self.error(
                ctx,
                "PF222",
                node,
                f"a condition cannot test an artifact (`{short(node)}` is {val.type})",
                "return a bool, number or string from a step and test that",
            )
        return val.binding

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
            raise self.error(
                ctx,
                "PF204",
                node.func,
                f"`{name}` comes from {top!r}, outside the project; only @step and @pipeline "
                "functions can be called in a pipeline body",
                "wrap the call in a @step function and call that",
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
            if not _is_prefix(val.loops, ctx.loops):
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
        self.step_defs[step.ref] = step
        what = f"step {step.name!r}"
        names = [i.name for i in step.inputs]
        required = {i.name for i in step.inputs if not i.has_default}
        bound, after_exprs = self.bind_args(node, names, required, what, ctx)
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
        if failed:
            raise Abort()
        task_id = self.unique_id(ctx.prefix + fn.name)
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
        bound, after_exprs = self.bind_args(node, names, required, f"pipeline {fn.name!r}", ctx)
        if after_exprs:
            raise self.error(
                ctx,
                "PF201",
                node,
                "`after=` is not supported on a sub-pipeline call",
                "pass `after=` to the first steps inside the sub-pipeline",
            )
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
            stack=(*ctx.stack, qual),
        )
        self.block(fn.body, sub, top=True)
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


class _ChildEnv(dict[str, Value]):
    """A scope that sees its parent's names and records what it assigns itself."""

    def __init__(self, parent: dict[str, Value]) -> None:
        super().__init__(parent)
        self.own: dict[str, Value] = {}

    def own_set(self, key: str, value: Value) -> None:
        super().__setitem__(key, value)

    def __setitem__(self, key: str, value: Value) -> None:
        super().__setitem__(key, value)
        self.own[key] = value


def _is_prefix(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return len(a) <= len(b) and b[: len(a)] == a


def _head(stmt: ast.stmt) -> ast.AST:
    """The part of a statement to underline: its first line."""
    return stmt
