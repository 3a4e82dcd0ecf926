"""Random IR pipelines (chains, fan-out, fan-in, conditions, after=) compile to valid Argo whose graph is the IR's."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
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


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_random_pipelines(p: ir.Pipeline) -> None:
    result = emit(p, options=EmitOptions())
    (doc,) = check_result(result)
    check_depends(p, doc)
    # Every literal survives exactly: the YAML parses back to the JSON text of the value.
    assert yaml.safe_load(result.files[0].text) == doc
    assert emit(p, options=EmitOptions()) == result
