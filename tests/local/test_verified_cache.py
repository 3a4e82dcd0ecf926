"""A cache hit is verified: an artifact that changed, or lost its sidecar, or a damaged record
of it, is never reused; the step runs again and the store says why."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from irkit import Builder, lit, out, param, step
from localkit import Runner, assert_ok, counts
from portaflow.backends.local.cli import runs_group
from portaflow.materializers import SIDECAR, verify_artifact
from storekit import damage_everywhere, index_dir

#: Every test here runs on the default folder and on moto's S3 (tests/local/conftest.py).
STORE_BACKENDS = ("local", "s3")

CONST = step("steps:const", {"value": "int"}, {"output": "int"})
BLOB = step("steps:blob", {"x": "int"}, {"output": "bytes"})
BLOB_SIZE = step("steps:blob_size", {"data": "bytes"}, {"output": "int"})
FLAKY = step("steps:flaky", {"fails": "int"}, {"output": "int"})
SQUARE = step("steps:square", {"x": "int"}, {"output": "int"})


def _pipeline():
    b = Builder(params={"x": ("int", 3)})
    b.task("const", CONST, {"value": param("x")})
    b.task("blob", BLOB, {"x": out("const")})
    b.task("blob_size", BLOB_SIZE, {"data": out("blob")})
    return b.build()


def _blob_dir(result) -> Path:
    return Path(result.execution("blob").outputs["output"]["artifact"])


def _damage_blob(store, backend: str | None, result, damage) -> None:  # type: ignore[no-untyped-def]
    """Damage the blob artifact of a run here and, on a URL store, the store's copy too."""
    with store() as st:
        (row,) = [e for e in st.executions(result.run_id) if e["key"] == "blob"]
    damage_everywhere(backend, _blob_dir(result), row["outputs"]["output"].get("store_uri"), damage)


def _message(store_dir: Path, run_id: str, key: str) -> str:
    db = sqlite3.connect(store_dir / "portaflow.db")
    try:
        row = db.execute(
            "SELECT message FROM executions WHERE run_id = ? AND key = ?", (run_id, key)
        ).fetchone()
    finally:
        db.close()
    return str(row[0])


def _same_size_other_bytes(folder: Path) -> None:
    data = folder / "data.bin"
    data.write_bytes(bytes(b ^ 0xFF for b in data.read_bytes()))


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (_same_size_other_bytes, "changed since it was written"),
        (lambda d: (d / SIDECAR).unlink(), f"has no {SIDECAR}"),
        (lambda d: (d / SIDECAR).write_text("{half a sid"), f"unreadable {SIDECAR}"),
        (lambda d: (d / "data.bin").unlink(), "data file data.bin is missing"),
    ],
    ids=["bytes-changed", "sidecar-missing", "sidecar-unreadable", "data-missing"],
)
def test_a_damaged_artifact_is_never_a_cache_hit(
    run: Runner, project: Path, store, store_backend: str | None, damage, why: str
) -> None:
    first = run(_pipeline())
    assert_ok(first)
    _damage_blob(store, store_backend, first, damage)
    second = run(_pipeline())
    assert_ok(second)
    blob = second.execution("blob")
    assert blob.state == "succeeded" and counts(project, "blob") == 2
    assert why in blob.message and f"cached result {first.run_id}/blob not reused" in blob.message
    # `runs show` prints it as the note of the execution
    assert why in _message(index_dir(project, store_backend), second.run_id, "blob")
    where = store_backend or str(project / ".portaflow")
    shown = CliRunner().invoke(
        runs_group, ["show", second.run_id, "--store", where, "--root", str(project)]
    )
    assert shown.exit_code == 0 and why in shown.output
    # the rewritten artifact holds the same bytes, so the step after it is still reused
    assert second.execution("blob_size").state == "cached"
    verify_artifact(_blob_dir(second))


def test_an_artifact_replaced_by_another_one_is_not_a_cache_hit(
    run: Runner, store, store_backend: str | None
) -> None:
    from portaflow.materializers import save_artifact

    first = run(_pipeline())
    # A valid artifact, not the recorded one.
    _damage_blob(store, store_backend, first, lambda d: save_artifact(b"another value", d))
    second = run(_pipeline())
    assert second.execution("blob").state == "succeeded"
    assert "was replaced since the run recorded it" in second.execution("blob").message


def test_a_damaged_record_is_never_a_cache_hit(
    run: Runner, project: Path, store_backend: str | None
) -> None:
    first = run(_pipeline())
    db = sqlite3.connect(index_dir(project, store_backend) / "portaflow.db")
    db.execute('UPDATE executions SET outputs = \'{"output": {"kind": "art\' WHERE key = \'blob\'')
    db.execute("UPDATE executions SET outputs = '{}' WHERE key = 'const'")
    db.execute("UPDATE executions SET metadata = '\"not a record\"' WHERE key = 'blob_size'")
    db.commit()
    db.close()
    second = run(_pipeline())
    assert_ok(second)
    assert second.by_state("succeeded") == ["const", "blob"]
    assert "its record in the store is damaged" in second.execution("blob").message
    assert "has no parameter output 'output'" in second.execution("const").message
    assert counts(project, "blob") == 2
    assert first.execution("blob_size").outputs == second.execution("blob_size").outputs
    assert second.execution("blob_size").state == "cached"  # odd metadata: still readable


def test_dry_run_says_why_a_cached_result_is_not_reused(
    run: Runner, store, store_backend: str | None
) -> None:
    first = run(_pipeline())
    _damage_blob(store, store_backend, first, _same_size_other_bytes)
    plan = run(_pipeline(), dry_run=True)
    assert plan.execution("const").state == "cached"
    assert plan.execution("blob").state == "would_run"
    assert "changed since it was written" in plan.execution("blob").message


def _failing_pipeline():
    b = Builder()
    b.task("const", CONST, {"value": lit(3)})
    b.task("blob", BLOB, {"x": out("const")})
    b.task("flaky", FLAKY, {"fails": lit(1)}, after=["blob"])
    b.task("square", SQUARE, {"x": out("const")}, after=["flaky"])
    return b.build()


def test_resume_reruns_a_step_whose_artifact_changed(
    run: Runner, project: Path, store, store_backend: str | None
) -> None:
    failed = run(_failing_pipeline())
    assert failed.status == "failed" and failed.execution("flaky").state == "failed"
    _damage_blob(store, store_backend, failed, _same_size_other_bytes)
    resumed = run(None, resume=failed.run_id)
    assert_ok(resumed)
    assert resumed.execution("const").reused
    blob = resumed.execution("blob")
    assert blob.state == "succeeded" and not blob.reused
    assert blob.message.startswith("finished before the resume, but artifact 'output'")
    assert "changed since it was written" in blob.message
    assert counts(project, "blob") == 2
    verify_artifact(_blob_dir(resumed))


def test_resume_keeps_the_original_no_cache(run: Runner, project: Path) -> None:
    (project / "flaky-attempts").write_text("1")  # so flaky succeeds at once
    assert_ok(run(_failing_pipeline()))  # every step now has a cache entry
    (project / "flaky-attempts").unlink()
    failed = run(_failing_pipeline(), cache=False)
    assert failed.execution("flaky").state == "failed"
    assert counts(project, "const") == 2
    resumed = run(None, resume=failed.run_id)  # no cache=False given again
    assert_ok(resumed)
    # flaky and square would be cache hits of the first run; the run said --no-cache
    assert resumed.by_state("cached") == []
    ran = [e.key for e in resumed.executions if e.state == "succeeded" and not e.reused]
    assert ran == ["flaky", "square"]
    assert (project / "flaky-attempts").read_text() == "2"
    assert counts(project, "square") == 2


HOLD = step("steps:hold", {}, {"output": "int"})


@pytest.mark.slow
def test_an_input_changed_mid_run_is_refused_and_resume_rewrites_it(project: Path) -> None:
    import subprocess
    import sys
    import time

    from portaflow.backends.local import Store
    from portaflow.compiler import irjson

    b = Builder()
    b.task("blob", BLOB, {"x": lit(4)})
    b.task("hold", HOLD, after=["blob"])
    b.task("blob_size", BLOB_SIZE, {"data": out("blob")}, after=["hold"])
    ir_file = project / "pipeline.ir.json"
    ir_file.write_text(irjson.dumps(b.build()))
    (project / "hold").write_text("")
    store_dir = project / ".portaflow"
    cli = [sys.executable, "-m", "portaflow.backends.local", "run", "--root", str(project)]
    runner = subprocess.Popen(
        [*cli, str(ir_file), "--store", str(store_dir), "--plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while counts(project, "hold") == 0:  # blob is written, hold runs
            assert time.monotonic() < deadline and runner.poll() is None, "hold never started"
            time.sleep(0.05)
        with Store(store_dir) as st:
            run_id = st.list_runs()[0]["id"]
            (blob_dir,) = [Path(a["uri"]) for a in st.artifacts(run_id) if a["execution"] == "blob"]
        _same_size_other_bytes(blob_dir)
        (project / "hold").unlink()
        out_text, _ = runner.communicate(timeout=120)
    finally:
        runner.kill()
    assert runner.returncode == 1, out_text
    why = "changed since it was written"
    assert "✗ blob_size: exit code 2: input 'data'" in out_text and why in out_text
    assert why in _message(store_dir, run_id, "blob_size")  # what `runs show` prints

    resumed = subprocess.run(
        [*cli, "--resume", run_id, "--store", str(store_dir), "--plain"],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"finished before the resume, but artifact 'output': {blob_dir} {why}" in (
        _message(store_dir, run_id, "blob")
    )
    assert counts(project, "blob") == 2
    verify_artifact(blob_dir)
