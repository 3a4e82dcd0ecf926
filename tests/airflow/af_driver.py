"""Runs inside the Airflow venv (not the project's): import, inspect and execute generated DAGs.

One process answers for many DAGs, so the tests pay Airflow's start-up once:

    python af_driver.py import DAGS_DIR          -> {"import_errors": {...}, "dags": {dag_id: {task_id: {...}}}}
    python af_driver.py pods DAGS_DIR            -> {dag_id: {task_id: pod as a dict}} (kubernetes flavour)
    python af_driver.py run DAGS_DIR JOBS.json   -> [{"dag_id", "state", "tasks": [...]}] per job
                                                  (a job: {"dag_id": ..., "conf": {...}})

The JSON answer is the last line of stdout.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def _bag(folder: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=folder, safe_mode=False)


def inspect(folder: str) -> dict[str, Any]:
    bag = _bag(folder)
    dags: dict[str, Any] = {}
    for dag_id, dag in sorted(bag.dags.items()):
        tasks = {}
        for t in dag.tasks:
            tasks[t.task_id] = {
                "upstream": sorted(t.upstream_task_ids),
                "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
                "mapped": type(t).__name__ == "MappedOperator",
                "operator": t.operator_name if hasattr(t, "operator_name") else type(t).__name__,
                "group": t.task_group.group_id if t.task_group else None,
                "retries": t.retries,
                "execution_timeout": t.execution_timeout.total_seconds()
                if t.execution_timeout
                else None,
            }
        dags[dag_id] = {
            "tasks": tasks,
            "params": {k: dag.params[k] for k in dag.params},
            "schedule": dag.schedule if isinstance(dag.schedule, str) else None,
            "catchup": dag.catchup,
            "tags": sorted(dag.tags),
            "doc_md": dag.doc_md,
            "fileloc": dag.fileloc,
        }
    errors = {k: str(v) for k, v in bag.import_errors.items()}
    return {"import_errors": errors, "dags": dags}


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def pods(folder: str) -> dict[str, Any]:
    """Pod specs as the operator builds them; a kube-config naming no real cluster (nothing is sent)."""
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        fh.write(KUBECONFIG)
    os.environ["KUBECONFIG"] = fh.name  # read when kubernetes is imported
    from kubernetes.client import ApiClient

    bag = _bag(folder)
    api = ApiClient()
    out: dict[str, Any] = {}
    for dag_id, dag in sorted(bag.dags.items()):
        for t in dag.tasks:
            if not hasattr(t, "build_pod_request_obj"):  # mapped tasks resolve only in a run
                continue
            pod = t.build_pod_request_obj()
            out.setdefault(dag_id, {})[t.task_id] = api.sanitize_for_serialization(pod)
    return out


def run(folder: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from airflow import settings
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    bag = _bag(folder)
    results = []
    for job in jobs:
        dag = bag.dags[job["dag_id"]]
        start = time.monotonic()
        dr = dag.test(run_conf=job.get("conf") or None)
        seconds = time.monotonic() - start
        session = settings.Session()
        tis = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=dr.run_id).all()
        xcoms = {
            (x.task_id, x.map_index): XComModel.deserialize_value(x)
            for x in session.query(XComModel).filter_by(
                dag_id=dag.dag_id, run_id=dr.run_id, key="return_value"
            )
        }
        tasks = [
            {
                "task_id": ti.task_id,
                "map_index": ti.map_index,
                "state": str(getattr(ti.state, "value", ti.state)),
                "xcom": xcoms.get((ti.task_id, ti.map_index)),
            }
            for ti in sorted(tis, key=lambda ti: (ti.task_id, ti.map_index))
        ]
        state = str(getattr(dr.state, "value", dr.state))
        results.append(
            {
                "dag_id": dag.dag_id,
                "run_id": dr.run_id,
                "state": state,
                "tasks": tasks,
                "seconds": seconds,
            }
        )
    return results


def main(argv: list[str]) -> int:
    cmd, folder = argv[0], argv[1]
    if cmd == "import":
        answer: Any = inspect(folder)
    elif cmd == "pods":
        answer = pods(folder)
    elif cmd == "run":
        with open(argv[2], encoding="utf-8") as fh:
            answer = run(folder, json.load(fh))
    else:
        raise SystemExit(f"unknown command {cmd!r}")
    sys.stdout.write("\n" + json.dumps(answer, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
