"""The targets of the conformance suite: each runs one example for real and gives a RunOutcome.

A target is a function `(example folder, params, scratch folder) -> RunOutcome`,
registered in `TARGETS` by name. `local` (the local runner) is the reference; a backend
whose output an engine here can execute plugs in one function (kfp.local, and Airflow
through `target_airflow.AirflowTarget`). `by_task` is the comparison the suite makes.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outcome import RunOutcome, TaskOutcome

Target = Callable[[Path, dict[str, Any], Path], RunOutcome]


def _copy(example: Path, scratch: Path) -> Path:
    project = scratch / example.name
    shutil.copytree(
        example, project, ignore=shutil.ignore_patterns(".portaflow", "__pycache__", "expected")
    )
    return project


def _artifact_digest(value: dict[str, Any]) -> Any:
    if "param" in value:
        return value["param"]
    if "sha256" in value:
        return value["sha256"]
    if "artifacts" in value:
        return [a["sha256"] for a in value["artifacts"]]
    return value


def run_local(example: Path, params: dict[str, Any], scratch: Path) -> RunOutcome:
    """`portaflow run`: the reference every other target is compared with."""
    from portaflow.backends.local import run_pipeline
    from portaflow.compiler import compile_file

    project = _copy(example, scratch)
    pipeline = compile_file(project / "pipeline.py", root=project)
    result = run_pipeline(
        pipeline, root=project, store=scratch / "local-store", params=params, workers=2
    )
    tasks = {
        e.key: TaskOutcome(
            state="succeeded" if e.state == "cached" else e.state,
            outputs={k: _artifact_digest(v) for k, v in e.outputs.items()},
        )
        for e in result.executions
    }
    return RunOutcome(status="succeeded" if result.ok else "failed", tasks=tasks)


def run_kfp_local(example: Path, params: dict[str, Any], scratch: Path) -> RunOutcome:
    """`portaflow compile --target kfp`, loaded by kfp's loader and run by kfp.local.

    kfp.local does not expose loop indices, so iterations are keyed `task[#n]` in the
    order they finished; `by_task` compares them as a multiset.
    """
    import kfp.local
    from kfp.components import load_component_from_file

    from portaflow.backends import EmitOptions
    from portaflow.backends.kfp import emit
    from portaflow.compiler import compile_file

    project = _copy(example, scratch)
    pipeline = compile_file(project / "pipeline.py", root=project)
    result = emit(pipeline, options=EmitOptions())
    spec = scratch / result.files[0].path
    spec.write_text(result.files[0].text, encoding="utf-8")
    records = scratch / "kfp-records"
    env = {"PORTAFLOW_ROOT": str(project), "PORTAFLOW_KFP_RECORDS": str(records)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # kfp.local indents output by swapping builtins.print per task; its parallel loop
    # iterations restore it out of order and can leave it swapped for the whole process.
    original_print = builtins.print
    status = "succeeded"
    try:
        kfp.local.init(
            runner=kfp.local.SubprocessRunner(use_venv=False),
            pipeline_root=str(scratch / "kfp-root"),
        )
        load_component_from_file(str(spec))(**params)
    except (RuntimeError, ValueError):
        # kfp.local raises RuntimeError for a failed task, ValueError for an unresolved input.
        status = "failed"
    finally:
        builtins.print = original_print
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    tasks: dict[str, TaskOutcome] = {}
    counts: dict[str, int] = {}
    lines = (records / "records.jsonl").read_text().splitlines() if records.exists() else []
    for line in lines:
        rec = json.loads(line)
        n = counts[rec["task"]] = counts.get(rec["task"], 0) + 1
        key = rec["task"] if n == 1 else f"{rec['task']}[#{n}]"
        tasks[key] = TaskOutcome(state=rec["state"], outputs=rec["outputs"])
    return RunOutcome(status=status, tasks=tasks)


def run_airflow(example: Path, params: dict[str, Any], scratch: Path) -> RunOutcome:
    """`portaflow compile --target airflow --airflow-operator local`, run by a real Airflow 3."""
    from target_airflow import AirflowTarget

    return AirflowTarget().run(example, params, scratch)


#: Every target that can execute here, by name; `local` is the reference.
TARGETS: dict[str, Target] = {
    "local": run_local,
    "kfp-local": run_kfp_local,
    "airflow": run_airflow,
}
#: Targets that report loop indices: compared key by key (`score[1]`), not only per task.
INDEXED = {"local", "airflow"}


def by_task(outcome: RunOutcome) -> dict[str, list[str]]:
    """Task id -> the sorted outcomes of its executions that ran (skipped ones left out).

    Keys drop loop indices (`score[1]` -> `score`), so targets that cannot report them
    compare equal when every iteration produced the same outputs as a multiset.
    """
    out: dict[str, list[str]] = {}
    for key, t in outcome.tasks.items():
        if t.state == "skipped":
            continue
        task = key.split("[", 1)[0]
        out.setdefault(task, []).append(
            json.dumps({"state": t.state, "outputs": t.outputs}, sort_keys=True)
        )
    return {k: sorted(v) for k, v in sorted(out.items())}


def by_key(outcome: RunOutcome) -> dict[str, tuple[str, Any]]:
    """Node key (`score[1]`) -> state and outputs of every execution that ran."""
    return {
        k: (t.state, t.outputs) for k, t in sorted(outcome.tasks.items()) if t.state != "skipped"
    }
