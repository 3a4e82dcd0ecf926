"""Execution equivalence: an original TaskFlow DAG and its migrated pipeline, compiled by portaflow
(`--target airflow`, local operator flavour), both run under a real Airflow with the same task outputs.

Both DAG files of every case sit in one dags folder and run in one Airflow
process (`dag.test()`, what `airflow dags test` calls), so Airflow starts once.
Outputs are compared by value: an Airflow task's return value against the
migrated step's outputs (`output`, or the named outputs of a `multiple_outputs`
task); a mapped task by the sorted values of its instances; skipped tasks by
state. Task ids map `t__1` (Airflow's second call of `t`) to `t_2` (portaflow's).
A `@task.branch` keeps no return value in Airflow's XCom (it routes instead), so
branch tasks compare by state, and the branch taken by the states downstream.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from portaflow.backends import EmitOptions
from portaflow.backends.airflow.emit import emit
from portaflow.backends.airflow.names import dag_id
from portaflow.compiler.frontend import compile_file
from portaflow.compiler.migrate.airflow import migrate

# The Airflow helpers live beside the Airflow tests (tests/airflow has no __init__.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "airflow"))

import dagkit
from af_outcomes import airflow_outcome
from airflowenv import ensure_venv, init_home

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parent / "corpus"
#: A handful of the corpus, one per kind of rule that changes the graph or the values.
CASES = {
    "tutorial_taskflow": "tutorial_taskflow_api",  # multiple_outputs, hoisted tasks
    "dynamic_mapping": "example_dynamic_task_mapping",  # .expand -> comprehension, fan-in
    "branching": "branching_example",  # @task.branch -> if, a join
    "params_dag": "greetings",  # params and {{ params.x }} -> typed parameters
    "branch_chain": "quality_gate",  # a list branch, a chain under it, TriggerRule
}
_STATES = {"success": "succeeded", "skipped": "skipped", "failed": "failed"}


@pytest.fixture(scope="session")
def equivalence_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case: the original DAG and the migrated one, run in one Airflow process."""
    try:
        venv = ensure_venv()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"cannot install Airflow under CI: {exc}")
        pytest.skip(f"cannot install Airflow here: {exc}")
    home = tmp_path_factory.mktemp("mig-airflow-home")
    env = init_home(venv, home)
    dags = home / "dags"
    pipelines = {}
    jobs = []
    for name, original_id in CASES.items():
        source = (CORPUS / f"{name}.py").read_text(encoding="utf-8")
        (dags / f"original_{name}.py").write_text(source, encoding="utf-8")
        result = migrate(source, f"{name}.py")
        assert result.complete, [d.render() for d in result.diagnostics]
        project = home / "projects" / name
        project.mkdir(parents=True)
        (project / "pipeline.py").write_text(result.code, encoding="utf-8")
        p = compile_file(project / "pipeline.py", root=project)
        p = dataclasses.replace(p, name=f"migrated_{name}")
        options = EmitOptions(extra={"airflow_operator": "local", "project_root": str(project)})
        (out,) = emit(p, options=options).files
        (dags / out.path).write_text(out.text, encoding="utf-8")
        pipelines[name] = p
        jobs += [{"dag_id": original_id}, {"dag_id": dag_id(p.name)}]
    start = time.monotonic()
    answer = dagkit.run_jobs(venv.python, env, dags, jobs)
    seconds = time.monotonic() - start
    by_dag = {r["dag_id"]: r for r in answer}
    return {
        name: (by_dag[original], pipelines[name], by_dag[dag_id(pipelines[name].name)])
        for name, original in CASES.items()
    } | {"seconds": seconds}


def _portaflow_id(task_id: str) -> str:
    """Airflow names the n-th extra call of `t` `t__n`; portaflow names it `t_{n+1}`."""
    return re.sub(r"__(\d+)$", lambda m: f"_{int(m[1]) + 1}", task_id)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def original_outputs(run: dict[str, Any]) -> dict[str, Any]:
    """Task id -> (state, value) of the original DAG; a mapped task -> sorted instance values."""
    out: dict[str, Any] = {}
    for t in run["tasks"]:
        key = _portaflow_id(t["task_id"])
        state = _STATES.get(t["state"], t["state"])
        if t["map_index"] >= 0:
            prev = out.get(key, (state, []))
            out[key] = (state, sorted([*prev[1], _canon(t["xcom"])]))
        else:
            out[key] = (state, _canon(t["xcom"]) if state == "succeeded" else None)
    return out


def migrated_outputs(p: Any, run: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """The same shape from the migrated DAG's outcome (outputs unwrapped to the task's value)."""
    got = airflow_outcome(p, run, digest=lambda path: path)
    out: dict[str, Any] = {}
    for key, t in got.tasks.items():
        base = key.split("[", 1)[0]
        outputs = t.outputs
        value = outputs.get("output") if set(outputs) <= {"output"} else outputs
        if "[" in key:
            prev = out.get(base, (t.state, []))
            out[base] = (t.state, sorted([*prev[1], _canon(value)]))
        else:
            out[base] = (t.state, _canon(value) if t.state == "succeeded" else None)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_original_and_migrated_give_the_same_task_outputs(
    name: str, equivalence_runs: dict[str, Any]
) -> None:
    original_run, p, migrated_run = equivalence_runs[name]
    assert original_run["state"] == migrated_run["state"] == "success", (
        original_run,
        migrated_run,
    )
    want = original_outputs(original_run)
    got = migrated_outputs(p, migrated_run, want)
    source = (CORPUS / f"{name}.py").read_text(encoding="utf-8")
    for branch in re.findall(r"@task\.branch\s*\n\s*def (\w+)", source):
        assert want[branch] == ("succeeded", "null")  # routed, not stored
        want[branch] = (got[branch][0], got[branch][1])
    assert got == want
    assert len(want) >= 2  # a real pipeline ran, not an empty one


def test_the_branch_took_one_path(equivalence_runs: dict[str, Any]) -> None:
    original_run, _p, _migrated = equivalence_runs["branching"]
    want = original_outputs(original_run)
    assert want["big"][0] == "succeeded" and want["small"][0] == "skipped"
    assert want["join"] == ("succeeded", '"joined"')
