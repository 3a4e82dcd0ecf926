"""The local runner on the round-2 language: bounded fan-out really caps, merged branch values,
pipeline outputs, and a hook's own defaults."""

from __future__ import annotations

import textwrap
from pathlib import Path

from localkit import Runner, assert_ok
from portaflow.compiler import compile_file

STEPS = """
import time
from portaflow import step

@step
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds

@step
def double(x: int) -> int:
    return 2 * x

@step
def negate(x: int) -> int:
    return -x

@step
def note(text: str = "own default") -> str:
    return text
"""


def _pipeline(project: Path, body: str):  # type: ignore[no-untyped-def]
    (project / "round2.py").write_text(textwrap.dedent(STEPS))
    f = project / "flow.py"
    f.write_text(textwrap.dedent(body))
    return compile_file(f, root=project)


def _max_overlap(rows: list[dict]) -> int:  # type: ignore[type-arg]
    """The most executions running at one moment, from their recorded start/finish times."""
    events = sorted(
        [(r["started"], 1) for r in rows] + [(r["finished"], -1) for r in rows],
        key=lambda e: (e[0], e[1]),  # a finish before a start at the same instant
    )
    now = peak = 0
    for _t, step in events:
        now += step
        peak = max(peak, now)
    return peak


def test_parallel_limit_caps_running_iterations(run: Runner, store, project: Path) -> None:
    p = _pipeline(
        project,
        """
        from portaflow import parallel, pipeline
        from round2 import nap

        @pipeline
        def flow():
            _a = [nap(s) for s in parallel([0.4, 0.4, 0.4, 0.4, 0.4], limit=2)]
            for s in parallel([0.3, 0.3, 0.3], limit=1):
                nap(s)
        """,
    )
    result = run(p, workers=4)
    assert_ok(result)
    with store() as st:
        rows = st.executions(result.run_id)
    first = [r for r in rows if r["task"] == "nap"]
    second = [r for r in rows if r["task"] == "nap_2"]
    assert len(first) == 5 and len(second) == 3
    assert _max_overlap(first) <= 2
    assert _max_overlap(second) == 1
    # Four workers ran more than the bound at once overall: the cap is per loop.
    assert _max_overlap(first + second) >= 2


def test_merged_branch_value_and_pipeline_outputs(run: Runner, project: Path) -> None:
    p = _pipeline(
        project,
        """
        from portaflow import pipeline
        from round2 import double, negate

        @pipeline
        def flow(x: int = 3):
            if x > 2:
                y = double(x)
            else:
                y = negate(x)
            z = double(y)
            return z, y
        """,
    )
    big = run(p, params={"x": 3})
    assert_ok(big)
    assert big.execution("negate").state == "skipped"
    assert big.outputs == {"z": {"param": 12}, "y": {"param": 6}}
    small = run(p, params={"x": 1})
    assert_ok(small)
    assert small.execution("double").state == "skipped"
    assert small.outputs == {"z": {"param": -2}, "y": {"param": -1}}


def test_hook_input_named_like_a_parameter_keeps_its_default(run: Runner, project: Path) -> None:
    p = _pipeline(
        project,
        """
        from portaflow import pipeline
        from round2 import double, note

        @pipeline(on_exit=note)
        def flow(text: str = "the parameter", x: int = 1):
            double(x)
            note(text)
        """,
    )
    result = run(p)
    assert_ok(result)
    assert result.execution("note").outputs["output"] == {"param": "the parameter"}
    assert result.execution("note_2").outputs["output"] == {"param": "own default"}
