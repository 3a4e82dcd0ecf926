"""Submit to Airflow 3: write the DAG file into the dags folder, trigger a run through the REST API, follow it.

Uses the official `apache-airflow-client` (https://github.com/apache/airflow-client-python)
with a JWT bearer token: taken from AIRFLOW_TOKEN, or fetched from the API server's
`POST /auth/token` with AIRFLOW_USERNAME / AIRFLOW_PASSWORD. New DAGs are paused
on creation, so the DAG is unpaused before the run is triggered; the run starts only
once the dag-processor has parsed the file written now (its `last_parsed_time` moves).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portaflow.backends import EmitResult

FINISHED = {"success", "failed"}


class SubmitError(Exception):
    """The run could not be submitted or followed; the message says why."""


@dataclass(frozen=True, slots=True)
class Outcome:
    dag_id: str
    run_id: str
    state: str
    #: task id (with `[map index]` for mapped tasks) -> final state
    tasks: dict[str, str]


def fetch_token(host: str, username: str, password: str, *, timeout: float = 30) -> str:
    """A JWT from the API server's simple or FAB auth manager (`POST /auth/token`)."""
    body = json.dumps({"username": username, "password": password}).encode()
    req = urllib.request.Request(
        host.rstrip("/") + "/auth/token",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        token: str = json.loads(resp.read())["access_token"]
    return token


def write_dag(result: EmitResult, dags_folder: Path) -> Path:
    """Write the DAG file atomically (the dag-processor never sees half a file)."""
    (f,) = result.files
    dest = dags_folder / f.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(f.text.encode())
    tmp.replace(dest)
    return dest


def _client(host: str, token: str) -> Any:
    import airflow_client.client as ac

    config = ac.Configuration(host=host.rstrip("/"), access_token=token)
    return ac.ApiClient(config)


def _parsed_at(dag_api: Any, dag_id: str) -> Any:
    from airflow_client.client.exceptions import NotFoundException

    try:
        return dag_api.get_dag_details(dag_id).last_parsed_time
    except NotFoundException:
        return None


def submit(
    result: EmitResult,
    *,
    dag_id: str,
    host: str,
    token: str,
    dags_folder: Path,
    params: Mapping[str, Any],
    on_change: Callable[[str, str], None] = lambda task, state: None,
    parse_timeout: float = 300,
    run_timeout: float = 3600,
    poll: float = 1.0,
    follow: bool = True,
) -> Outcome:
    """Write, wait for the parse, unpause, trigger, and follow the run to its end."""
    import airflow_client.client as ac

    with _client(host, token) as api:
        dags = ac.DAGApi(api)
        before = _parsed_at(dags, dag_id)
        path = write_dag(result, dags_folder)
        deadline = time.monotonic() + parse_timeout
        while True:
            now = _parsed_at(dags, dag_id)
            if now is not None and (before is None or now > before):
                break
            errors = ac.ImportErrorApi(api).get_import_errors().import_errors
            for e in errors:
                if e.filename and Path(e.filename).name == path.name:
                    raise SubmitError(f"Airflow cannot import {path}:\n{e.stack_trace}")
            if time.monotonic() > deadline:
                raise SubmitError(
                    f"the dag-processor did not parse {path} within {parse_timeout:.0f} s; "
                    "is it running, and is this its dags folder?"
                )
            time.sleep(poll)
        dags.patch_dag(dag_id, ac.DAGPatchBody(is_paused=False))
        runs = ac.DagRunApi(api)
        body = ac.TriggerDAGRunPostBody(conf=dict(params), logical_date=None)
        run = runs.trigger_dag_run(dag_id, body)
        run_id = run.dag_run_id
        if not follow:
            return Outcome(dag_id=dag_id, run_id=run_id, state=str(run.state.value), tasks={})
        seen: dict[str, str] = {}
        deadline = time.monotonic() + run_timeout
        tis_api = ac.TaskInstanceApi(api)
        while True:
            state = str(runs.get_dag_run(dag_id, run_id).state.value)
            for ti in tis_api.get_task_instances(dag_id, run_id, limit=1000).task_instances:
                key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
                ti_state = ti.state.value if ti.state is not None else "none"
                if seen.get(key) != ti_state:
                    seen[key] = ti_state
                    on_change(key, ti_state)
            if state in FINISHED:
                return Outcome(dag_id=dag_id, run_id=run_id, state=state, tasks=seen)
            if time.monotonic() > deadline:
                raise SubmitError(f"run {run_id} still {state} after {run_timeout:.0f} s")
            time.sleep(poll)
