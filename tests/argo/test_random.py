"""Random IR pipelines (chains, fan-out, fan-in, conditions, after=) compile to valid Argo whose graph is the IR's."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from portaflow.backends import EmitOptions
from portaflow.backends.argo import emit
from portaflow.compiler import ir

from . import fixtures as fx
from .checks import check_result
from .test_emit import check_depends

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
JSONS = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def pipelines(draw: st.DrawFn) -> ir.Pipeline:
    produce = fx.step("produce", {"x": "any"}, {"output": "int", "data": "pandas.DataFrame"})
    consume = fx.step("consume", {"df": "pandas.DataFrame", "v": "any"}, {"output": "int"})
    gather = fx.step("gather", {"vs": "any"})
    n = draw(st.integers(1, 8))
    tasks: list[ir.Task] = []
    loops: list[ir.Loop] = []
    for i in range(n):
        tid = f"t{i}"
        if not tasks or draw(st.booleans()):
            lit = draw(JSONS)
            tasks.append(fx.task(tid, produce, fx.bind("x", ir.Literal(value=lit))))
            continue
        src = draw(
            st.sampled_from(
                [t for t in tasks if t.loop is None and t.step == produce.ref] or [tasks[0]]
            )
        )
        if src.step != produce.ref:
            tasks.append(fx.task(tid, produce, fx.bind("x", ir.Literal(value=i))))
            continue
        after = tuple(
            sorted(
                {
                    t.id
                    for t in draw(
                        st.lists(st.sampled_from([t for t in tasks if t.loop is None]), max_size=2)
                    )
                }
                - {src.id}
            )
        )
        cond = None
        if draw(st.booleans()):
            cond = ir.Compare(
                left=ir.TaskOutput(task=src.id, output="output"),
                op=draw(st.sampled_from(["==", "<", "in"])),
                right=ir.Literal(value=draw(JSONS)),
            )
        if draw(st.booleans()):
            lid = f"loop_{len(loops) + 1}"
            items: ir.Binding = (
                ir.Literal(value=draw(st.lists(JSONS, max_size=3)))
                if draw(st.booleans())
                else ir.TaskOutput(task=src.id, output="output")
            )
            loops.append(ir.Loop(id=lid, var="it", items=items, span=fx.span(9)))
            tasks.append(
                fx.task(
                    tid,
                    consume,
                    fx.bind("df", ir.TaskOutput(task=src.id, output="data"), "artifact"),
                    fx.bind("v", ir.LoopItem(loop=lid)),
                    loop=lid,
                    after=after,
                )
            )
            tasks.append(
                fx.task(
                    f"{tid}_g",
                    gather,
                    fx.bind("vs", ir.Gathered(task=tid, output="output", loop=lid)),
                    condition=cond,
                )
            )
        else:
            tasks.append(
                fx.task(
                    tid,
                    consume,
                    fx.bind("df", ir.TaskOutput(task=src.id, output="data"), "artifact"),
                    fx.bind("v", ir.TaskOutput(task=src.id, output="output")),
                    condition=cond,
                    after=after,
                )
            )
    return fx.pipeline(
        "random",
        [produce, consume, gather],
        tasks,
        loops=loops,
        params=[fx.param("p", "str", draw(TEXT))],
    )


@given(pipelines())
def test_random_pipelines(p: ir.Pipeline) -> None:
    result = emit(p, options=EmitOptions())
    (doc,) = check_result(result)
    check_depends(p, doc)
    # Every literal survives exactly: each task's `x` argument decodes to the IR literal.
    root = next(t for t in doc["spec"]["templates"] if t["name"] == doc["spec"]["entrypoint"])
    for task in p.tasks:
        lit = next((b.binding for b in task.inputs if isinstance(b.binding, ir.Literal)), None)
        if lit is None or task.loop is not None:
            continue
        node = next(
            n
            for n in root["dag"]["tasks"]
            if {"name": "portaflow-task", "value": task.id} in n["arguments"]["parameters"]
        )
        (arg,) = [a for a in node["arguments"]["parameters"] if a["name"] == "x"]
        assert json.loads(arg["value"]) == lit.value
    assert emit(p, options=EmitOptions()) == result
