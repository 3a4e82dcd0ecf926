"""Targeted IR checks of language features beyond the golden examples."""

from __future__ import annotations

from pathlib import Path

from portaflow.compiler import compile_file, ir


def _compile(tmp_path: Path, source: str) -> ir.Pipeline:
    f = tmp_path / "pipeline.py"
    f.write_text(source)
    return compile_file(f, root=tmp_path)


STEPS = """
from typing import Annotated
from portaflow import pipeline, step

@step
def a(x: int) -> int:
    return x

@step
def b(x: int) -> str:
    return str(x)

@step
def c(x: int, y: str) -> None:
    print(x, y)
"""


def test_sub_pipeline_returning_a_tuple_is_unpacked(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        STEPS
        + """
@pipeline
def inner(n: int):
    return a(n), b(n)

@pipeline
def outer(n: int = 1):
    x, y = inner(n)
    c(x, y)
""",
    )
    assert [t.id for t in p.tasks] == ["inner.a", "inner.b", "c"]
    c = p.task("c")
    assert [i.binding for i in c.inputs] == [
        ir.TaskOutput(task="inner.a", output="output"),
        ir.TaskOutput(task="inner.b", output="output"),
    ]
    assert p.task("inner.a").scope == ("inner",)
    assert p.subpipelines[0].id == "inner"


def test_elif_else_conditions_are_exclusive(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        STEPS
        + """
@pipeline
def flow(n: int = 1, limit: int = 3):
    v = a(n)
    if v > limit:
        b(v)
    elif v == 0:
        c(v, "zero")
    else:
        a(limit)
""",
    )
    first = ir.Compare(
        left=ir.TaskOutput(task="a", output="output"), op=">", right=ir.ParamRef(param="limit")
    )
    second = ir.Compare(
        left=ir.TaskOutput(task="a", output="output"), op="==", right=ir.Literal(value=0)
    )
    assert p.task("b").condition == first
    assert p.task("c").condition == ir.All(operands=(ir.Not(operand=first), second))
    assert p.task("a_2").condition == ir.All(
        operands=(ir.Not(operand=first), ir.Not(operand=second))
    )


def test_hooks_bind_pipeline_parameters_by_name(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        STEPS
        + """
@step
def notify(table: str, retries: int = 1) -> None:
    pass

@pipeline(on_failure=notify, on_exit=notify)
def flow(table: str = "t"):
    a(1)
""",
    )
    hooks = {t.hook: t for t in p.hooks}
    assert set(hooks) == {"exit", "failure"}
    for t in hooks.values():
        assert [i.binding for i in t.inputs] == [ir.ParamRef(param="table")]
    assert not [e for e in p.edges if e.target in {h.id for h in p.hooks}]


def test_hook_input_named_like_a_body_variable_keeps_its_default(tmp_path: Path) -> None:
    # Was a raw KeyError in `compile --target argo` and `run`: the hook was bound to the
    # body's variable `msg` as if it were a pipeline parameter.
    p = _compile(
        tmp_path,
        STEPS
        + """
@step
def bye(msg: str = "bye") -> None:
    pass

@pipeline(on_exit=bye)
def flow():
    msg = b(1)
    c(1, msg)
""",
    )
    (hook,) = p.hooks
    assert hook.inputs == ()
    assert {pr.name for pr in p.params} == set()


def test_module_constants_and_loop_item_fields(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        STEPS
        + """
REGIONS = ["eu", "us"]

@step
def d(cfg: dict, region: str) -> None:
    pass

@pipeline
def flow(rows: list[dict] = [{"r": "eu"}]):
    for region in REGIONS:
        for row in rows:
            d(row, row["r"])
""",
    )
    outer, inner = p.loops
    assert outer.items == ir.Literal(value=["eu", "us"])
    assert inner.parent == outer.id and inner.items == ir.ParamRef(param="rows")
    assert [i.binding for i in p.task("d").inputs] == [
        ir.LoopItem(loop=inner.id),
        ir.LoopItem(loop=inner.id, path=("r",)),
    ]


def test_repeated_calls_get_stable_unique_ids(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        STEPS
        + """
@pipeline
def flow(n: int = 1):
    x = a(n)
    y = a(x)
    a(y)
""",
    )
    assert [t.id for t in p.tasks] == ["a", "a_2", "a_3"]
