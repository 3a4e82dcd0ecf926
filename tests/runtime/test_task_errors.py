"""Every failure exits non-zero with one clear paragraph; user errors print no traceback.

The cases run as real subprocesses, all at once in a thread pool (module
fixture), so the suite stays fast; each case is still its own test.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from pf_taskrun import Project, Result

STEPS = """
import threading
from typing import Annotated
from portaflow import pipeline, step

@step
def add(a: int, b: int = 1) -> int:
    return a + b

@step
def liar() -> int:
    return "not an int"

def forgetful():
    return None

@step
def pair() -> tuple[Annotated[int, "x"], Annotated[int, "y"]]:
    return (1, 2, 3)

@step
def lock():
    return threading.Lock()

class Thing:
    pass

@step
def thing() -> Thing:
    return Thing()

@step
def boom(a: int) -> int:
    raise ValueError(f"boom {a}")

@step
def consume(data: dict) -> int:
    return len(data)

not_a_function = 3

@pipeline
def flow():
    add(1)
"""

BROKEN = """
import portaflow
raise RuntimeError("module-level failure")
"""


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    message: str
    traceback: bool = False
    #: Run as a real `python -m portaflow.task`; else through `main()` in-process (faster).
    subprocess: bool = False

    def __post_init__(self) -> None:
        if self.code != 2:  # user code and materializers: always the real thing
            object.__setattr__(self, "subprocess", True)


def _cases(tmp: Path) -> dict[str, Case]:
    out = str(tmp / "out")  # every case fails, so nothing may ever appear here
    bare = tmp / "bare"  # a folder without a sidecar: an interrupted write, not an artifact
    return {
        "flag without =": Case(("--step=steps:add", "--param", "a"), 2, "--param takes NAME=VALUE", subprocess=True),
        "unknown flag": Case(("--step=steps:add", "--bogus"), 2, "unrecognized arguments: --bogus"),
        "no --step": Case(("--param=a=1",), 2, "the following arguments are required: --step"),
        "bad --step": Case(("--step=steps.add",), 2, "--step must be MODULE:FUNCTION"),
        "module not found": Case(("--step=nope.mod:add",), 2, "no module 'nope' under the project root", subprocess=True),
        "function not found": Case(("--step=steps:subtract",), 2, "has no attribute 'subtract'"),
        "a pipeline": Case(("--step=steps:flow",), 2, "steps:flow is a @pipeline"),
        "not callable": Case(("--step=steps:not_a_function",), 2, "is a int, not a function"),
        "missing input": Case(("--step=steps:add",), 2, "missing input 'a'"),
        "unknown input": Case(("--step=steps:add", "--param=a=1", "--param=zz=2"), 2, "the step has no input 'zz' (its inputs: a, b)"),
        "input given twice": Case(("--step=steps:add", "--param=a=1", f"--input=a={bare}"), 2, "input 'a' is given twice"),
        "param not JSON": Case(("--step=steps:add", "--param=a=abc"), 2, "is not JSON, and input 'a' is annotated int"),
        "param of wrong type": Case(("--step=steps:add", '--param=a="1"'), 2, "is a str, but input 'a' is annotated int"),
        "input not an artifact": Case(("--step=steps:consume", f"--input=data={bare}"), 2, "has no portaflow-artifact.json", subprocess=True),
        "input missing": Case(("--step=steps:consume", f"--input=data={tmp / 'absent'}"), 2, "not an artifact: no such directory"),
        "bad manifest": Case(("--step=steps:consume", f"--input-list=data={tmp / 'absent.json'}"), 2, "cannot read the manifest"),
        "root not a folder": Case(("--step=steps:add", "--root", str(tmp / "absent")), 2, "is not a directory"),
        "output twice": Case(("--step=steps:add", "--param=a=1", f"--output-param=output={out}", f"--output=output={out}"), 2, "output 'output' is requested twice"),
        "unknown output, before running": Case(("--step=steps:boom", "--param=a=1", f"--output=nope={out}"), 2, "has no output 'nope'"),
        "unknown output": Case(("--step=steps:add", "--param=a=1", f"--output-param=total={out}"), 2, "has no output 'total'; its outputs are 'output'"),
        "wrong type returned": Case(("--step=steps:liar", f"--output-param=output={out}"), 3, "returned a str for output 'output', which is annotated int"),
        "missing output": Case(("--step=steps:forgetful", f"--output=result={out}"), 3, "returned None, but output 'result' was requested"),
        "wrong tuple length": Case(("--step=steps:pair", f"--output-param=x={out}"), 3, "returned a tuple of 3, but it has 2 outputs (x, y)"),
        "unpicklable": Case(("--step=steps:lock", f"--output=output={out}"), 3, "cannot be pickled"),
        "param output not JSON": Case(("--step=steps:thing", f"--output-param=output={out}"), 3, "is a parameter output, so it must be JSON"),
        "step raises": Case(("--step=steps:boom", "--param=a=5"), 1, "step steps:boom raised ValueError: boom 5", traceback=True),
        "module raises on import": Case(("--step=broken:anything",), 1, "importing the step module 'broken' raised", traceback=True),
    }  # fmt: skip


@dataclass
class Ran:
    case: Case
    result: Result
    metadata: Path


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory, import_root: Path) -> dict[str, Ran]:
    tmp = tmp_path_factory.mktemp("errors")
    (tmp / "bare").mkdir()
    (tmp / "bare" / "data.json").write_text("{}")
    project = Project(root=tmp / "project", import_root=import_root)
    project.root.mkdir()
    project.module("steps", STEPS)
    project.module("broken", BROKEN)
    cases = _cases(tmp)
    lock = threading.Lock()
    counter = iter(range(len(cases)))

    def run(item: tuple[str, Case]) -> tuple[str, Ran]:
        name, case = item
        with lock:
            meta = tmp / f"meta-{next(counter)}.json"
        how = project.run if case.subprocess else project.run_in_process
        return name, Ran(case, how(*case.args, f"--metadata={meta}"), meta)

    with ThreadPoolExecutor(max_workers=4) as pool:
        real = pool.map(run, [item for item in cases.items() if item[1].subprocess])
        here = [run(item) for item in cases.items() if not item[1].subprocess]
        return dict([*here, *real])


@pytest.mark.parametrize("name", sorted(_cases(Path("/tmp"))))
def test_failure_is_reported_clearly(ran: dict[str, Ran], name: str) -> None:
    case, result = ran[name].case, ran[name].result
    assert result.code == case.code, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("portaflow.task: error: "), result.stderr
    assert case.message in last, result.stderr
    assert ("Traceback" in result.stderr) is case.traceback, result.stderr
    assert "portaflow/task.py" not in result.stderr, "our own frames are noise"


@pytest.mark.parametrize("name", sorted(_cases(Path("/tmp"))))
def test_failure_still_writes_metadata(ran: dict[str, Ran], name: str) -> None:
    meta = json.loads(ran[name].metadata.read_text())
    assert meta["state"] == "failed"
    assert meta["exit_code"] == ran[name].case.code
    assert ran[name].case.message in meta["error"]


def test_step_traceback_points_at_the_users_line(ran: dict[str, Ran]) -> None:
    stderr = ran["step raises"].result.stderr
    assert 'steps.py", line' in stderr and 'raise ValueError(f"boom {a}")' in stderr


def test_failures_leave_no_output(ran: dict[str, Ran]) -> None:
    folder = next(iter(ran.values())).metadata.parent
    assert not (folder / "out").exists()
    assert [p.name for p in folder.iterdir() if ".tmp-" in p.name] == []
