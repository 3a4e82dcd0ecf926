"""RunOutcomes (tests/conformance/outcome.py) from a local run and from an Airflow run of the same IR.

Parameters compare by JSON value, artifacts by the content digest their sidecar
records (`portaflow-artifact.json` `sha256`, written by the materializer).
Airflow materialises no task instance for the iterations of an empty fan-out,
and the local runner makes no node for them either; a skipped conditional task
is present on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.outcome import RunOutcome, TaskOutcome
from portaflow.backends.airflow.names import Names
from portaflow.backends.local import run_pipeline
from portaflow.compiler import ir

_STATES = {"success": "succeeded", "skipped": "skipped", "failed": "failed"}
_STATES["upstream_failed"] = "upstream_failed"


def artifact_digest(path: str) -> str:
    record = json.loads((Path(path) / "portaflow-artifact.json").read_text(encoding="utf-8"))
    return f"sha256:{record['sha256']}"


def _key(task: str, index: list[int]) -> str:
    return f"{task}[{','.join(map(str, index))}]" if index else task


def local_outcome(p: ir.Pipeline, root: Path, params: dict[str, Any], workdir: Path) -> RunOutcome:
    """`portaflow run` of the pipeline, as a RunOutcome."""
    r = run_pipeline(p, root=root, store=workdir / ".portaflow", params=params, cache=False)
    tasks = {}
    for e in r.executions:
        outputs = {}
        for name, v in e.outputs.items():
            outputs[name] = v["param"] if "param" in v else artifact_digest(v["artifact"])
        tasks[e.key] = TaskOutcome(
            state=e.state if e.state != "cached" else "succeeded", outputs=outputs
        )
    return RunOutcome(status=r.status, tasks=tasks)


def airflow_outcome(
    p: ir.Pipeline, run: dict[str, Any], digest: Callable[[str], Any] = artifact_digest
) -> RunOutcome:
    """The driver's answer for one DAG run (af_driver.py `run`), as a RunOutcome.

    `digest` turns an artifact directory into the comparable value the suite uses.
    """
    names = Names(p)
    by_airflow = {aid: tid for tid, aid in names.task.items()}
    tis = {(t["task_id"], t["map_index"]): t for t in run["tasks"]}
    tasks: dict[str, TaskOutcome] = {}
    for t in run["tasks"]:
        tid = by_airflow.get(t["task_id"])
        if tid is None:
            continue  # loop item lists and the watcher are Airflow's own bookkeeping
        task = p.task(tid)
        index: list[int] = []
        if task.loop is not None:
            if t["map_index"] < 0:
                continue  # a mapped task over an empty list: no iteration ran
            items = tis[(names.loop[task.loop], -1)]["xcom"]
            index = items[t["map_index"]]["index"]
        step = p.step(task.step)
        kinds = {o.name: o.type.kind for o in step.outputs}
        outputs = {}
        for name, value in (t["xcom"] or {}).items():
            outputs[name] = digest(value) if kinds[name] == "artifact" else value
        state = _STATES.get(t["state"], t["state"])
        tasks[_key(tid, index)] = TaskOutcome(state=state, outputs=outputs)
    status = "succeeded" if run["state"] == "success" else "failed"
    return RunOutcome(status=status, tasks=tasks)


def differences(want: RunOutcome, got: RunOutcome) -> list[str]:
    """What differs between two outcomes, by the conformance suite's rule (empty when they agree)."""
    out = []
    if want.status != got.status:
        out.append(f"status: {want.status} != {got.status}")
    for key in sorted(set(want.tasks) | set(got.tasks)):
        a, b = want.tasks.get(key), got.tasks.get(key)
        if a is None or b is None:
            out.append(f"{key}: only on one side ({a} / {b})")
        elif a.state != b.state or a.outputs != b.outputs:
            out.append(f"{key}: {a} != {b}")
    return out
