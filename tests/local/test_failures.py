"""Failure semantics: retries with backoff, timeouts that kill the process tree, upstream failures."""

from __future__ import annotations

import os
import time
from pathlib import Path

from irkit import Builder, lit, out, retry, step
from localkit import Runner, assert_ok, counts

CONST = step("steps:const", {"value": "int"}, {"output": "int"})
ECHO = step("steps:echo", {"value": "any"}, {"output": "any"})
NOTE = step("steps:note", {"text": "str"}, {"output": "str"})
BOOM = step("steps:boom", {}, {"output": "int"})


def test_failure_skips_downstream_and_lets_independent_branches_finish(
    run: Runner, project: Path
) -> None:
    b = Builder()
    b.task("boom", BOOM)
    b.task("echo", ECHO, {"value": out("boom")})
    b.task("echo_2", ECHO, {"value": out("echo")})
    b.task("const", CONST, {"value": lit(7)})
    b.task("echo_3", ECHO, {"value": out("const")})
    b.task("alert", NOTE, {"text": lit("alert")}, hook="failure")
    b.task("cleanup", NOTE, {"text": lit("cleanup")}, hook="exit")
    result = run(b.build())
    assert result.status == "failed"
    states = {e.key: e.state for e in result.executions}
    assert states == {
        "boom": "failed",
        "echo": "upstream_failed",
        "echo_2": "upstream_failed",
        "const": "succeeded",
        "echo_3": "succeeded",
        "alert": "succeeded",
        "cleanup": "succeeded",
    }
    failed = result.execution("boom")
    assert failed.message == "exit code 1"
    assert "RuntimeError: boom" in Path(str(failed.log_path)).read_text()
    assert counts(project, "note-alert") == 1


def test_retry_until_success_records_every_attempt(run: Runner, store) -> None:
    flaky = step("steps:flaky", {"fails": "int"}, {"output": "int"}, retry=retry(3, delay=0))
    b = Builder()
    b.task("flaky", flaky, {"fails": lit(2)})
    result = run(b.build())
    assert_ok(result)
    assert result.execution("flaky").attempt == 3
    assert result.execution("flaky").outputs["output"] == {"param": 3}
    with store() as st:
        attempts = st.attempts(result.run_id)
    assert [(a["attempt"], a["exit_code"]) for a in attempts] == [(1, 1), (2, 1), (3, 0)]
    assert attempts[0]["finished"] <= attempts[1]["started"]


def test_retries_exhausted_fail_the_step(run: Runner) -> None:
    flaky = step("steps:flaky", {"fails": "int"}, {"output": "int"}, retry=retry(1, delay=0))
    b = Builder()
    b.task("flaky", flaky, {"fails": lit(5)})
    result = run(b.build())
    assert result.status == "failed"
    assert result.execution("flaky").attempt == 2


def test_retry_waits_for_backoff(run: Runner, store) -> None:
    flaky = step("steps:flaky", {"fails": "int"}, {"output": "int"}, retry=retry(1, delay=1))
    b = Builder()
    b.task("flaky", flaky, {"fails": lit(1)})
    result = run(b.build())
    assert_ok(result)
    with store() as st:
        first, second = st.attempts(result.run_id)
    assert second["started"] - first["finished"] >= 1.0


def test_timeout_kills_the_whole_process_tree(run: Runner, project: Path) -> None:
    hang = step("steps:hang", {}, {"output": "int"}, timeout_seconds=2)
    b = Builder()
    b.task("hang", hang)
    b.task("const", CONST, {"value": lit(1)})
    result = run(b.build())
    assert result.status == "failed"
    assert "timed out after 2s" in result.execution("hang").message
    assert result.execution("const").state == "succeeded"
    grandchild = int((project / "grandchild.pid").read_text())
    deadline = time.monotonic() + 60  # the kernel reaps asynchronously; a busy machine is slow
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead, merely unreaped by its (dead) parent's reaper


def test_loop_over_a_failed_task_fails_its_consumers(run: Runner) -> None:
    from portaflow.compiler import ir

    b = Builder()
    b.task("boom", BOOM)
    b.loop("loop_1", out("boom"))
    b.task("echo", ECHO, {"value": ir.LoopItem(loop="loop_1")}, loop="loop_1")
    b.task("gather", ECHO, {"value": ir.Gathered(task="echo", output="output", loop="loop_1")})
    result = run(b.build())
    states = {e.key: e.state for e in result.executions}
    assert states == {"boom": "failed", "echo[*]": "upstream_failed", "gather": "upstream_failed"}


def test_env_reaches_the_step(run: Runner, project: Path) -> None:
    (project / "envstep.py").write_text(
        "import os\ndef get() -> str:\n    return os.environ['GREETING']\n"
    )
    get = step("envstep:get", {}, {"output": "str"}, env=(("GREETING", "hi"),))
    b = Builder()
    b.task("get", get)
    result = run(b.build())
    assert_ok(result)
    assert result.execution("get").outputs["output"] == {"param": "hi"}
    assert "GREETING" not in os.environ


def test_an_unreadable_parameter_output_fails_the_step_not_the_runner(
    project: Path, tmp_path: Path
) -> None:
    import sys

    from portaflow.backends.local import run_pipeline

    fake = tmp_path / "fake_task.py"
    fake.write_text(
        "import sys\n"
        "args = sys.argv[1:]\n"
        "for flag, value in zip(args, args[1:]):\n"
        "    if flag == '--output-param':\n"
        "        path = value.split('=', 1)[1]\n"
        "        import os; os.makedirs(os.path.dirname(path), exist_ok=True)\n"
        "        open(path, 'w').write('{half')\n"
    )
    b = Builder()
    b.task("const", step("steps:const", {"value": "int"}, {"output": "int"}), {"value": lit(1)})
    result = run_pipeline(
        b.build(),
        root=project,
        store=project / ".portaflow",
        isolation="process",
        task_command=[sys.executable, str(fake)],
    )
    assert result.status == "failed"
    assert "its parameter 'output'" in result.execution("const").message
    assert "is not readable JSON" in result.execution("const").message
