"""Hypothesis strategies: random *valid* pipeline projects with the DAG they must compile to.

`projects()` draws a `GeneratedPipeline`: the files of a project (a
`pipeline.py`, and with `multi_module` a `steps/` package the pipeline imports
in the ways the README lists) whose `@pipeline` uses the whole body language —
step calls with one to three outputs, parameters (list parameters defaulting
to `[]` too), literals, `if/elif/else` on step outputs, parameters and loop
items with `and`/`or`/`not` and comparisons, `for` loops and comprehensions
over literal lists (`[]` too), list parameters, `range()`, list outputs of
steps (dynamic fan-out) and fields of an outer item, nested two levels, fan-in
of a comprehension's results, `after=`, sub-pipelines returning one value or
a tuple (and called with `after=`), status-aware calls (`run="done"`/`"failed"`), hooks of sub-pipelines,
and exit/failure hooks — with hostile strings (quotes, newlines,
`{{`, `{%`, `$(...)`, backslashes, Python code, U+2028...) in defaults,
literals, env values and step names. Alongside it is everything the IR must
say: tasks, typed edges, loops, conditions, hooks and sub-pipeline scopes.

`pipelines()` is the same with every step in `pipeline.py`, so `.source` alone
is the project, and without what the Argo backend refuses or cannot show
(`{{` in an env value, an artifact fan-in over `[]`): its `argo_errors` is
always empty. Write a project with `gen.write(folder)`.
"""

from __future__ import annotations

from hypothesis import strategies as st

from portaflow.compiler import ir
from strategy_model import (
    _IMPORT_STYLES,
    _NAME_SUFFIXES,
    _ORDERED,
    HOSTILE_STRINGS,
    GeneratedPipeline,
    _cond_bindings,
    _Ctx,
    _tasks_of,
    _Val,
    _visible,
    py_string,
)

__all__ = [
    "HOSTILE_STRINGS",
    "GeneratedPipeline",
    "pipelines",
    "projects",
    "py_string",
    "taskflow_pipelines",
]


class _Builder:
    def __init__(
        self,
        draw: st.DrawFn,
        max_steps: int,
        multi_module: bool,
        argo_valid: bool = False,
        taskflow: bool = False,
        round1: bool = False,
    ) -> None:
        self.draw = draw
        self.budget = draw(st.integers(min_value=1, max_value=max_steps))
        self.multi = multi_module
        #: Only what the Argo backend takes and shows as-is (`pipelines()`, for consumers
        #: written before `argo_errors` existed): no `{{` in env values, no fan-in over `[]`.
        self.argo_valid = argo_valid
        #: Only what Airflow's TaskFlow API can say (`taskflow_pipelines()`): step calls, several
        #: outputs and comprehensions at the top level; no if, for, sub-pipelines or hooks.
        self.taskflow = taskflow
        #: Only the language before issue 13's round 2 (no run= modes, merged branch values,
        #: parallel(), pipeline outputs, decorator constants, pod features, sub-pipeline hooks
        #: or after= on a sub-pipeline call): for renderers into other tools' syntax.
        self.round1 = round1 or taskflow
        self.gen = GeneratedPipeline(source="")
        self.modules: dict[str, list[str]] = {"pipeline": []}  # module -> step definitions
        self.deco: dict[str, str] = {}  # module -> decorator spelling of `step`
        self.imports: list[str] = []  # pipeline.py imports of steps
        self.subs: list[str] = []  # sub-pipeline definitions
        self.body: list[str] = []
        self.n_steps = 0
        self.n_vars = 0
        self.n_branch = 0
        self.loop_no = 0
        self.ids: set[str] = set()
        self.refs: dict[str, str] = {}  # function name -> step ref
        self.values: list[_Val] = [
            _Val("p_int", ir.ParamRef(param="p_int"), "int", None),
            _Val("p_list", ir.ParamRef(param="p_list"), "list[int]", None),
            _Val("p_empty", ir.ParamRef(param="p_empty"), "list[int]", None),
            _Val("p_str", ir.ParamRef(param="p_str"), "str", None),
            _Val("p_flag", ir.ParamRef(param="p_flag"), "bool", None),
        ]

    # ------------------------------------------------------------------ small draws

    def fresh(self) -> str:
        self.n_vars += 1
        return f"v{self.n_vars}"

    def hostile(self) -> str:
        s = self.draw(st.sampled_from(HOSTILE_STRINGS))
        return py_string(s, raw=self.draw(st.booleans()))

    def unique_id(self, base: str) -> str:
        cand, n = base, 1
        while cand in self.ids:
            n += 1
            cand = f"{base}_{n}"
        self.ids.add(cand)
        return cand

    def pool(self, ctx: _Ctx, types: tuple[str, ...]) -> list[_Val]:
        return [v for v in self.values + ctx.items if v.type in types and _visible(v, ctx)]

    # ------------------------------------------------------------------ step definitions

    def define_step(self, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> str:
        """Define a fresh step; returns how the pipeline body calls it (`name`, `mod.name`)."""
        self.n_steps += 1
        name = f"s{self.n_steps}{self.draw(st.sampled_from(_NAME_SUFFIXES))}"
        module = "pipeline"
        if self.multi:
            module = self.draw(st.sampled_from(["pipeline", "steps.prep", "steps.train"]))
        deco = self.deco.setdefault(module, self._decorator_spelling(module))
        params = [f"{n}: {t}" if t != "any" else n for n, t in inputs]
        if self.draw(st.booleans()):
            params.append(f"lit: str = {self.hostile()}")
        if not outputs:
            ret = "None"
        elif len(outputs) == 1 and outputs[0][0] == "output":
            ret = outputs[0][1]
        else:
            ret = "tuple[" + ", ".join(f'Annotated[{t}, "{o}"]' for o, t in outputs) + "]"
        config = self.draw(
            st.sampled_from(
                [
                    "",
                    "",
                    "retries=Retry(max=2)",
                    # pod features in the place of plain resources: the same draws as before
                    'resources=Resources(cpu=1, memory="1Gi")' if self.round1 else _POD_FEATURES,
                    "cache=False",
                    "env",
                    "name",
                    *(["constants"] if module == "pipeline" and not self.round1 else []),
                ]
            )
        )
        if config == "constants":  # module constants, evaluated statically (issue 13, item 9)
            config = "retries=Retry(max=RETRIES), image=IMAGE"
        if config == "env":
            choices = [h for h in HOSTILE_STRINGS if not (self.argo_valid and "{{" in h)]
            raw = self.draw(st.sampled_from(choices))
            if "{{" in raw:
                self.gen.argo_errors.add("PF503")
            config = f"env={{'PF_VALUE': {py_string(raw, raw=self.draw(st.booleans()))}}}"
        elif config == "name":
            config = f"name={self.hostile()}"
        decorator = f"@{deco}({config})" if config else f"@{deco}"
        self.modules.setdefault(module, []).extend(
            [
                decorator,
                f"def {name}({', '.join(params)}) -> {ret}:",
                f"    {self.hostile()}",  # a docstring (or string statement) of hostile text
                "    raise NotImplementedError",
                "",
                "",
            ]
        )
        self.refs[name] = f"{module}:{name}"
        if module == "pipeline":
            return name
        style = self.draw(st.sampled_from(_IMPORT_STYLES))
        short = module.split(".")[1]
        if style == "from":
            self.imports.append(f"from {module} import {name}")
            return name
        if style == "module":
            self.imports.append(f"from steps import {short}")
            return f"{short}.{name}"
        self.imports.append(f"import {module} as {short}_mod")
        return f"{short}_mod.{name}"

    def _decorator_spelling(self, module: str) -> str:
        if module == "pipeline":
            return "step"
        return self.draw(st.sampled_from(["step", "pf.step", "s_"]))

    # ------------------------------------------------------------------ recording

    def record(
        self,
        tid: str,
        inputs: list[_Val],
        after: list[str],
        ctx: _Ctx,
        scope: tuple[str, ...] = (),
        extra_conds: tuple[ir.Condition, ...] = (),
    ) -> None:
        g = self.gen
        g.tasks.add(tid)
        g.step_refs[tid] = self.refs[tid.rsplit(".", 1)[-1]]
        g.task_loop[tid] = ctx.loops[-1] if ctx.loops else None
        g.scopes[tid] = scope
        if ctx.loops:
            g.looped.add(tid)
        for v in inputs:
            for src in _tasks_of(v.binding):
                g.typed_edges.add((src, tid, "data"))
        conds = (*ctx.conds, *extra_conds)
        if conds:
            cond = conds[0] if len(conds) == 1 else ir.All(operands=conds)
            g.conditions[tid] = cond
            g.conditional.add(tid)
            for b in _cond_bindings(cond):
                for src in _tasks_of(b):
                    g.typed_edges.add((src, tid, "condition"))
        for lid in ctx.loops:
            for src in _tasks_of(g.loops[lid][0]):
                g.typed_edges.add((src, tid, "loop"))
        for a in after:
            g.typed_edges.add((a, tid, "order"))

    # ------------------------------------------------------------------ statements

    def block(self, ctx: _Ctx, min_stmts: int = 1) -> list[str]:
        lines: list[str] = []
        n = 0
        while self.budget > 0 and (n < min_stmts or self.draw(st.integers(0, 2)) > 0):
            lines += self.statement(ctx)
            n += 1
        if not lines:
            lines.append("    " * ctx.indent + "pass")
        return lines

    def statement(self, ctx: _Ctx) -> list[str]:
        kinds = ["call", "call", "call", "multi"]
        if len(ctx.loops) < 2:
            kinds += ["for", "comp"]
        if self.budget >= 2:
            kinds += ["if"] if self.round1 else ["if", "merge"]
        if self.budget >= 2:
            kinds += ["sub"]
        if (
            not self.round1
            and not ctx.loops
            and not ctx.conds
            and any(v.task and _visible(v, ctx) for v in self.values)
        ):
            kinds += ["status"]
        if not self.round1:
            kinds += ["import"]  # importer(...) / model_version(...) (issue 13, construct 1)
        if self.taskflow:
            kinds = ["call", "call", "call", "multi", "comp"]
        kind = self.draw(st.sampled_from(kinds))
        return getattr(self, f"st_{kind}")(ctx)

    def args_for(self, ctx: _Ctx) -> list[_Val]:
        chosen: list[_Val] = []
        types = ("int", "str", "bool", "list[int]", "Blob", "dict", "any")
        # Argo gathers artifacts only into the scope the loop is in: top level here.
        pool = self.pool(ctx, types if ctx.loops else (*types, "list[Blob]"))
        pool += [_Val(self.hostile(), ir.Literal(value=None), "str", None)]  # a literal argument
        for _ in range(self.draw(st.integers(0, 3))):
            chosen.append(self.draw(st.sampled_from(pool)))
        return chosen

    def literal_binding(self, text: str) -> ir.Binding:
        import ast

        return ir.Literal(value=ast.literal_eval(text))

    def plain_call(
        self, ctx: _Ctx, outputs: list[tuple[str, str]], chosen: list[_Val] | None = None
    ) -> tuple[str, str, list[_Val], list[str]]:
        """Define and call a step; returns (call text, task id, bound values, after)."""
        self.budget -= 1
        chosen = self.args_for(ctx) if chosen is None else chosen
        inputs = [(f"a{k}", v.type) for k, v in enumerate(chosen)]
        fn = self.define_step(inputs, outputs)
        # Keyword or positional, but every argument by keyword once one is: name them all.
        texts = []
        bound = []
        kw = self.draw(st.booleans())
        for k, v in enumerate(chosen):
            if isinstance(v.binding, ir.Literal) and v.binding.value is None:
                v = _Val(v.text, self.literal_binding(v.text), "str", None)
            texts.append(f"a{k}={v.text}" if kw else v.text)
            bound.append(v)
        after: list[str] = []
        done = [v for v in self.values if v.task is not None and _visible(v, ctx)]
        if done and self.draw(st.integers(0, 3)) == 0:
            deps = self.draw(st.lists(st.sampled_from(done), min_size=1, max_size=2, unique_by=id))
            texts.append(f"after=[{', '.join(d.text for d in deps)}]")
            for d in deps:
                if d.task not in after:
                    after.append(d.task)  # type: ignore[arg-type]
        tid = self.unique_id(fn.rsplit(".", 1)[-1])
        return f"{fn}({', '.join(texts)})", tid, bound, after

    def st_call(self, ctx: _Ctx) -> list[str]:
        out_type = self.draw(
            st.sampled_from(["int", "int", "str", "bool", "list[int]", "Blob", ""])
        )
        outputs = [("output", out_type)] if out_type else []
        call, tid, bound, after = self.plain_call(ctx, outputs)
        self.record(tid, bound, after, ctx)
        pad = "    " * ctx.indent
        if not outputs and self.draw(st.booleans()):
            return [pad + call]
        name = self.fresh()
        binding = ir.TaskOutput(task=tid, output="output") if outputs else None
        self.values.append(_Val(name, binding, out_type or "null", tid, ctx.loops, ctx.branch))
        return [f"{pad}{name} = {call}"]

    def st_multi(self, ctx: _Ctx) -> list[str]:
        k = self.draw(st.integers(2, 3))
        outputs = [(f"o{j}", self.draw(st.sampled_from(["int", "Blob", "str"]))) for j in range(k)]
        call, tid, bound, after = self.plain_call(ctx, outputs)
        self.record(tid, bound, after, ctx)
        names = [self.fresh() for _ in outputs]
        for nm, (o, t) in zip(names, outputs, strict=True):
            self.values.append(
                _Val(nm, ir.TaskOutput(task=tid, output=o), t, tid, ctx.loops, ctx.branch)
            )
        return ["    " * ctx.indent + f"{', '.join(names)} = {call}"]

    def st_import(self, ctx: _Ctx) -> list[str]:
        """`v = importer(uri, type=Blob, metadata={...})` of a `str` parameter or a literal, or
        `v = model_version(name, stage=|version=)`: an artifact no step made, as a task."""
        self.budget -= 1
        pad = "    " * ctx.indent
        name = self.fresh()
        # A model version needs the stack's store on Argo/KFP/Airflow: `pipelines()` (emitted
        # with no store by the KFP and Airflow properties) draws importers only.
        if not self.argo_valid and self.draw(st.booleans()):
            self.gen.argo_errors.add("PF533")
            tid = self.unique_id("model_version")
            self.refs[tid] = ir.MODEL_VERSION_STEP
            pick = self.draw(st.sampled_from(['stage="production"', "version=2", ""]))
            text = f"model_version({self.hostile_nonblank()}{', ' + pick if pick else ''})"
            self.record(tid, [], [], ctx)
            self.values.append(
                _Val(
                    name,
                    ir.TaskOutput(task=tid, output="model"),
                    "Blob",
                    tid,
                    ctx.loops,
                    ctx.branch,
                )
            )
            return [f"{pad}{name} = {text}"]
        tid = self.unique_id("importer")
        self.refs[tid] = ir.IMPORTER_STEP
        uri = self.draw(st.sampled_from(["p_str", self.hostile_nonblank()]))
        meta = f", metadata={{'k': {self.hostile()}}}" if self.draw(st.booleans()) else ""
        self.record(tid, [], [], ctx)
        self.values.append(
            _Val(
                name, ir.TaskOutput(task=tid, output="artifact"), "Blob", tid, ctx.loops, ctx.branch
            )
        )
        return [f"{pad}{name} = importer({uri}, type=Blob{meta})"]

    def hostile_nonblank(self) -> str:
        """A hostile string literal that is not blank (an importer uri, a model name)."""
        text = self.draw(st.sampled_from([h for h in HOSTILE_STRINGS if h.strip()]))
        return py_string(text, raw=self.draw(st.booleans()))

    def st_status(self, ctx: _Ctx) -> list[str]:
        """A status-aware call: `run="done"` after one or two results, `run="failed"` after
        one (KFP reads the final status of exactly one upstream), parameters only."""
        self.budget -= 1
        mode = self.draw(st.sampled_from(["done", "failed"]))
        done = [v for v in self.values if v.task is not None and _visible(v, ctx)]
        deps = self.draw(
            st.lists(
                st.sampled_from(done), min_size=1, max_size=2 if mode == "done" else 1, unique_by=id
            )
        )
        after = list(dict.fromkeys(str(d.task) for d in deps))
        chosen = self.draw(st.lists(st.sampled_from(self.pool(ctx, ("int", "str"))), max_size=2))
        chosen = [v for v in chosen if isinstance(v.binding, ir.ParamRef)]
        fn = self.define_step([(f"a{k}", v.type) for k, v in enumerate(chosen)], [])
        texts = [v.text for v in chosen]
        texts += [f"after=[{', '.join(d.text for d in deps)}]", f'run="{mode}"']
        tid = self.unique_id(fn.rsplit(".", 1)[-1])
        self.record(tid, chosen, after, ctx)
        return ["    " * ctx.indent + f"{fn}({', '.join(texts)})"]

    # ------------------------------------------------------------------ loops

    def loop_source(self, ctx: _Ctx) -> tuple[str, ir.Binding, str, bool]:
        """(text, items binding, item type, item has fields) for a loop opened in `ctx`."""
        options: list[tuple[str, ir.Binding, str, bool]] = [
            ("[1, 2, 3]", ir.Literal(value=[1, 2, 3]), "int", False),
            ("[]", ir.Literal(value=[]), "any", False),
            ("range(2)", ir.Literal(value=[0, 1]), "int", False),
            ("p_list", ir.ParamRef(param="p_list"), "int", False),
            ("p_empty", ir.ParamRef(param="p_empty"), "int", False),
            ("p_cfgs", ir.ParamRef(param="p_cfgs"), "dict", True),
            (
                '[{"n": 1, "rates": [1, 2]}]',
                ir.Literal(value=[{"n": 1, "rates": [1, 2]}]),
                "dict",
                True,
            ),
        ]
        for v in self.pool(ctx, ("list[int]",)):
            if isinstance(v.binding, ir.TaskOutput):
                options.append((v.text, v.binding, "int", False))
        nested = []
        for it in ctx.items:
            if it.fields and _visible(it, ctx) and isinstance(it.binding, ir.LoopItem):
                b = ir.LoopItem(loop=it.binding.loop, path=("rates",))
                nested.append((f'{it.text}["rates"]', b, "int", False))
        if nested and self.draw(st.booleans()):  # a loop over a field of the outer item
            return self.draw(st.sampled_from(nested))
        return self.draw(st.sampled_from(options))

    def open_loop(self, ctx: _Ctx, var: str, items: ir.Binding, typ: str, fields: bool) -> _Ctx:
        self.loop_no += 1
        lid = f"loop_{self.loop_no}"
        self.gen.loops[lid] = (items, ctx.loops[-1] if ctx.loops else None)
        item = _Val(var, ir.LoopItem(loop=lid), typ, None, (*ctx.loops, lid), ctx.branch, fields)
        extra = [item]
        if fields:
            extra.append(
                _Val(f'{var}["n"]', ir.LoopItem(loop=lid, path=("n",)), "int", None, item.loops)
            )
        return _Ctx(
            indent=ctx.indent + 1,
            loops=(*ctx.loops, lid),
            conds=ctx.conds,
            branch=ctx.branch,
            items=ctx.items + extra,
        )

    def maybe_parallel(self, text: str, lid: str) -> str:
        """`parallel(xs, limit=N)` around a loop's list (issue 13, item 6), for a loop that
        holds no other loop (Airflow bounds one mapped task, not an outer loop: PF720)."""
        if self.round1 or not self.draw(st.booleans()):
            return text
        limit = self.draw(st.integers(1, 3))
        self.gen.parallelism[lid] = limit
        return f"parallel({text}, limit={limit})"

    def st_for(self, ctx: _Ctx) -> list[str]:
        text, items, typ, fields = self.loop_source(ctx)
        var = f"x{self.loop_no + 1}"
        inner = self.open_loop(ctx, var, items, typ, fields)
        if ctx.loops:  # an inner loop: no loop can open inside it
            text = self.maybe_parallel(text, inner.loops[-1])
        head = "    " * ctx.indent + f"for {var} in {text}:"
        return [head, *self.block(inner)]

    def st_comp(self, ctx: _Ctx) -> list[str]:
        text, items, typ, fields = self.loop_source(ctx)
        var = f"x{self.loop_no + 1}"
        inner = self.open_loop(ctx, var, items, typ, fields)
        first = inner.loops[-1]
        gens = f"for {var} in {text}"
        if len(ctx.loops) == 0 and self.draw(st.booleans()):
            text2, items2, typ2, fields2 = self.loop_source(inner)
            var2 = f"x{self.loop_no + 1}"
            inner = self.open_loop(inner, var2, items2, typ2, fields2)
            inner.indent -= 1
            gens += f" for {var2} in {self.maybe_parallel(text2, inner.loops[-1])}"
        else:
            gens = f"for {var} in {self.maybe_parallel(text, first)}"
        inner.indent -= 1
        # The fanned-out step reads the loop item(s) and maybe outer values.
        chosen = [self.draw(st.sampled_from([i for i in inner.items if i.loops]))]
        chosen += self.args_for(inner)[:1]
        # Artifact fan-in only where Argo can gather it: one literal loop at the top level.
        blob_ok = len(inner.loops) == 1 and not ctx.loops and isinstance(items, ir.Literal)
        if self.argo_valid and items == ir.Literal(value=[]):
            blob_ok = False  # unrolled over no item: Argo has no node to show the IR edge on
        out_type = self.draw(st.sampled_from(["int", "Blob"] if blob_ok else ["int"]))
        call, tid, bound, after = self.plain_call(inner, [("output", out_type)], chosen)
        self.record(tid, bound, after, inner)
        name = self.fresh()
        self.values.append(
            _Val(
                name,
                ir.Gathered(task=tid, output="output", loop=first),
                f"list[{out_type}]",
                tid,
                ctx.loops,
                ctx.branch,
            )
        )
        pad = "    " * ctx.indent
        lines = [f"{pad}{name} = [{call} {gens}]"]
        if self.budget > 0 and self.draw(st.booleans()):  # fan-in right away
            fan_in, tid2, bound2, after2 = self.plain_call(
                ctx, [("output", "int")], [self.values[-1]]
            )
            self.record(tid2, bound2, after2, ctx)
            lines.append(pad + fan_in)
        return lines

    # ------------------------------------------------------------------ conditions

    def condition(self, ctx: _Ctx, depth: int = 0) -> tuple[str, ir.Condition]:
        form = self.draw(
            st.sampled_from(
                ["truthy", "compare", "compare", "in"] + (["not", "and", "or"] if depth < 2 else [])
            )
        )
        if form in ("and", "or"):
            a_text, a = self.condition(ctx, depth + 1)
            b_text, b = self.condition(ctx, depth + 1)
            node = ir.All(operands=(a, b)) if form == "and" else ir.Any(operands=(a, b))
            return f"({a_text}) {form} ({b_text})", node
        if form == "not":
            text, c = self.condition(ctx, depth + 1)
            return f"not ({text})", ir.Not(operand=c)
        scalars = self.pool(ctx, ("int", "str", "bool", "dict", "any"))
        v = self.draw(st.sampled_from(scalars))
        if form == "truthy":
            return v.text, ir.Truthy(value=v.binding)  # type: ignore[arg-type]
        if form == "in":
            op = self.draw(st.sampled_from(["in", "not in"]))
            right_text, right = self.draw(
                st.sampled_from(
                    [
                        ("p_list", ir.ParamRef(param="p_list")),
                        ("[1, 2]", ir.Literal(value=[1, 2])),
                        ("[]", ir.Literal(value=[])),
                    ]
                )
            )
            return f"{v.text} {op} {right_text}", ir.Compare(left=v.binding, op=op, right=right)  # type: ignore[arg-type]
        rights = [w for w in scalars if w is not v] + [
            _Val("3", ir.Literal(value=3), "int", None),
            _Val("None", ir.Literal(value=None), "null", None),
        ]
        hostile = self.hostile()
        rights.append(_Val(hostile, self.literal_binding(hostile), "str", None))
        w = self.draw(st.sampled_from(rights))
        # A valid pipeline also runs: order only values Python can order against each other.
        group = _ORDERED.get(v.type)
        ordered = group is not None and group == _ORDERED.get(w.type)
        op = self.draw(
            st.sampled_from(["==", "!=", "<", "<=", ">", ">="] if ordered else ["==", "!="])
        )
        if ordered and group != "number":
            form = "no-chain"  # `a < "s" < 10` would order a str against an int
        if w.text == "None" and self.draw(st.booleans()):
            text_op, op = self.draw(st.sampled_from([("is", "=="), ("is not", "!=")]))
            return f"{v.text} {text_op} None", ir.Compare(left=v.binding, op=op, right=w.binding)  # type: ignore[arg-type]
        if self.draw(st.booleans()) and form == "compare":  # a chained comparison
            z = _Val("10", ir.Literal(value=10), "int", None)
            return (
                f"{v.text} {op} {w.text} {op} {z.text}",
                ir.All(
                    operands=(
                        ir.Compare(left=v.binding, op=op, right=w.binding),  # type: ignore[arg-type]
                        ir.Compare(left=w.binding, op=op, right=z.binding),  # type: ignore[arg-type]
                    )
                ),
            )
        return f"{v.text} {op} {w.text}", ir.Compare(left=v.binding, op=op, right=w.binding)  # type: ignore[arg-type]

    def st_if(self, ctx: _Ctx) -> list[str]:
        pad = "    " * ctx.indent
        lines: list[str] = []
        negated: list[ir.Condition] = []
        n_elif = self.draw(st.integers(0, 2))
        for i in range(1 + n_elif):
            text, cond = self.condition(ctx)
            lines.append(f"{pad}{'if' if i == 0 else 'elif'} {text}:")
            lines += self.branch_block(ctx, (*negated, cond))
            negated.append(ir.Not(operand=cond))
        if self.draw(st.booleans()):
            lines.append(f"{pad}else:")
            lines += self.branch_block(ctx, tuple(negated))
        return lines

    def st_merge(self, ctx: _Ctx) -> list[str]:
        """A name assigned in every arm of an if/(elif)/else, read after it (issue 13, item 7)."""
        pad = "    " * ctx.indent
        name = self.fresh()
        lines: list[str] = []
        negated: list[ir.Condition] = []
        options: list[ir.TaskOutput] = []
        n_arms = self.draw(st.integers(2, 3))
        for i in range(n_arms):
            last = i == n_arms - 1
            if last:
                lines.append(f"{pad}else:")
                conds: tuple[ir.Condition, ...] = tuple(negated)
            else:
                # One comparison or truth test per arm: KFP nests `and` (and chained
                # comparisons) as conditions inside the branch, where dsl.OneOf cannot
                # reach (PF620).
                text, cond = self.condition(ctx, depth=2)
                if isinstance(cond, (ir.All, ir.Any)):
                    text, cond = "p_flag", ir.Truthy(value=ir.ParamRef(param="p_flag"))
                lines.append(f"{pad}{'if' if i == 0 else 'elif'} {text}:")
                conds = (*negated, cond)
                negated.append(ir.Not(operand=cond))
            self.n_branch += 1
            arm = _Ctx(
                indent=ctx.indent + 1,
                loops=ctx.loops,
                conds=(*ctx.conds, *conds),
                branch=(*ctx.branch, self.n_branch),
                items=ctx.items,
            )
            call, tid, bound, after = self.plain_call(arm, [("output", "int")])
            self.record(tid, bound, after, arm)
            options.append(ir.TaskOutput(task=tid, output="output"))
            lines.append(f"{pad}    {name} = {call}")
        merged = ir.OneOf(options=tuple(options))
        self.values.append(_Val(name, merged, "int", None, ctx.loops, ctx.branch))
        return lines

    def branch_block(self, ctx: _Ctx, conds: tuple[ir.Condition, ...]) -> list[str]:
        self.n_branch += 1
        sub = _Ctx(
            indent=ctx.indent + 1,
            loops=ctx.loops,
            conds=(*ctx.conds, *conds),
            branch=(*ctx.branch, self.n_branch),
            items=ctx.items,
        )
        return self.block(sub)

    # ------------------------------------------------------------------ sub-pipelines

    def st_sub(self, ctx: _Ctx) -> list[str]:
        """Define a sub-pipeline (one or two steps) and call it once or twice."""
        k = len(self.subs) + 1
        sub_name = f"sub{k}"
        n_inner = min(self.budget, self.draw(st.integers(1, 2)))
        inner: list[tuple[str, list[str], str]] = []  # (fn, inputs ("x"|"ys"|"r0"), out type)
        defs: list[str] = []
        for j in range(n_inner):
            names = ["x", "ys"] + [f"r{i}" for i in range(j)]
            picked = self.draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
            types = {"x": "int", "ys": "list[int]"}
            ins = [(f"a{i}", types.get(n, "int")) for i, n in enumerate(picked)]
            fn = self.define_step(ins, [("output", "int")])
            inner.append((fn, picked, "int"))
            defs.append(f"    r{j} = {fn}({', '.join(picked)})")
        returns = self.draw(
            st.sampled_from(["none", "one", "tuple"] if n_inner > 1 else ["none", "one"])
        )
        if returns == "one":
            defs.append(f"    return r{n_inner - 1}")
        elif returns == "tuple":
            defs.append("    return r0, r1")
        # A hook on the sub-pipeline is scoped to each call of it: a status-aware task after
        # the call's group, reading the group's status.
        hook = None if self.round1 else self.draw(st.sampled_from([None, "on_exit", "on_failure"]))
        hook_fn = f"{sub_name}_{hook}"
        if hook is not None:
            self.modules["pipeline"] += [
                "@step",
                f"def {hook_fn}(status: RunStatus) -> None:",
                "    raise NotImplementedError",
                "",
                "",
            ]
            self.refs[hook_fn] = f"pipeline:{hook_fn}"
        self.subs += [
            f"@pipeline({hook}={hook_fn})" if hook else "@pipeline",
            f"def {sub_name}(x: int, ys: list[int] = []):",
            f"    {self.hostile()}",
            *defs,
            "",
            "",
        ]
        lines: list[str] = []
        for _ in range(self.draw(st.integers(1, 2))):
            if self.budget < n_inner:
                break
            self.budget -= n_inner
            x = self.draw(st.sampled_from(self.pool(ctx, ("int",))))
            args = [x.text if self.draw(st.booleans()) else f"x={x.text}"]
            env = {"x": x, "ys": _Val("[]", ir.Literal(value=[]), "list[int]", None)}
            ys_pool = self.pool(ctx, ("list[int]",))
            if ys_pool and self.draw(st.booleans()):
                env["ys"] = self.draw(st.sampled_from(ys_pool))
                args.append(f"ys={env['ys'].text}")
            # `after=` on the call orders the whole group: every task inside waits.
            group_after: list[str] = []
            done = [v for v in self.values if v.task is not None and _visible(v, ctx)]
            if done and not self.round1 and self.draw(st.integers(0, 3)) == 0:
                dep = self.draw(st.sampled_from(done))
                args.append(f"after=[{dep.text}]")
                group_after.append(str(dep.task))
            call_id = self.unique_id(sub_name)
            outs: list[_Val] = []
            for j, (fn, picked, _t) in enumerate(inner):
                tid = self.unique_id(f"{call_id}.{fn.rsplit('.', 1)[-1]}")
                bound = [env[n] for n in picked]
                self.record(tid, bound, group_after, ctx, scope=(call_id,))
                env[f"r{j}"] = _Val(f"r{j}", ir.TaskOutput(task=tid, output="output"), "int", tid)
                outs.append(env[f"r{j}"])
            if hook is not None:
                hid = self.unique_id(hook_fn)
                self.refs[hid] = f"pipeline:{hook_fn}"
                self.record(hid, [], [str(v.task) for v in outs], ctx)
            pad = "    " * ctx.indent
            call = f"{sub_name}({', '.join(args)})"
            if returns == "none":
                lines.append(pad + call)
                continue
            results = [outs[-1]] if returns == "one" else outs[:2]
            names = [self.fresh() for _ in results]
            for nm, r in zip(names, results, strict=True):
                self.values.append(_Val(nm, r.binding, "int", r.task, ctx.loops, ctx.branch))
            lines.append(f"{pad}{', '.join(names)} = {call}")
        return lines or [("    " * ctx.indent) + "pass"]

    # ------------------------------------------------------------------ hooks and files

    def returns(self, ctx: _Ctx) -> list[str]:
        """`return a, b` of top-level step outputs: the pipeline's outputs (issue 13, item 8)."""
        pool = [
            v
            for v in self.values
            if isinstance(v.binding, (ir.TaskOutput, ir.OneOf)) and not v.loops and not v.branch
        ]
        if not pool or not self.draw(st.booleans()):
            return []
        chosen = self.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique_by=id))
        self.gen.outputs = [(v.text, v.binding) for v in chosen]  # type: ignore[misc]
        return [f"    return {', '.join(v.text for v in chosen)}"]

    def hooks(self) -> list[str]:
        args = []
        for key, kind in (("on_exit", "exit"), ("on_failure", "failure")):
            if not self.draw(st.booleans()):
                continue
            name = f"h_{kind}"
            params = self.draw(
                st.sampled_from(["", "p_int: int", f"p_str: str, note: str = {self.hostile()}"])
            )
            self.modules["pipeline"] += [
                "@step",
                f"def {name}({params}) -> None:",
                "    raise NotImplementedError",
                "",
                "",
            ]
            self.gen.tasks.add(name)
            self.gen.hooks[name] = kind
            self.gen.task_loop[name] = None
            self.gen.scopes[name] = ()
            self.gen.step_refs[name] = f"pipeline:{name}"
            args.append(f"{key}={name}")
        return args

    def build(self) -> GeneratedPipeline:
        ctx = _Ctx(indent=1)
        self.body = self.block(ctx)
        while self.budget > 0:
            self.body += self.statement(ctx)
        if not self.round1:
            self.body += self.returns(ctx)
        hook_args = [] if self.taskflow else self.hooks()
        if self.draw(st.booleans()):
            hook_args.insert(0, f"name={self.hostile()}")
        deco = f"@pipeline({', '.join(hook_args)})" if hook_args else "@pipeline"
        p_list = self.draw(st.sampled_from(["[1, 2]", "[]", "[3]"]))
        params = [
            f"p_int: int = {self.draw(st.integers(-5, 5))}",
            f"p_list: list[int] = {p_list}",
            "p_empty: list[int] = []",
            f"p_str: str = {self.hostile()}",
            "p_flag: bool = True",
            'p_cfgs: list[dict] = [{"n": 1, "rates": [1, 2]}, {"n": 2, "rates": []}]',
        ]
        header = [
            '"""A generated pipeline."""',
            "",
            "from typing import Annotated",
            "",
            "from portaflow import Resources, Retry, RunStatus, SecretEnv, Volume, parallel, pipeline, step",
            *([] if self.round1 else ["from portaflow import importer, model_version"]),
            *sorted(set(self.imports)),
            "",
            'REGISTRY = "ghcr.io/acme"',
            "RETRIES = 1 + 1",
            'IMAGE = f"{REGISTRY}/generated:{RETRIES}"',
            "",
            "",
            "class Blob:",
            '    """An artifact type: not JSON, so it travels as an artifact."""',
            "",
            "",
        ]
        src = "\n".join(header + self.modules["pipeline"] + self.subs)
        src += f"{deco}\ndef generated({', '.join(params)}):\n"
        src += f"    {self.hostile()}\n"
        src += "\n".join(self.body) + "\n"
        g = self.gen
        g.source = src
        g.files["pipeline.py"] = src
        g.files["pyproject.toml"] = '[project]\nname = "generated"\nversion = "0"\n'
        if self.multi:
            g.files["steps/__init__.py"] = '"""Steps of the generated project."""\n'
            g.files["steps/common.py"] = (
                'class Blob:\n    """The artifact type the steps share."""\n'
            )
            for module in ("steps.prep", "steps.train"):
                lines = [
                    '"""Steps imported by the pipeline."""',
                    "",
                    "from typing import Annotated",
                    "",
                    "import portaflow as pf",
                    "from portaflow import Resources, Retry, SecretEnv, Volume, step",
                    "from portaflow import step as s_",
                    "",
                    "from .common import Blob",
                    "",
                    "",
                    *self.modules.get(module, []),
                ]
                g.files[module.replace(".", "/") + ".py"] = "\n".join(lines).rstrip() + "\n"
        g.edges = {(a, b) for a, b, _k in g.typed_edges}
        return g


#: Kubernetes pod features (issue 13, construct 5): volumes, a secret key, requests and limits.
_POD_FEATURES = (
    'volumes=[Volume.empty_dir("/dev/shm", medium="Memory"), Volume.pvc("/data", claim="ds")], '
    'secrets=["aws-creds", SecretEnv(secret="api", key="token", env="API_TOKEN")], '
    'resources=Resources(cpu=1, memory="1Gi", cpu_limit=2, memory_limit="2Gi")'
)


@st.composite
def projects(
    draw: st.DrawFn, max_steps: int = 10, *, multi_module: bool = True
) -> GeneratedPipeline:
    """A generated project (steps spread over a `steps/` package when `multi_module`)."""
    return _Builder(draw, max_steps, multi_module).build()


@st.composite
def pipelines(draw: st.DrawFn, max_steps: int = 10, *, round1: bool = False) -> GeneratedPipeline:
    """A generated single-file project: `.source` is all of it (`round1`: see `_Builder`)."""
    return _Builder(draw, max_steps, multi_module=False, argo_valid=True, round1=round1).build()


@st.composite
def taskflow_pipelines(draw: st.DrawFn, max_steps: int = 10) -> GeneratedPipeline:
    """A single-file project within what Airflow's TaskFlow API expresses (see `_Builder.taskflow`)."""
    return _Builder(draw, max_steps, multi_module=False, argo_valid=True, taskflow=True).build()


#: A command item of a `container_step` (issue 13, construct 4b): hostile text around
#: placeholders of the inputs `a` (str) and `n` (int) and the output `out`.
_CONTAINER_ITEMS = st.one_of(
    st.sampled_from(["{a}", "{n}", "{outputs.out}", "--n={n}", "x{a}y{n}z"]),
    st.sampled_from(HOSTILE_STRINGS).map(lambda h: h.replace("{", "{{").replace("}", "}}")),
    st.tuples(st.sampled_from(HOSTILE_STRINGS), st.sampled_from(["{a}", "{n}"])).map(
        lambda p: p[0].replace("{", "{{").replace("}", "}}") + p[1]
    ),
)


@st.composite
def container_step_sources(draw: st.DrawFn) -> tuple[str, str]:
    """pipeline.py declaring one container_step with hostile command items, and the `a` value."""
    items = draw(st.lists(_CONTAINER_ITEMS, min_size=0, max_size=4))
    command = ["tool", *items, "{outputs.out}"]
    a = draw(st.sampled_from(HOSTILE_STRINGS))
    src = (
        "from portaflow import container_step, pipeline\n\n"
        f"tool = container_step(name={py_string(draw(st.sampled_from(HOSTILE_STRINGS)) or 'x', raw=False)}, "
        f'image="busybox:1.36", command={command!r}, inputs={{"a": str, "n": int}}, '
        'outputs={"out": str})\n\n\n'
        "@pipeline\n"
        f"def generated(a: str = {a!r}):\n"
        f"    tool(a=a, n={draw(st.integers(-3, 3))})\n"
    )
    return src, a
