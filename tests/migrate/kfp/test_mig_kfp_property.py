"""Random KFP pipelines migrate to portaflow pipelines with the original's IR graph.

The pipelines come from the compiler's own strategy (`strategies.pipelines()`): each
generated portaflow project is rendered into the KFP v2 DSL the way a KFP user writes
it (`render_kfp` below: `@dsl.component`, keyword arguments, `task.output`,
`task.outputs["x"]`, `dsl.ParallelFor` + `dsl.Collected` for comprehensions,
`dsl.If/Elif/Else`, `.after()`, task options as `.set_*` calls, `dsl.ExitHandler` for an
exit hook), migrated back, and compiled: the tasks and typed edges equal those of the
pipeline the strategy generated. What KFP cannot say (a failure hook, a sub-pipeline
returning a tuple) is not rendered; those examples are rejected.
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, reject, settings

from portaflow.compiler import compile_file, ir
from portaflow.compiler.migrate.kfp import migrate
from strategies import GeneratedPipeline, pipelines

# The example count comes from the hypothesis profile (tests/conftest.py: 200 by default).
SETTINGS = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


class Unsupported(Exception):
    """A construct KFP's DSL has no way to write."""


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    raise Unsupported(ast.dump(node))


class _Renderer:
    def __init__(self, tree: ast.Module) -> None:
        self.steps: dict[str, ast.FunctionDef] = {}
        self.pipelines: dict[str, ast.FunctionDef] = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.decorator_list:
                kind = _name(node.decorator_list[0])
                (self.steps if kind == "step" else self.pipelines)[node.name] = node
        #: Variable -> how a KFP pipeline body reads it.
        self.env: dict[str, str] = {}
        #: Variable -> the task variable `.after()` takes.
        self.tasks: dict[str, str] = {}
        self.items: set[str] = set()

    # ---------------------------------------------------------------- module

    def module(self, tree: ast.Module, source: str) -> str:
        out = []
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "portaflow":
                out.append("from typing import NamedTuple\n\nfrom kfp import dsl\n")
            elif isinstance(node, ast.FunctionDef) and node.name in self.steps:
                out.append(self.component(node, source))
            elif isinstance(node, ast.FunctionDef):
                out.append(self.pipeline(node))
            else:
                out.append(ast.get_source_segment(source, node) or "")
        return "\n\n".join(out) + "\n"

    def component(self, fn: ast.FunctionDef, source: str) -> str:
        ret = fn.returns
        text = ast.get_source_segment(source, fn) or ""
        body = text[text.index("def ") :]
        if isinstance(ret, ast.Subscript) and _name(ret.value) == "tuple":
            fields = []
            for el in ret.slice.elts:  # type: ignore[attr-defined]
                assert isinstance(el, ast.Subscript) and _name(el.value) == "Annotated"
                t, label = el.slice.elts  # type: ignore[attr-defined]
                fields.append(f"({ast.unparse(label)}, {ast.unparse(t)})")
            nt = f'NamedTuple("Outputs", [{", ".join(fields)}])'
            head = body[: body.index("->")] + f"-> {nt}:"
            body = head + body[body.index(":\n", body.index("->")) + 1 :]
        return f"@dsl.component\n{body}"

    def methods(self, step: str) -> str:
        """A step's options as the task calls KFP sets them with."""
        fn = self.steps.get(step)
        if fn is None or not isinstance(fn.decorator_list[0], ast.Call):
            return ""
        out = ""
        for kw in fn.decorator_list[0].keywords:
            if kw.arg == "cache":
                out += f".set_caching_options({ast.unparse(kw.value)})"
            elif kw.arg == "retries" and isinstance(kw.value, ast.Call):
                for k in kw.value.keywords:
                    if k.arg == "max":
                        out += f".set_retry(num_retries={ast.unparse(k.value)})"
            elif kw.arg == "resources" and isinstance(kw.value, ast.Call):
                for k in kw.value.keywords:
                    if k.arg in ("cpu", "memory"):
                        out += f".set_{k.arg}_limit({ast.unparse(k.value)})"
            elif kw.arg == "env" and isinstance(kw.value, ast.Dict):
                for key, value in zip(kw.value.keys, kw.value.values, strict=True):
                    assert key is not None
                    out += f".set_env_variable({ast.unparse(key)}, {ast.unparse(value)})"
        return out

    # ---------------------------------------------------------------- pipelines

    def pipeline(self, fn: ast.FunctionDef) -> str:
        self.env, self.tasks, self.items = {}, {}, set()
        deco = fn.decorator_list[0]
        kwargs = {k.arg: k.value for k in deco.keywords} if isinstance(deco, ast.Call) else {}
        if "on_failure" in kwargs:
            raise Unsupported("KFP has no failure hook")
        head = f"@dsl.pipeline(name={ast.unparse(kwargs['name'])})" if "name" in kwargs else ""
        params = {a.arg for a in fn.args.args}
        lines = self.block(fn.body, 1)
        if "on_exit" in kwargs:
            hook = self.steps[_name(kwargs["on_exit"])]
            args = ", ".join(f"{a.arg}={a.arg}" for a in hook.args.args if a.arg in params)
            pre = f"    exit_task = {hook.name}({args})"
            lines = [pre, "    with dsl.ExitHandler(exit_task=exit_task):"] + [
                "    " + ln for ln in lines
            ]
        signature = ast.unparse(fn.args)
        return f"{head or '@dsl.pipeline'}\ndef {fn.name}({signature}):\n" + "\n".join(lines)

    def block(self, stmts: list[ast.stmt], depth: int) -> list[str]:
        out: list[str] = []
        for s in stmts:
            out += self.stmt(s, depth)
        return out or ["    " * depth + "pass"]

    def stmt(self, s: ast.stmt, depth: int) -> list[str]:
        pad = "    " * depth
        if isinstance(s, (ast.Pass, ast.Expr)) and not isinstance(
            getattr(s, "value", None), ast.Call
        ):
            return [pad + ast.unparse(s)]
        if isinstance(s, ast.Expr):
            assert isinstance(s.value, ast.Call)
            return [pad + self.call(s.value)]
        if isinstance(s, ast.Return):
            if isinstance(s.value, ast.Tuple):
                raise Unsupported("a sub-pipeline returning several values")
            return [pad + "return " + self.expr(s.value)] if s.value else [pad + "return"]
        if isinstance(s, ast.Assign):
            return self.assign(s, depth)
        if isinstance(s, ast.For):
            assert isinstance(s.target, ast.Name)
            head = f"{pad}with dsl.ParallelFor({self.expr(s.iter)}) as {s.target.id}:"
            self.items.add(s.target.id)
            return [head, *self.block(s.body, depth + 1)]
        if isinstance(s, ast.If):
            lines = [f"{pad}with dsl.If({self.expr(s.test)}):", *self.block(s.body, depth + 1)]
            orelse = s.orelse
            while len(orelse) == 1 and isinstance(orelse[0], ast.If):
                e = orelse[0]
                lines += [f"{pad}with dsl.Elif({self.expr(e.test)}):"]
                lines += self.block(e.body, depth + 1)
                orelse = e.orelse
            if orelse:
                lines += [f"{pad}with dsl.Else():", *self.block(orelse, depth + 1)]
            return lines
        raise Unsupported(ast.dump(s))

    def assign(self, s: ast.Assign, depth: int) -> list[str]:
        pad = "    " * depth
        target = s.targets[0]
        value = s.value
        if isinstance(value, ast.ListComp):
            assert isinstance(target, ast.Name) and isinstance(value.elt, ast.Call)
            lines = []
            for i, gen in enumerate(value.generators):
                if gen.ifs:
                    raise Unsupported("a filtered comprehension")
                assert isinstance(gen.target, ast.Name)
                it = self.expr(gen.iter)
                lines.append(f"{pad}{'    ' * i}with dsl.ParallelFor({it}) as {gen.target.id}:")
                self.items.add(gen.target.id)
            inner = pad + "    " * len(value.generators)
            lines.append(f"{inner}{target.id} = {self.call(value.elt)}")
            self.env[target.id] = f"dsl.Collected({target.id}.output)"
            self.tasks[target.id] = target.id
            return lines
        assert isinstance(value, ast.Call)
        if isinstance(target, ast.Tuple):
            task = "t_" + "_".join(_name(e) for e in target.elts)
            callee = self.steps.get(_name(value))
            if callee is None:
                raise Unsupported("a sub-pipeline returning several values")
            labels = [ast.literal_eval(el.slice.elts[1]) for el in callee.returns.slice.elts]  # type: ignore[union-attr, attr-defined]
            for e, label in zip(target.elts, labels, strict=True):
                self.env[_name(e)] = f"{task}.outputs[{label!r}]"
                self.tasks[_name(e)] = task
            return [f"{pad}{task} = {self.call(value)}"]
        assert isinstance(target, ast.Name)
        line = f"{pad}{target.id} = {self.call(value)}"
        self.env[target.id] = f"{target.id}.output"
        self.tasks[target.id] = target.id
        return [line]

    def call(self, c: ast.Call) -> str:
        callee = _name(c)
        fn = self.steps.get(callee) or self.pipelines[callee]
        names = [a.arg for a in fn.args.args]
        args = [f"{names[i]}={self.expr(a)}" for i, a in enumerate(c.args)]
        after = ""
        for kw in c.keywords:
            if kw.arg == "after":
                assert isinstance(kw.value, ast.List)
                after = f".after({', '.join(self.tasks[_name(e)] for e in kw.value.elts)})"
            else:
                args.append(f"{kw.arg}={self.expr(kw.value)}")
        return f"{callee}({', '.join(args)}){after}{self.methods(callee)}"

    def expr(self, node: ast.expr) -> str:
        renderer = self

        class _Reads(ast.NodeTransformer):
            def visit_Name(self, n: ast.Name) -> ast.expr:
                if n.id in renderer.env:
                    return ast.parse(renderer.env[n.id], mode="eval").body
                return n

            def visit_Subscript(self, n: ast.Subscript) -> ast.expr:
                if (
                    isinstance(n.value, ast.Name)
                    and n.value.id in renderer.items
                    and isinstance(n.slice, ast.Constant)
                    and isinstance(n.slice.value, str)
                    and n.slice.value.isidentifier()
                ):
                    return ast.Attribute(value=n.value, attr=n.slice.value, ctx=ast.Load())
                self.generic_visit(n)
                return n

        return ast.unparse(_Reads().visit(ast.parse(ast.unparse(node), mode="eval")).body)


def render_kfp(source: str) -> str:
    """The generated portaflow pipeline written in the KFP v2 DSL."""
    tree = ast.parse(source)
    return _Renderer(tree).module(tree, source)


def graph(p: ir.Pipeline) -> tuple[list[str], list[tuple[str, str, str]]]:
    return sorted(t.id for t in p.tasks), sorted((e.source, e.target, e.kind) for e in p.edges)


def _compile(text: str) -> ir.Pipeline:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "pipeline.py"
        f.write_text(text, encoding="utf-8")
        return compile_file(f, root=tmp)


@SETTINGS
# The round-1 language: the renderer writes what KFP v2 DSL pipelines said before issue 13.
@given(pipelines(round1=True))
def test_random_kfp_pipelines_migrate_to_the_same_graph(gen: GeneratedPipeline) -> None:
    try:
        kfp_source = render_kfp(gen.source)
    except Unsupported:
        reject()
    result = migrate(kfp_source, "pipeline.py")
    shown = "\n".join(d.render() for d in result.diagnostics)
    assert result.complete, f"{shown}\n{kfp_source}"
    assert "kfp" not in result.code, result.code
    migrated = _compile(result.code)
    # The strategy's model is the original's IR graph: its tasks and typed edges.
    expected = sorted(gen.tasks), sorted(gen.typed_edges)
    assert graph(migrated) == expected, f"{kfp_source}\n{result.code}"
