"""The fork server: each task is still a process of its own, and failures stay contained."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from irkit import Builder, lit, out, step
from localkit import Runner, assert_ok, counts
from portaflow.backends.local import Store
from portaflow.compiler import irjson

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the fork server needs os.fork")

ZSTEPS = '''
import ctypes, os, signal, sys, time
from pathlib import Path

import portaflow


def mutate() -> int:
    portaflow.LEAKED = True
    sys.modules["leaked_module"] = sys
    os.environ["LEAKED_ENV"] = "1"
    sys.path.append("/leaked")
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    return 1


def check(x: int) -> dict:
    return {
        "attr": hasattr(portaflow, "LEAKED"),
        "module": "leaked_module" in sys.modules,
        "env": "LEAKED_ENV" in os.environ,
        "path": "/leaked" in sys.path,
        "sigusr1": signal.getsignal(signal.SIGUSR1) != signal.SIG_DFL,
        "step_module_fresh": "zsteps" in sys.modules,
        "pid": os.getpid(),
    }


def hard_exit() -> int:
    print("leaving", flush=True)
    os._exit(7)


def segfault() -> int:
    ctypes.string_at(0)
    return 0


def kill_parent() -> int:
    """First call: kill the process that started this one (the zygote); then succeed."""
    marker = Path(os.environ["PORTAFLOW_ROOT"]) / "killed-parent"
    if not marker.exists():
        marker.write_text(str(os.getppid()))
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)  # dies with the zygote (parent-death signal)
    return os.getppid()


def parent() -> int:
    return os.getppid()
'''

MUTATE = step("zsteps:mutate", {}, {"output": "int"})
CHECK = step("zsteps:check", {"x": "int"}, {"output": "any"})
HARD_EXIT = step("zsteps:hard_exit", {}, {"output": "int"})
SEGFAULT = step("zsteps:segfault", {}, {"output": "int"})
KILL_PARENT = step("zsteps:kill_parent", {}, {"output": "int"})
PARENT = step("zsteps:parent", {}, {"output": "int"})
#: Overrides conftest's `isolation` parameters: these tests are about the fork server.
FORK_ONLY = pytest.mark.parametrize("isolation", ["fork"])

CONST = step("steps:const", {"value": "int"}, {"output": "int"})
HOLD = step("steps:hold", {}, {"output": "int"})


@pytest.fixture
def zproject(project: Path) -> Path:
    (project / "zsteps.py").write_text(textwrap.dedent(ZSTEPS))
    return project


@FORK_ONLY
def test_a_step_changing_globals_does_not_reach_the_next_task(run: Runner, zproject: Path) -> None:
    b = Builder()
    b.task("mutate", MUTATE)
    b.task("check", CHECK, {"x": out("mutate")})
    result = run(b.build(), isolation="fork")
    assert_ok(result)
    seen = result.execution("check").outputs["output"]["param"]
    assert seen["pid"] != os.getpid()
    assert {k: v for k, v in seen.items() if k != "pid"} == {
        "attr": False,
        "module": False,
        "env": False,
        "path": False,
        "sigusr1": False,
        "step_module_fresh": True,  # imported by this task itself, not inherited
    }


@FORK_ONLY
def test_os_exit_and_segfault_are_failures_and_the_run_goes_on(run: Runner, zproject: Path) -> None:
    b = Builder()
    b.task("hard_exit", HARD_EXIT)
    b.task("segfault", SEGFAULT)
    b.task("parent", PARENT)
    result = run(b.build(), isolation="fork")
    assert result.status == "failed"
    assert result.execution("hard_exit").message == "exit code 7"
    assert "leaving" in Path(str(result.execution("hard_exit").log_path)).read_text()
    seg = result.execution("segfault")
    assert seg.state == "failed" and seg.message == f"killed by signal {signal.SIGSEGV}"
    assert result.execution("parent").outputs["output"]["param"] != os.getpid()  # still forked


@FORK_ONLY
def test_a_dead_fork_server_falls_back_to_subprocesses(
    run: Runner, zproject: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    b = Builder()
    b.task("kill_parent", KILL_PARENT)
    b.task("parent", PARENT, after=["kill_parent"])
    result = run(b.build(), isolation="fork", workers=1)
    assert_ok(result)
    zygote_pid = int((zproject / "killed-parent").read_text())
    assert zygote_pid != os.getpid()
    # the killed attempt ran again as a subprocess of the runner, and so did the next step
    assert result.execution("kill_parent").outputs["output"] == {"param": os.getpid()}
    assert result.execution("parent").outputs["output"] == {"param": os.getpid()}
    assert result.execution("kill_parent").attempt == 1
    assert "fork server failed" in capfd.readouterr().err


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_runner_ends_the_zygote_and_its_steps(zproject: Path) -> None:
    b = Builder()
    b.task("const", CONST, {"value": lit(1)})
    b.task("hold", HOLD, after=["const"])
    ir_file = zproject / "pipeline.ir.json"
    ir_file.write_text(irjson.dumps(b.build()))
    (zproject / "hold").write_text("")
    store_dir = zproject / ".portaflow"
    runner = subprocess.Popen(
        [sys.executable, "-m", "portaflow.backends.local", "run", str(ir_file)]
        + ["--root", str(zproject), "--store", str(store_dir), "--isolation", "fork", "--plain"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while counts(zproject, "hold") < 1 and time.time() < deadline:
            time.sleep(0.05)
        with Store(store_dir) as st:
            run_id = st.list_runs()[0]["id"]
            hold_pid = next(e["pid"] for e in st.executions(run_id) if e["key"] == "hold")
        zygote_pid = _ppid(hold_pid)
        assert zygote_pid != runner.pid and _ppid(zygote_pid) == runner.pid
        assert run_id.encode() in Path(f"/proc/{hold_pid}/cmdline").read_bytes()
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
    finally:
        runner.kill()
        (zproject / "hold").unlink(missing_ok=True)
    deadline = time.time() + 60  # an upper bound on a busy machine; done as soon as they die
    while (_alive(hold_pid) or _alive(zygote_pid)) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(hold_pid) and not _alive(zygote_pid)
