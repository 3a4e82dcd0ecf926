"""The local runner executes every IR construct: parallelism, fan-out/in, conditions, after=, hooks."""

from __future__ import annotations

from pathlib import Path

from irkit import Builder, lit, out, param, step
from localkit import Runner, assert_ok, counts
from portaflow.compiler import ir

CONST = step("steps:const", {"value": "int"}, {"output": "int"})
SLEEP = step("steps:sleep", {"seconds": "float"}, {"output": "float"})
ADD = step("steps:add", {"a": "int", "b": "int"}, {"output": "int"})
MAKE = step("steps:make", {"n": "int"}, {"output": "list[int]"})
SQUARE = step("steps:square", {"x": "int"}, {"output": "int"})
TOTAL = step("steps:total", {"xs": "list[int]"}, {"output": "int"})
ECHO = step("steps:echo", {"value": "any"}, {"output": "any"})
IS_BIG = step("steps:is_big", {"x": "int"}, {"output": "bool"})
NOTE = step("steps:note", {"text": "str"}, {"output": "str"})
BLOB = step("steps:blob", {"x": "int"}, {"output": "bytes"})
BLOB_SIZE = step("steps:blob_size", {"data": "bytes"}, {"output": "int"})
CONCAT = step("steps:concat", {"parts": "list[bytes]"}, {"output": "bytes"})


def _overlap(a: dict, b: dict) -> bool:
    return a["started"] < b["finished"] and b["started"] < a["finished"]


def test_independent_steps_overlap(run: Runner, store) -> None:
    # `meet` returns only when the other step is running too: no timing assumption.
    meet = step("steps:meet", {"me": "str", "other": "str"}, {"output": "str"})
    b = Builder()
    b.task("a", meet, {"me": lit("a"), "other": lit("b")})
    b.task("b", meet, {"me": lit("b"), "other": lit("a")})
    b.task("c", ECHO, {"value": out("a")})
    result = run(b.build(), workers=2)
    assert_ok(result)
    assert result.execution("c").outputs["output"] == {"param": "a"}
    with store() as st:
        rows = {e["key"]: e for e in st.executions(result.run_id)}
    assert _overlap(rows["a"], rows["b"])  # ran at the same time
    assert rows["c"]["started"] >= rows["a"]["finished"]  # waited for its input


def test_one_worker_runs_one_at_a_time(run: Runner, store) -> None:
    b = Builder()
    b.task("a", SLEEP, {"seconds": lit(0.2)})
    b.task("b", SLEEP, {"seconds": lit(0.3)})
    result = run(b.build(), workers=1)
    with store() as st:
        rows = {e["key"]: e for e in st.executions(result.run_id)}
    assert not _overlap(rows["a"], rows["b"])


def test_static_fanout_over_literal_and_param_then_fan_in(run: Runner) -> None:
    b = Builder(params={"xs": ("list[int]", [1, 2, 3])})
    b.loop("loop_1", lit([4, 5]))
    b.task("square", SQUARE, {"x": ir.LoopItem(loop="loop_1")}, loop="loop_1")
    b.loop("loop_2", param("xs"))
    b.task("square_2", SQUARE, {"x": ir.LoopItem(loop="loop_2")}, loop="loop_2")
    b.task("total", TOTAL, {"xs": ir.Gathered(task="square", output="output", loop="loop_1")})
    b.task("total_2", TOTAL, {"xs": ir.Gathered(task="square_2", output="output", loop="loop_2")})
    result = run(b.build(), params={"xs": [1, 2, 3, 4]})
    assert_ok(result)
    assert result.execution("total").outputs["output"] == {"param": 41}
    assert result.execution("total_2").outputs["output"] == {"param": 30}
    assert result.execution("square_2[3]").inputs == {"x": {"param": 4}}


def test_dynamic_fanout_nested_two_levels(run: Runner) -> None:
    """for i in make(n): for j in make(i): add(i, j) — inner list from a task inside the outer loop."""
    b = Builder()
    b.task("make", MAKE, {"n": lit(3)})
    b.loop("outer", out("make"))
    b.task("make_2", MAKE, {"n": ir.LoopItem(loop="outer")}, loop="outer")
    b.loop("inner", out("make_2"), parent="outer")
    b.task(
        "add", ADD, {"a": ir.LoopItem(loop="outer"), "b": ir.LoopItem(loop="inner")}, loop="inner"
    )
    b.task("gather", ECHO, {"value": ir.Gathered(task="add", output="output", loop="outer")})
    result = run(b.build())
    assert_ok(result)
    # outer item 0 has an empty inner list; 1 -> [1]; 2 -> [2, 3]; gathered flat, in item order
    assert result.execution("gather").outputs["output"] == {"param": [1, 2, 3]}
    assert result.execution("add[2,1]").inputs == {"a": {"param": 2}, "b": {"param": 1}}


def test_nested_loop_over_field_of_outer_item(run: Runner) -> None:
    rows = [{"name": "a", "xs": [1, 2]}, {"name": "b", "xs": [3]}]
    b = Builder()
    b.loop("outer", lit(rows))
    b.loop("inner", ir.LoopItem(loop="outer", path=("xs",)), parent="outer")
    b.task("square", SQUARE, {"x": ir.LoopItem(loop="inner")}, loop="inner")
    b.task("note", NOTE, {"text": ir.LoopItem(loop="outer", path=("name",))}, loop="outer")
    b.task("total", TOTAL, {"xs": ir.Gathered(task="square", output="output", loop="outer")})
    result = run(b.build())
    assert_ok(result)
    assert result.execution("total").outputs["output"] == {"param": 14}
    assert result.execution("note[1]").outputs["output"] == {"param": "b"}


def test_artifacts_fan_out_and_fan_in(run: Runner, project: Path, store) -> None:
    b = Builder()
    b.task("make", MAKE, {"n": lit(3)})
    b.loop("loop_1", out("make"))
    b.task("blob", BLOB, {"x": ir.LoopItem(loop="loop_1")}, loop="loop_1")
    b.task("blob_size", BLOB_SIZE, {"data": out("blob")}, loop="loop_1")
    b.task("concat", CONCAT, {"parts": ir.Gathered(task="blob", output="output", loop="loop_1")})
    b.task("size", BLOB_SIZE, {"data": out("concat")})
    result = run(b.build())
    assert_ok(result)
    assert result.execution("blob_size[2]").outputs["output"] == {"param": 3}
    assert result.execution("size").outputs["output"] == {"param": 6}
    uri = result.execution("concat").outputs["output"]["artifact"]
    assert Path(uri).is_relative_to(project / ".portaflow" / "artifacts")
    with store() as st:
        lineage = st.lineage(result.run_id)
        arts = {f"{a['execution']}.{a['name']}": a for a in st.artifacts(result.run_id)}
    consumed = [
        row for row in lineage if row["execution"] == "concat" and row["direction"] == "input"
    ]
    assert len(consumed) == 3  # the three blobs, each an edge artifact -> task
    assert arts["concat.output"]["size"] == 6 and arts["concat.output"]["sha256"]


def test_conditions_take_one_branch(run: Runner, project: Path) -> None:
    b = Builder(params={"mode": ("str", "fast")})
    b.task("const", CONST, {"value": lit(42)})
    b.task("is_big", IS_BIG, {"x": out("const")})
    big = ir.Truthy(value=out("is_big"))
    b.task("note", NOTE, {"text": lit("big")}, condition=big)
    b.task("note_2", NOTE, {"text": lit("small")}, condition=ir.Not(operand=big))
    fast = ir.Compare(left=param("mode"), op="==", right=lit("fast"))
    b.task("note_3", NOTE, {"text": lit("fast")}, condition=ir.All(operands=(big, fast)))
    b.task("echo", ECHO, {"value": out("note_2")})  # consumes the untaken branch: skipped too
    b.task("after_all", ECHO, {"value": lit(1)}, after=["note_2"])  # order-only: still runs
    result = run(b.build())
    assert_ok(result)
    states = {e.key: e.state for e in result.executions}
    assert states == {
        "const": "succeeded",
        "is_big": "succeeded",
        "note": "succeeded",
        "note_2": "skipped",
        "note_3": "succeeded",
        "echo": "skipped",
        "after_all": "succeeded",
    }
    assert counts(project, "note-small") == 0
    result = run(b.build(), params={"mode": "slow"})
    assert result.execution("note_3").state == "skipped"


def test_after_orders_without_data(run: Runner, store) -> None:
    b = Builder()
    b.task("sleep", SLEEP, {"seconds": lit(0.5)})
    b.task("const", CONST, {"value": lit(1)}, after=["sleep"])
    result = run(b.build())
    with store() as st:
        rows = {e["key"]: e for e in st.executions(result.run_id)}
    assert rows["const"]["started"] >= rows["sleep"]["finished"]


def test_exit_hook_runs_and_failure_hook_is_skipped_on_success(run: Runner) -> None:
    b = Builder()
    b.task("const", CONST, {"value": lit(1)})
    b.task("cleanup", NOTE, {"text": lit("exit")}, hook="exit")
    b.task("alert", NOTE, {"text": lit("failure")}, hook="failure")
    result = run(b.build())
    assert_ok(result)
    assert result.execution("cleanup").state == "succeeded"
    assert result.execution("alert").state == "skipped"


def test_live_progress_and_plain_lines(run: Runner) -> None:
    import io

    from rich.console import Console

    from portaflow.backends.local.progress import LineReporter, RichReporter

    b = Builder()
    b.loop("loop_1", lit([1, 2]))
    b.task("square", SQUARE, {"x": ir.LoopItem(loop="loop_1")}, loop="loop_1")
    screen = io.StringIO()
    assert_ok(
        run(b.build(), reporter=RichReporter(Console(file=screen, force_terminal=True, width=120)))
    )
    assert "square[1]" in screen.getvalue() and "succeeded" in screen.getvalue()
    lines = io.StringIO()
    assert_ok(run(b.build(), reporter=LineReporter(lines)))
    assert "square[0] cached: reused" in lines.getvalue()
