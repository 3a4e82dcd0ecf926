"""Property: random TaskFlow DAGs migrate to pipelines with the IR graph of the pipeline they came from.

Hypothesis draws a pipeline within what TaskFlow can say (`taskflow_pipelines()`
of tests/strategies.py: step calls, several outputs, comprehensions, `after=`,
hostile strings); `render_taskflow` below writes the same pipeline the way an
Airflow user would (`@dag`, `@task(multiple_outputs=True)`, `r["key"]`,
`t.partial(...).expand(...)`, `[a, b] >> c`). Migrating that file must give a
pipeline whose IR has the original's tasks, edges (kind and data labels) and
loop nesting. Example count: the hypothesis profile's (tests/conftest.py).
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import assume, given

from portaflow.compiler import ir
from portaflow.compiler.frontend import analyze
from portaflow.compiler.migrate.airflow import migrate
from strategies import GeneratedPipeline, taskflow_pipelines


class Unrenderable(Exception):
    """A drawn construct TaskFlow has no spelling for (a loop over an item's field, ...)."""


def _outputs(fn: ast.FunctionDef) -> list[str] | None:
    """Output names of a step returning a `tuple[Annotated[T, "name"], ...]`, else None."""
    ann = fn.returns
    if not (isinstance(ann, ast.Subscript) and ast.unparse(ann.value) == "tuple"):
        return None
    elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
    return [e.slice.elts[1].value for e in elts]  # type: ignore[attr-defined]


_PLACEHOLDER = {"int": "0", "str": '""', "Blob": "Blob()"}


def _task_def(fn: ast.FunctionDef) -> str:
    """`@step(...)` -> `@task(...)`; several outputs -> `multiple_outputs=True` and a dict."""
    options = []
    for deco in fn.decorator_list:
        if isinstance(deco, ast.Call):
            for kw in deco.keywords:
                if kw.arg == "retries":
                    options.append(f"retries={ast.unparse(kw.value.keywords[0].value)}")  # type: ignore[attr-defined]
    outs = _outputs(fn)
    if outs is not None:
        types = [ast.unparse(e.slice.elts[0]) for e in fn.returns.slice.elts]  # type: ignore[union-attr,attr-defined]
        options.append("multiple_outputs=True")
        values = ", ".join(f'"{o}": {_PLACEHOLDER[t]}' for o, t in zip(outs, types, strict=True))
        fn.returns = None
        fn.body = [*fn.body[:-1], ast.parse(f"return {{{values}}}").body[0]]
    fn.decorator_list = [
        ast.parse(f"task({', '.join(options)})" if options else "task").body[0].value
    ]  # type: ignore[attr-defined]
    return ast.unparse(fn)


class _Body:
    def __init__(self, steps: dict[str, ast.FunctionDef], outs: dict[str, list[str]]) -> None:
        self.steps = steps
        self.outs = outs
        self.lines: list[str] = []
        self.multi: dict[str, tuple[str, str]] = {}  # name -> (result name, output key)
        self.n = 0

    def expr(self, node: ast.expr) -> str:
        multi = self.multi

        class _Sub(ast.NodeTransformer):
            def visit_Name(self, n: ast.Name) -> ast.AST:
                if n.id in multi:
                    r, key = multi[n.id]
                    return ast.Subscript(ast.Name(r), ast.Constant(key))
                return n

        return ast.unparse(_Sub().visit(node))

    def handle(self, name: str) -> str:
        return self.multi[name][0] if name in self.multi else name

    def depend(self, after: list[str], target: str) -> None:
        if after:
            self.lines.append(f"[{', '.join(after)}] >> {target}")

    def split(self, call: ast.Call) -> tuple[str, list[str], list[ast.expr], list[ast.keyword]]:
        after = []
        keywords = []
        for kw in call.keywords:
            if kw.arg == "after":
                after = [self.handle(e.id) for e in kw.value.elts]  # type: ignore[attr-defined]
            else:
                keywords.append(kw)
        return call.func.id, list(dict.fromkeys(after)), call.args, keywords  # type: ignore[attr-defined]

    def call(self, call: ast.Call, target: ast.expr | None) -> None:
        fn, after, args, keywords = self.split(call)
        parts = [self.expr(a) for a in args] + [f"{k.arg}={self.expr(k.value)}" for k in keywords]
        text = f"{fn}({', '.join(parts)})"
        if isinstance(target, ast.Tuple):
            self.n += 1
            result = f"r{self.n}"
            outs = self.outs[fn]
            for e, key in zip(target.elts, outs, strict=True):
                self.multi[e.id] = (result, key)  # type: ignore[attr-defined]
            self.lines.append(f"{result} = {text}")
            self.depend(after, result)
        elif isinstance(target, ast.Name):
            self.lines.append(f"{target.id} = {text}")
            self.depend(after, target.id)
        elif after:
            self.lines.append(f"[{', '.join(after)}] >> {text}")
        else:
            self.lines.append(text)

    def comprehension(self, comp: ast.ListComp, target: str) -> None:
        fn, after, args, keywords = self.split(comp.elt)  # type: ignore[arg-type]
        params = [a.arg for a in self.steps[fn].args.args]
        named = [(params[i], a) for i, a in enumerate(args)] + [(k.arg, k.value) for k in keywords]
        loops = {g.target.id: g for g in comp.generators}  # type: ignore[attr-defined]
        mapped: dict[str, str] = {}
        fixed = []
        for name, value in named:
            if (
                isinstance(value, ast.Name)
                and value.id in loops
                and value.id not in mapped.values()
            ):
                mapped[name] = value.id
            elif any(isinstance(n, ast.Name) and n.id in loops for n in ast.walk(value)):
                raise Unrenderable("a loop item used other than as an argument")
            else:
                fixed.append(f"{name}={self.expr(value)}")
        if sorted(mapped.values()) != sorted(loops):
            raise Unrenderable("a loop whose item no argument takes")
        expand = []
        for g in comp.generators:
            items = g.iter
            if isinstance(items, ast.Call):  # range(n)
                items = ast.List([ast.Constant(i) for i in range(items.args[0].value)])  # type: ignore[attr-defined]
            if any(isinstance(n, ast.Name) and n.id in loops for n in ast.walk(items)):
                raise Unrenderable("a loop over a field of the outer item")
            key = next(k for k, v in mapped.items() if v == g.target.id)  # type: ignore[attr-defined]
            expand.append(f"{key}={self.expr(items)}")
        head = f"{fn}.partial({', '.join(fixed)})" if fixed else fn
        self.lines.append(f"{target} = {head}.expand({', '.join(expand)})")
        self.depend(after, target)


def render_taskflow(gen: GeneratedPipeline) -> str:
    """The generated pipeline as an Airflow TaskFlow DAG file."""
    tree = ast.parse(gen.source)
    steps: dict[str, ast.FunctionDef] = {}
    outs: dict[str, list[str]] = {}
    out = [
        '"""A generated TaskFlow DAG."""',
        "",
        "from typing import Annotated",
        "",
        "from airflow.sdk import dag, task",
        "",
        "",
        "class Blob:",
        '    """An artifact type."""',
        "",
    ]
    dag_fn = None
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        if node.name == "generated":
            dag_fn = node
            continue
        steps[node.name] = node
        outs[node.name] = _outputs(node) or []
        out += ["", _task_def(node), ""]
    assert dag_fn is not None
    body = _Body(steps, outs)
    for stmt in dag_fn.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            body.lines.append(ast.unparse(stmt))
        elif isinstance(stmt, ast.Pass):
            body.lines.append("pass")
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            body.call(stmt.value, None)
        elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            body.call(stmt.value, stmt.targets[0])
        elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.ListComp):
            body.comprehension(stmt.value, stmt.targets[0].id)  # type: ignore[attr-defined]
        else:
            raise AssertionError(f"not a TaskFlow construct: {ast.unparse(stmt)}")
    name = next(
        (k for d in dag_fn.decorator_list if isinstance(d, ast.Call) for k in d.keywords), None
    )
    deco = f"@dag(dag_id={ast.unparse(name.value)})" if name else "@dag(schedule=None)"
    dag_fn.decorator_list = []
    dag_fn.body = [ast.Pass()]
    head = ast.unparse(dag_fn).splitlines()[0]
    out += ["", deco, head, *(f"    {line}" for line in body.lines), "", "", "generated()", ""]
    return "\n".join(out)


def _compile(source: str) -> tuple[ir.Pipeline | None, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pipeline.py"
        path.write_text(source, encoding="utf-8")
        result = analyze(path, root=tmp)
    return result.pipeline, [d.render() for d in result.errors]


def _labels(e: ir.Edge) -> tuple[str, ...]:
    """Data labels of an edge; a loop edge's name its items' output only (not the loop variable)."""
    if e.kind == "loop":
        return tuple(label.split("->")[0] for label in e.labels)
    return e.labels


def graph(p: ir.Pipeline) -> dict[str, Any]:
    """Tasks, edges (kind and data labels) and loop depth: what must survive the round trip."""
    return {
        "tasks": sorted(t.id for t in p.tasks),
        "steps": sorted((t.id, t.step) for t in p.tasks),
        "edges": sorted((e.source, e.target, e.kind, _labels(e)) for e in p.edges),
        "loops": sorted((t.id, len(p.loop_chain(t.loop)) if t.loop else 0) for t in p.tasks),
    }


@given(taskflow_pipelines())
def test_taskflow_pipelines_migrate_to_the_same_graph(gen: GeneratedPipeline) -> None:
    try:
        dag_file = render_taskflow(gen)
    except Unrenderable:
        assume(False)
        return
    result = migrate(dag_file, "dag.py")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    # A literal argument with `{{` is a Jinja template to Airflow: left, with a located PF871.
    assert all(d.code == "PF871" and d.line > 0 for d in errors), [d.render() for d in errors]
    original, why = _compile(gen.source)
    assert original is not None, why
    migrated, why = _compile(result.code)
    assert migrated is not None, (why, dag_file, result.code)
    assert graph(migrated) == graph(original), (dag_file, result.code)
