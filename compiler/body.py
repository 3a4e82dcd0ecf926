"""The `@pipeline` body language: statements and expressions compiled to IR tasks.

The body is never executed. Each statement form the language allows is
compiled here; everything else gets a diagnostic that says what is wrong and
shows the allowed form. Values are tracked per name with the loop and `if`
branch they were made in, so a per-iteration value used outside its loop, or a
branch-only value used after the `if`, is an error instead of a wrong DAG.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from portaflow.compiler import ir
from portaflow.compiler.bodyctx import (
    CMP_OPS,
    MAX_CONDITION_DEPTH,
    MAX_LOOP_DEPTH,
    MAX_STATIC_ITEMS,
    STATEMENT_HINTS,
    Abort,
    ChildEnv,
    Ctx,
    Value,
    statement_head,
)
from portaflow.compiler.calls import CallCompiler
from portaflow.compiler.source import dsl_name
from portaflow.compiler.steps import _NOT_LITERAL, StaticEval, short
from portaflow.compiler.types import element_type, literal_type

__all__ = ["Abort", "BodyCompiler", "Ctx", "Value"]


class BodyCompiler(CallCompiler):
    """Compiles pipeline bodies into tasks, loops and sub-pipeline records."""

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
        what, hint = STATEMENT_HINTS.get(type(stmt), (f"'{type(stmt).__name__}'", ""))
        if isinstance(stmt, ast.AugAssign):
            code = "PF202"
        else:
            code = "PF200"
        raise self.error(
            ctx,
            code,
            statement_head(stmt),
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
        arms: list[dict[str, Value]] = []
        for body, conds in branches:
            sub = ctx.child(conds=conds, branch=self.new_branch(ctx), env=ctx.env)
            sub.env = ChildEnv(ctx.env)
            self.block(body, sub)
            arms.append(sub.env.own)
            for name, val in sub.env.own.items():
                ctx.env[name] = val  # visible later, flagged by its branch when read
        if orelse:  # complete: a name every arm assigns has the value of the arm that ran
            for name in [n for n in arms[0] if all(n in arm for arm in arms[1:])]:
                merged = self.merge_arms(name, [arm[name] for arm in arms], stmt, ctx)
                if merged is not None:
                    self.bind(ctx, name, merged, stmt)

    def merge_arms(self, name: str, vals: list[Value], stmt: ast.If, ctx: Ctx) -> Value | None:
        """One value for `name` assigned in every arm (`ir.OneOf`), or None when the arms' values
        cannot merge (then reading it after the `if` stays PF234)."""
        options: list[ir.TaskOutput] = []
        for val in vals:
            if val.multi is not None or not isinstance(val.binding, (ir.TaskOutput, ir.OneOf)):
                return None  # a literal, a parameter, a fan-in: not a branch's own value
            if val.loops != ctx.loops:
                return None  # made inside a loop in the arm: PF233 when read
            if isinstance(val.binding, ir.OneOf):
                options.extend(val.binding.options)
            else:
                options.append(val.binding)
        if any(len(v.branch) <= len(ctx.branch) for v in vals):
            self.report_for(ctx.module)(
                "PF253",
                stmt,
                f"{name!r} is assigned in every arm of this `if`, but an arm assigns it a value "
                "made before the `if`, so both could be set when that arm is not taken",
                "call a step in every arm and assign its output (an identity step passes a "
                "value through: `best = keep(model)`)",
            )
            return None
        kinds = {v.kind for v in vals}
        types = {v.type for v in vals}
        if len(kinds) > 1 or len(types) > 1:
            detail = ", ".join(sorted(types)) if len(types) > 1 else ", ".join(sorted(kinds))
            self.report_for(ctx.module)(
                "PF253",
                stmt,
                f"{name!r} is assigned in every arm of this `if`, but with different types "
                f"({detail}), so its value after the `if` has no one type",
                "make every arm assign a value of the same type, or use a different name per arm",
            )
            return None
        for v in vals:
            v.used = True  # read through the merged value (or not: that one is reported)
        return Value(
            binding=ir.OneOf(options=tuple(options)),
            type=vals[0].type,
            kind=vals[0].kind,
            task=None,
            loops=ctx.loops,
            branch=ctx.branch,
        )

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
        for name, val in loop_ctx.env.own.items() if isinstance(loop_ctx.env, ChildEnv) else ():
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
        iter_node, limit = self.parallel_limit(iter_node, ctx)
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
                parallelism=limit,
                span=ctx.module.span(node),
            )
        )
        loops = (*ctx.loops, loop_id)
        sub = ctx.child(loops=loops)
        sub.env = ChildEnv(ctx.env)
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

    def parallel_limit(self, node: ast.expr, ctx: Ctx) -> tuple[ast.expr, int | None]:
        """`parallel(xs, limit=4)`: the list iterated and the bound on concurrent iterations."""
        if not isinstance(node, ast.Call) or (
            dsl_name(self.project, ctx.module, node.func) != "parallel"
        ):
            return node, None
        hint = (
            "write `for x in parallel(xs, limit=4):` with a literal int (or module constant) >= 1"
        )
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise self.error(ctx, "PF251", node, "parallel() takes the list to loop over", hint)
        limits = [kw for kw in node.keywords if kw.arg == "limit"]
        others = [kw for kw in node.keywords if kw.arg != "limit"]
        if others or len(limits) != 1:
            raise self.error(
                ctx,
                "PF251",
                others[0] if others else node,
                "parallel() takes exactly one keyword, `limit=`",
                hint,
            )
        ev = StaticEval(self.project, ctx.module, self.report_for(ctx.module))
        limit = ev.constant(limits[0].value)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
            raise self.error(
                ctx,
                "PF251",
                limits[0].value,
                f"parallel(limit=...) must be an int from 1 to 10000, not `{short(limits[0].value)}`",
                hint,
            )
        return node.args[0], limit

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
            if len(args) == 3 and args[2] == 0:
                raise self.error(
                    ctx,
                    "PF230",
                    node,
                    "range() step must not be zero",
                    "write e.g. `range(0, 10, 2)`",
                )
            items = range(*args)
            count = len(items) if abs(items.stop - items.start) < 2**62 else 2**62
            if count > MAX_STATIC_ITEMS:
                raise self.error(
                    ctx,
                    "PF230",
                    node,
                    f"range() is too large for a static fan-out (at most {MAX_STATIC_ITEMS} items)",
                    "pass the list as a parameter, or return it from a step and loop over that",
                )
            return ir.Literal(value=list(items)), "int"
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

    def condition(self, node: ast.expr, ctx: Ctx, depth: int = 0) -> ir.Condition:
        if depth > MAX_CONDITION_DEPTH:
            # Every backend writes conditions recursively; far below Python's own limit.
            raise self.error(
                ctx,
                "PF102",
                node,
                f"this condition nests `and`/`or`/`not` more than {MAX_CONDITION_DEPTH} levels deep",
                "compute the decision inside a step and test its output: `if decide(x):`",
            )
        if isinstance(node, ast.BoolOp):
            parts = tuple(self.condition(v, ctx, depth + 1) for v in node.values)
            return (
                ir.All(operands=parts) if isinstance(node.op, ast.And) else ir.Any(operands=parts)
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ir.Not(operand=self.condition(node.operand, ctx, depth + 1))
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
                pairs.append(ir.Compare(left=left, op=CMP_OPS[type(op)], right=right))
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
