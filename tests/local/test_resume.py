"""--resume: a failed or killed run continues; finished steps are reused, never re-run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from irkit import Builder, lit, out, step
from localkit import Runner, assert_ok, counts
from portaflow.backends.local import RunError, Store
from portaflow.compiler import irjson

CONST = step("steps:const", {"value": "int"}, {"output": "int"})
HOLD = step("steps:hold", {}, {"output": "int"})
ECHO = step("steps:echo", {"value": "any"}, {"output": "any"})
ADD = step("steps:add", {"a": "int", "b": "int"}, {"output": "int"})


def _pipeline():
    b = Builder()
    b.task("const", CONST, {"value": lit(1)})
    b.task("hold", HOLD, after=["const"])
    b.task("add", ADD, {"a": out("const"), "b": out("hold")})
    return b.build()


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _states(store_dir: Path) -> dict[str, str]:
    if not (store_dir / "portaflow.db").exists():
        return {}
    with Store(store_dir) as st:
        runs = st.list_runs()
        return {e["key"]: e["state"] for e in st.executions(runs[0]["id"])} if runs else {}


@pytest.mark.slow
def test_resume_after_the_runner_is_sigkilled(project: Path, run: Runner, isolation: str) -> None:
    ir_file = project / "pipeline.ir.json"
    ir_file.write_text(irjson.dumps(_pipeline()))
    (project / "hold").write_text("")
    store_dir = project / ".portaflow"
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portaflow.backends.local",
            "run",
            str(ir_file),
            "--root",
            str(project),
            "--store",
            str(store_dir),
            "--plain",
            "--isolation",
            isolation,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: counts(project, "hold") == 1)  # the slow step is inside its function
        with Store(store_dir) as st:
            run_id = st.list_runs()[0]["id"]
            hold_pid = next(e["pid"] for e in st.executions(run_id) if e["key"] == "hold")
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
    finally:
        runner.kill()
    # the step died with its runner (parent-death signal), so nothing keeps writing
    _wait_for(lambda: not _alive(hold_pid))
    db = sqlite3.connect(store_dir / "portaflow.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert _states(store_dir) == {"const": "succeeded", "hold": "running"}

    (project / "hold").unlink()
    result = run(None, resume=run_id)
    assert_ok(result)
    assert result.run_id == run_id
    assert result.execution("const").reused and result.execution("const").state == "succeeded"
    assert result.execution("add").outputs["output"] == {"param": 2}
    assert counts(project, "const") == 1  # finished before the kill: not run again
    assert counts(project, "hold") == 2
    with Store(store_dir) as st:
        assert st.get_run(run_id)["status"] == "succeeded"
        assert len(st.list_runs()) == 1


def test_resume_of_a_failed_run_reruns_only_what_did_not_finish(project: Path, run: Runner) -> None:
    (project / "fixable.py").write_text(
        "import os\nfrom pathlib import Path\n"
        "def check(x: int) -> int:\n"
        "    if (Path(os.environ['PORTAFLOW_ROOT']) / 'broken').exists():\n"
        "        raise ValueError('broken')\n"
        "    return x\n"
    )
    check = step("fixable:check", {"x": "int"}, {"output": "int"})
    b = Builder()
    b.task("const", CONST, {"value": lit(5)})
    b.task("check", check, {"x": out("const")})
    b.task("echo", ECHO, {"value": out("check")})
    b.task("const_2", CONST, {"value": lit(6)})
    (project / "broken").write_text("")
    failed = run(b.build(), cache=False)
    assert failed.status == "failed"
    (project / "broken").unlink()
    resumed = run(None, resume=failed.run_id, cache=False)
    assert_ok(resumed)
    assert {e.key for e in resumed.executions if e.reused} == {"const", "const_2"}
    assert resumed.execution("check").attempt == 2  # the attempt count goes on
    assert counts(project, "const") == 2


def test_resume_refuses_params_and_unknown_runs(run: Runner) -> None:
    b = Builder(params={"x": ("int", 1)})
    b.task("const", CONST, {"value": lit(1)})
    first = run(b.build())
    with pytest.raises(RunError, match="drop --param"):
        run(None, resume=first.run_id, params={"x": 2})
    with pytest.raises(Exception, match="no run 'nope'"):
        run(None, resume="nope")


@pytest.mark.slow
def test_sigterm_cancels_the_run_and_kills_its_steps(
    project: Path, run: Runner, isolation: str
) -> None:
    ir_file = project / "pipeline.ir.json"
    ir_file.write_text(irjson.dumps(_pipeline()))
    (project / "hold").write_text("")
    store_dir = project / ".portaflow"
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portaflow.backends.local",
            "run",
            str(ir_file),
            "--root",
            str(project),
            "--store",
            str(store_dir),
            "--plain",
            "--isolation",
            isolation,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: counts(project, "hold") == 1)
        with Store(store_dir) as st:
            run_id = st.list_runs()[0]["id"]
            hold_pid = next(e["pid"] for e in st.executions(run_id) if e["key"] == "hold")
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=30)
    finally:
        runner.kill()
    assert runner.returncode == 1
    assert f"run {run_id} cancelled" in output and "--resume" in output
    assert not _alive(hold_pid)
    assert _states(store_dir) == {"const": "succeeded", "hold": "cancelled"}
    (project / "hold").unlink()
    assert_ok(run(None, resume=run_id))


def test_a_run_in_progress_cannot_be_resumed_twice(project: Path, run: Runner) -> None:
    import threading

    (project / "hold").write_text("")
    results = []
    worker = threading.Thread(target=lambda: results.append(run(_pipeline())))
    worker.start()
    try:
        _wait_for(lambda: _states(project / ".portaflow").get("hold") == "running")
        with Store(project / ".portaflow") as st:
            run_id = st.list_runs()[0]["id"]
        with pytest.raises(RunError, match="still being executed"):
            run(None, resume=run_id)
    finally:
        (project / "hold").unlink()
        worker.join(60)
    assert_ok(results[0])
