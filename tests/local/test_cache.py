"""Caching: code hash + input hashes + image; reuse, invalidation, opting out, dry runs."""

from __future__ import annotations

from pathlib import Path

from irkit import Builder, lit, out, param, step
from localkit import Runner, assert_ok, counts
from portaflow.compiler import ir

#: The cache tests run on the default folder and on moto's S3 (tests/local/conftest.py).
STORE_BACKENDS = ("local", "s3")

CONST = step("steps:const", {"value": "int"}, {"output": "int"})
SQUARE = step("steps:square", {"x": "int"}, {"output": "int"})
BLOB = step("steps:blob", {"x": "int"}, {"output": "bytes"})
BLOB_SIZE = step("steps:blob_size", {"data": "bytes"}, {"output": "int"})
MAKE = step("steps:make", {"n": "int"}, {"output": "list[int]"})


def _pipeline(square: ir.StepDef = SQUARE) -> ir.Pipeline:
    b = Builder(params={"x": ("int", 3)})
    b.task("const", CONST, {"value": param("x")})
    b.task("square", square, {"x": out("const")})
    b.task("blob", BLOB, {"x": out("square")})
    b.task("blob_size", BLOB_SIZE, {"data": out("blob")})
    return b.build()


def test_second_run_is_all_cache_hits(run: Runner, project: Path, store) -> None:
    first = run(_pipeline())
    assert_ok(first)
    second = run(_pipeline())
    assert_ok(second)
    assert {e.state for e in second.executions} == {"cached"}
    assert counts(project, "const") == 1 and counts(project, "blob") == 1
    assert second.execution("blob_size").outputs == first.execution("blob_size").outputs
    with store() as st:
        rows = {e["key"]: e for e in st.executions(second.run_id)}
        assert rows["blob"]["cache_hit"] == 1
        assert rows["blob"]["cached_from"] == f"{first.run_id}/blob"
        # the reused artifact is linked to the new run too
        assert [a["uri"] for a in st.artifacts(second.run_id)] == [
            a["uri"] for a in st.artifacts(first.run_id)
        ]


def test_changed_param_reruns_only_what_it_reaches(run: Runner, project: Path) -> None:
    assert_ok(run(_pipeline()))
    result = run(_pipeline(), params={"x": -3})
    assert_ok(result)
    # const runs again (new input); square gives 9 again, so everything after it is reused
    assert result.by_state("succeeded") == ["const", "square"]
    assert result.by_state("cached") == ["blob", "blob_size"]


def test_changed_code_hash_invalidates_the_step(run: Runner, project: Path) -> None:
    assert_ok(run(_pipeline()))
    changed = step("steps:square", {"x": "int"}, {"output": "int"}, code_hash="h2")
    result = run(_pipeline(changed))
    assert result.by_state("succeeded") == ["square"]
    assert counts(project, "square") == 2


def test_changed_image_invalidates_the_step(run: Runner) -> None:
    assert_ok(run(_pipeline()))
    imaged = step("steps:square", {"x": "int"}, {"output": "int"}, image="python:3.12")
    result = run(_pipeline(imaged))
    assert result.by_state("succeeded") == ["square"]


def test_no_cache_and_cache_false_run_again(run: Runner, project: Path) -> None:
    assert_ok(run(_pipeline()))
    assert_ok(run(_pipeline(), cache=False))
    assert counts(project, "const") == 2
    uncached = step("steps:square", {"x": "int"}, {"output": "int"}, cache=False)
    result = run(_pipeline(uncached))
    assert result.execution("square").state == "succeeded"
    assert result.execution("const").state == "cached"


def test_deleted_artifact_is_not_a_cache_hit(run: Runner, store_backend: str | None) -> None:
    import shutil

    first = run(_pipeline())
    shutil.rmtree(first.execution("blob").outputs["output"]["artifact"])
    result = run(_pipeline())
    if store_backend is None:
        assert result.execution("blob").state == "succeeded"
    else:  # the store still holds it: fetched, checked against its sha256, reused
        assert result.execution("blob").state == "cached"
        assert "/fetched/" in result.execution("blob").outputs["output"]["artifact"]


def test_dry_run_shows_the_plan_and_executes_nothing(run: Runner, project: Path, store) -> None:
    b = Builder()
    b.task("const", CONST, {"value": lit(2)})
    b.task("make", MAKE, {"n": out("const")})
    b.loop("loop_1", out("make"))
    b.task("square", SQUARE, {"x": ir.LoopItem(loop="loop_1")}, loop="loop_1")
    b.loop("loop_2", lit([1, 2]))
    b.task("square_2", SQUARE, {"x": ir.LoopItem(loop="loop_2")}, loop="loop_2")
    plan = run(b.build(), dry_run=True)
    assert plan.status == "dry-run"
    states = {e.key: e.state for e in plan.executions}
    assert states == {
        "const": "would_run",
        "make": "would_run",
        "square[*]": "unknown",
        "square_2[0]": "would_run",
        "square_2[1]": "would_run",
    }
    assert plan.execution("square_2[1]").inputs == {"x": {"param": 2}}
    assert not (project / "counts").exists()
    assert_ok(run(b.build()))
    plan = run(b.build(), dry_run=True)
    assert {e.state for e in plan.executions} == {"cached"}
    assert [e.key for e in plan.executions if e.task == "square"] == ["square[0]", "square[1]"]
    with store() as st:
        assert len(st.list_runs()) == 1  # dry runs leave no run behind
