"""Property tests: random valid pipelines compile to exactly their DAG; mutations never crash."""

from __future__ import annotations

import random
import re
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from portaflow.compiler import ir, irjson
from portaflow.compiler.frontend import Result, analyze
from portaflow.compiler.graph import dependency_pairs
from strategies import GeneratedPipeline, pipelines, projects


def _compile(source: str) -> object:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "pipeline.py"
        f.write_text(source)
        return analyze(f, root=tmp)


def _compile_project(gen: GeneratedPipeline) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        return analyze(gen.write(Path(tmp)), root=tmp)


def assert_intended_dag(p: ir.Pipeline, gen: GeneratedPipeline) -> None:
    """The compiled IR is exactly the DAG the strategy built: tasks, edges, loops, conditions."""
    src = "\n\n" + "\n".join(f"# {k}\n{v}" for k, v in gen.files.items())
    assert {t.id for t in p.tasks} == gen.tasks, src
    assert {(e.source, e.target, e.kind) for e in p.edges} == gen.typed_edges, src
    assert dependency_pairs(p) == gen.edges, src
    by_id = {t.id: t for t in p.tasks}
    assert {tid: t.loop for tid, t in by_id.items()} == gen.task_loop, src
    assert {lp.id: (lp.items, lp.parent) for lp in p.loops} == gen.loops, src
    assert {tid: t.condition for tid, t in by_id.items() if t.condition} == gen.conditions, src
    assert {tid: t.hook for tid, t in by_id.items() if t.hook} == gen.hooks, src
    assert {tid: t.scope for tid, t in by_id.items()} == gen.scopes, src
    assert {tid: t.step for tid, t in by_id.items()} == gen.step_refs, src
    assert {lp.id: lp.parallelism for lp in p.loops if lp.parallelism} == gen.parallelism, src
    assert [(o.name, o.binding) for o in p.outputs] == gen.outputs, src
    assert {t.id for t in p.tasks if t.loop} == gen.looped
    assert {t.id for t in p.tasks if t.condition} == gen.conditional
    # Hooks come last and have no edges (docs/CONTRACTS.md).
    hooks = [t.id for t in p.tasks if t.hook]
    assert [t.id for t in p.tasks][len(p.tasks) - len(hooks) :] == hooks
    assert not {e.source for e in p.edges} & set(hooks)
    assert not {e.target for e in p.edges} & set(hooks)


def assert_ir_invariants(p: ir.Pipeline) -> None:
    """What docs/CONTRACTS.md promises backends about every IR."""
    import networkx as nx

    tasks = {t.id: t for t in p.tasks}
    loops = {lp.id: lp for lp in p.loops}
    params = {prm.name for prm in p.params}
    steps = {s.ref: s for s in p.steps}
    assert len(tasks) == len(p.tasks) and len(loops) == len(p.loops)
    main = [t.id for t in p.tasks if t.hook is None]
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(main)
    g.add_edges_from((e.source, e.target) for e in p.edges)
    assert set(g.nodes) == set(main), "an edge names a task that is not an ordinary task"
    assert main == list(nx.lexicographical_topological_sort(g)), "tasks are not in topo order"
    assert {t.step for t in p.tasks} == set(steps)

    def chain(loop: str | None) -> list[str]:
        out = []
        while loop is not None:
            out.append(loop)
            loop = loops[loop].parent
        return out

    def check(b: ir.Binding, where: list[str]) -> None:
        match b:
            case ir.ParamRef(param=name):
                assert name in params
            case ir.TaskOutput(task=t, output=o):
                assert o in {out.name for out in steps[tasks[t].step].outputs}
            case ir.Gathered(task=t, output=o, loop=lp):
                assert lp in chain(tasks[t].loop) and lp not in where
                assert o in {out.name for out in steps[tasks[t].step].outputs}
            case ir.LoopItem(loop=lp):
                assert lp in where
            case ir.Literal():
                pass
            case ir.OneOf(options=opts):
                assert len(opts) >= 2
                for o in opts:
                    check(o, where)

    for lp in p.loops:
        check(lp.items, chain(lp.parent))
    for t in p.tasks:
        if t.scope:
            assert t.id.startswith(t.scope[-1] + "."), t.id
        names = [i.name for i in steps[t.step].inputs]
        assert [b.name for b in t.inputs] == [n for n in names if n in {b.name for b in t.inputs}]
        for b in t.inputs:
            check(b.binding, chain(t.loop))
            if b.kind == "artifact":
                assert isinstance(b.binding, (ir.TaskOutput, ir.Gathered, ir.OneOf)), (t.id, b)
        if t.condition is not None:
            for b in ir.condition_bindings(t.condition):
                check(b, chain(t.loop))
        for a in t.after:
            assert a in tasks
    for span in [p.span, *(t.span for t in p.tasks), *(s.span for s in p.steps)]:
        assert not span.path.startswith("/") and "\\" not in span.path, span


@given(projects())
def test_valid_pipelines_compile_to_their_dag(gen: GeneratedPipeline) -> None:
    result = _compile_project(gen)
    errors = [d.render() for d in result.errors]
    assert not errors, "\n".join(errors) + "\n\n" + "\n".join(gen.files.values())
    p = result.pipeline
    assert p is not None
    assert_intended_dag(p, gen)
    assert_ir_invariants(p)
    # Deterministic and round-trippable.
    text = irjson.dumps(p)
    again = _compile_project(gen).pipeline
    assert again is not None and irjson.dumps(again) == text
    assert irjson.loads(text) == p


@given(pipelines())
def test_single_file_pipelines_are_their_source(gen: GeneratedPipeline) -> None:
    """`pipelines()` keeps every step in pipeline.py: `.source` alone compiles."""
    assert set(gen.files) == {"pipeline.py", "pyproject.toml"} and not gen.argo_errors
    result = _compile(gen.source)
    assert not result.errors, "\n".join(d.render() for d in result.errors) + gen.source  # type: ignore[attr-defined]
    assert result.pipeline is not None  # type: ignore[attr-defined]
    assert_intended_dag(result.pipeline, gen)  # type: ignore[attr-defined]


_INSERTS = [
    "while v1:\n    pass",
    "try:\n    pass\nexcept Exception:\n    pass",
    "x = v1 + 1",
    "import os",
    "v1.attr",
    "print(v1)",
    "s1(*v1)",
    "s1(**v1)",
    "lambda: 1",
    "for a in v1:\n    for b in a:\n        for c in b:\n            s1(c)",
    "return v1",
    "if v1 is 3:\n    pass",
    "y = f'{v1}'",
    "z = [s1(q) for q in range(v1)]",
    "with x:\n    pass",
    "v1, v2, v3, v4 = s1()",
    "generated()",
    "async def f():\n    pass",
    "yield v1",
    "del v1",
    "s1(after=[nope])",
    "s1(after=v1 + 1)",
    "global g",
    "@step\ndef q(): pass",
]


def _mutate(source: str, rnd: random.Random) -> str:
    lines = source.split("\n")
    kind = rnd.choice(["delete", "swap", "insert", "duplicate", "replace", "truncate"])
    tokens = list(re.finditer(r"\w+|[^\w\s]", source))
    if kind == "delete" and tokens:
        t = rnd.choice(tokens)
        return source[: t.start()] + source[t.end() :]
    if kind == "swap":
        names = [t for t in tokens if t.group().isidentifier()]
        if len(names) >= 2:
            a, b = sorted(rnd.sample(names, 2), key=lambda m: m.start())
            return (
                source[: a.start()]
                + b.group()
                + source[a.end() : b.start()]
                + a.group()
                + source[b.end() :]
            )
    if kind == "insert":
        body_start = next((i for i, ln in enumerate(lines) if ln.startswith("def generated")), 0)
        at = rnd.randint(body_start + 1, len(lines))
        stmt = rnd.choice(_INSERTS)
        indent = "    " * rnd.choice([1, 1, 1, 2, 0])
        block = "\n".join(indent + s for s in stmt.split("\n"))
        return "\n".join(lines[:at] + [block] + lines[at:])
    if kind == "duplicate" and lines:
        i = rnd.randrange(len(lines))
        return "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if kind == "replace" and tokens:
        t = rnd.choice(tokens)
        new = rnd.choice(["None", "1", "'s'", "s1", "v1", "p_list", "(", ":", "generated", "step"])
        return source[: t.start()] + new + source[t.end() :]
    if kind == "truncate":
        return source[: rnd.randrange(len(source) + 1)]
    return source


@given(pipelines(max_steps=6), st.randoms(use_true_random=False), st.integers(1, 3))
def test_mutated_pipelines_give_diagnostics_never_exceptions(
    gen: GeneratedPipeline, rnd: random.Random, rounds: int
) -> None:
    source = gen.source
    for _ in range(rounds):
        source = _mutate(source, rnd)
    result = _compile(source)  # analyze never raises; a crash would surface as PF001
    codes = [d.code for d in result.diagnostics]  # type: ignore[attr-defined]
    assert "PF001" not in codes, "\n".join(d.render() for d in result.diagnostics) + "\n\n" + source  # type: ignore[attr-defined]
    if result.pipeline is None:  # type: ignore[attr-defined]
        assert result.errors, source  # type: ignore[attr-defined]
        for d in result.errors:  # type: ignore[attr-defined]
            assert d.message and d.code.startswith("PF")
