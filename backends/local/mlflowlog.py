"""Mirror a finished local run into MLflow: a parent run, a nested run per execution, the model version.

Off unless a tracking URI is configured: env MLFLOW_TRACKING_URI, else the
stack's `mlflow_tracking_uri` (given by `portaflow run`). Only then is mlflow
imported (the `portaflow[mlflow]` extra: mlflow-skinny is enough). The local
store stays the system of record: MLflow gets a copy when the run ends, and a
tracking server that is down or refuses a request, or a missing mlflow, gives
one warning (PF420-PF422) and never changes the run's outcome. Mirroring the
same run again (a resume) adds only what MLflow does not have yet. See
docs/mlflow.md.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from portaflow.compiler import ir

from .plan import CACHED, CANCELLED, FAILED, SUCCEEDED
from .result import RunResult
from .store import Store

#: The tracking server cannot be reached or refused a request: the run is not (fully) in MLflow.
UNREACHABLE = "PF420"
#: A tracking URI is configured but mlflow is not installed.
NOT_INSTALLED = "PF421"
#: The run is in MLflow but its model version could not be registered.
REGISTRY = "PF422"

ENV = "MLFLOW_TRACKING_URI"
#: Longest parameter value MLflow accepts (MAX_PARAM_VAL_LENGTH); longer ones are cut.
PARAM_CHARS = 6000
#: Longest tag value kept (MLflow accepts 8000; messages and JSON values are cut here).
TAG_CHARS = 5000
#: MLflow run status of each execution state that is mirrored; other states never ran.
STATUS = {SUCCEEDED: "FINISHED", CACHED: "FINISHED", FAILED: "FAILED", CANCELLED: "KILLED"}
#: Requests to MLflow at once (below the client's connection pool of 10).
CONNECTIONS = 8
RUN_STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
_BAD_NAME = re.compile(r"[^A-Za-z0-9_\-. /]")

Warn = Callable[[str, str, str], None]


def tracking_uri(configured: str | None) -> str | None:
    """The URI to log to: env MLFLOW_TRACKING_URI (set but empty: off), else the stack's key."""
    env = os.environ.get(ENV)
    if env is not None:
        return env.strip() or None
    return (configured or "").strip() or None


def warn(code: str, message: str, hint: str) -> None:
    """One warning on stderr, the way `portaflow check` prints them."""
    print(f"portaflow: warning {code}: {message}\n  = hint: {hint}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- what is logged


@dataclass
class RunLog:
    """One MLflow run to create: the pipeline run or one execution."""

    name: str
    start_ms: int
    end_ms: int
    status: str
    params: dict[str, str] = field(default_factory=dict)
    #: (name, value, step)
    metrics: list[tuple[str, float, int]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


def metric_name(name: str) -> str:
    """A name MLflow accepts (letters, digits, `_-. /`); other characters become `_`."""
    return _BAD_NAME.sub("_", name) or "_"


def param_text(value: Any) -> str:
    """A parameter as MLflow text: strings as they are, other values as JSON; cut at 6000."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= PARAM_CHARS else text[: PARAM_CHARS - 1] + "…"


def _tag(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= TAG_CHARS else text[: TAG_CHARS - 1] + "…"


def _number(value: Any) -> float | None:
    """A metric's value; the runtime stores non-finite floats as their repr ("nan", "inf")."""
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def execution_metrics(metadata: Mapping[str, Any]) -> list[tuple[str, float, int]]:
    """Logged metrics: each `log_metric(step=)` entry at its step, else the last value at step 0."""
    found: list[tuple[str, float, int]] = []
    history = metadata.get("metric_history")
    history = history if isinstance(history, dict) else {}
    metrics = metadata.get("metrics")
    for name, value in sorted((metrics if isinstance(metrics, dict) else {}).items()):
        entries = history.get(name)
        if isinstance(entries, list) and entries:
            for e in entries:
                number = _number(e.get("value")) if isinstance(e, dict) else None
                if number is not None and isinstance(e.get("step"), int):
                    found.append((metric_name(name), number, e["step"]))
            continue
        number = _number(value)
        if number is not None:
            found.append((metric_name(name), number, 0))
    return found


def _ms(seconds: Any, default: float) -> int:
    return int(1000 * (seconds if isinstance(seconds, (int, float)) else default))


def plan(
    result: RunResult, pipeline: ir.Pipeline, rows: list[dict[str, Any]], created: float | None
) -> tuple[RunLog, list[RunLog]]:
    """The parent run and the nested runs of a finished run (pure: no MLflow, no I/O)."""
    now = time.time()
    by_key = {r["key"]: r for r in rows}
    task_step = {t.id: t.step for t in pipeline.tasks}
    children: list[RunLog] = []
    commit = None
    for e in result.executions:
        if e.state not in STATUS:
            continue  # skipped, upstream failed: never ran, nothing to track
        row = by_key.get(e.key, {})
        meta = row.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        ref = row.get("step") or task_step.get(e.task, "")
        code_hash = meta.get("code_hash") or (pipeline.step(ref).code_hash if ref else None)
        tags = {
            "portaflow.run_id": result.run_id,
            "portaflow.task": e.task,
            "portaflow.key": e.key,
            "portaflow.step": ref,
            "portaflow.state": e.state,
            "portaflow.attempt": str(e.attempt),
            "portaflow.cache_hit": "true" if e.cache_hit else "false",
            # identifies this record, so mirroring the run again skips it
            "portaflow.record": f"{e.key}@{e.started!r}",
        }
        if code_hash:
            tags["portaflow.code_hash"] = str(code_hash)
        if meta.get("git_commit"):
            commit = commit or str(meta["git_commit"])
            tags["portaflow.git_commit"] = str(meta["git_commit"])
            tags["mlflow.source.git.commit"] = str(meta["git_commit"])
        if row.get("cached_from"):
            tags["portaflow.cached_from"] = str(row["cached_from"])
        if e.message:
            tags["portaflow.message"] = _tag(e.message)
        for name, out in sorted(e.outputs.items()):
            if "artifact" in out:
                tags[f"portaflow.output.{name}"] = str(out["artifact"])
            elif "param" in out:
                tags[f"portaflow.output.{name}"] = _tag(out["param"])
        params = {n: param_text(v["param"]) for n, v in sorted(e.inputs.items()) if "param" in v}
        start = _ms(e.started, e.finished or now)
        children.append(
            RunLog(
                name=e.key,
                start_ms=start,
                end_ms=max(start, _ms(e.finished, now)),
                status=STATUS[e.state],
                params=params,
                metrics=execution_metrics(meta),
                tags=tags,
            )
        )
    parent_tags = {
        "portaflow.run_id": result.run_id,
        "portaflow.pipeline": result.pipeline,
        "portaflow.status": result.status,
        "portaflow.kind": "pipeline-run",
        "portaflow.store": str(result.store),
    }
    if commit:
        parent_tags["portaflow.git_commit"] = parent_tags["mlflow.source.git.commit"] = commit
    parent_start = _ms(created, min((c.start_ms / 1000 for c in children), default=now))
    parent = RunLog(
        name=result.run_id,
        start_ms=parent_start,
        end_ms=max([parent_start, *(c.end_ms for c in children)]),
        status=RUN_STATUS.get(result.status, "FAILED"),
        params={k: param_text(v) for k, v in sorted(result.params.items())},
        # the final value of every execution's metric, to compare pipeline runs in one table
        metrics=[
            (f"{metric_name(c.name)}.{n}", v, 0)
            for c in children
            for n, v, _ in {m[0]: m for m in c.metrics}.values()
        ],
        tags=parent_tags,
    )
    return parent, children


# --------------------------------------------------------------------------- talking to MLflow


def mirror(
    store: Store,
    result: RunResult,
    pipeline: ir.Pipeline,
    *,
    configured: str | None,
    say: Warn = warn,
) -> str | None:
    """Log a finished run to MLflow when a tracking URI is configured; the parent run's id or None."""
    uri = tracking_uri(configured)
    if uri is None or result.status == "dry-run":
        return None
    if importlib.util.find_spec("mlflow") is None:
        say(
            NOT_INSTALLED,
            f"MLflow tracking is configured ({uri}) but mlflow is not installed;"
            " the run is in the local store only",
            "pip install 'portaflow[mlflow]' (or unset MLFLOW_TRACKING_URI / the stack's"
            " mlflow_tracking_uri)",
        )
        return None
    rows = store.executions(result.run_id)
    created = store.get_run(result.run_id).get("created")
    artifacts: list[dict[str, Any]] = []
    if result.model_version is not None:
        name, version = result.model_version
        for v in store.model_versions(name):
            if v["version"] == version:
                artifacts = list(v.get("artifacts") or [])
    parent, children = plan(result, pipeline, rows, created)
    try:
        client = _client(uri)
        # MLflow would print a line per run on stdout, where `portaflow run` prints its results
        with _settings(MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true"):
            exp_id, parent_id = _log_runs(client, pipeline.name, parent, children)
    # MlflowException, requests' errors, OSError...: a mirror never fails a run
    except Exception as exc:
        say(
            UNREACHABLE,
            f"MLflow at {uri} did not take run {result.run_id}: {_short(exc)};"
            " the run is in the local store only",
            (
                f"check the server (`curl {uri.rstrip('/')}/health`) and MLFLOW_TRACKING_*"
                " credentials; the run itself is unaffected"
                if uri.startswith(("http://", "https://"))
                else "check the tracking URI and MLflow's message; the run itself is unaffected"
            ),
        )
        return None
    if result.model_version is not None and pipeline.model is not None:
        try:
            _register(client, pipeline.model, result, parent_id, artifacts)
        except Exception as exc:
            say(
                REGISTRY,
                f"run {result.run_id} is in MLflow but model {pipeline.model.name!r}"
                f" version {result.model_version[1]} was not registered there: {_short(exc)}",
                "the tracking URI needs a model registry (an MLflow server or a database URI);"
                " the version is in `portaflow models show`",
            )
    where = f"{uri.rstrip('/')}/#/experiments/{exp_id}/runs/{parent_id}"
    if not uri.startswith(("http://", "https://")):
        where = f"{uri}, experiment {pipeline.name!r}, run {parent_id}"
    print(f"portaflow: run {result.run_id} is in MLflow: {where}", file=sys.stderr, flush=True)
    return parent_id


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


@contextlib.contextmanager
def _settings(**wanted: str) -> Iterator[None]:
    """MLflow settings (environment variables) for a block, unless the user set them."""
    added = [k for k in wanted if k not in os.environ]
    os.environ.update({k: wanted[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment(client: Any, name: str) -> str:
    # an unreachable server answers in seconds, not after minutes of retries
    with _settings(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="10"):
        found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return str(client.create_experiment(name))
        except Exception:
            found = client.get_experiment_by_name(name)  # created meanwhile by another run
            if found is None:
                raise
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return str(found.experiment_id)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _log_runs(
    client: Any, experiment: str, parent: RunLog, children: list[RunLog]
) -> tuple[str, str]:
    exp_id = _experiment(client, experiment)
    run_id = parent.tags["portaflow.run_id"]
    found = client.search_runs(
        [exp_id],
        filter_string=f"tags.`portaflow.run_id` = {_quote(run_id)}"
        " and tags.`portaflow.kind` = 'pipeline-run'",
        max_results=1,
    )
    if found:  # a resumed run: the same parent, only new executions
        parent_id = str(found[0].info.run_id)
        known = client.search_runs(
            [exp_id],
            filter_string=f"tags.mlflow.parentRunId = {_quote(parent_id)}",
            max_results=50000,
        )
        logged = {r.data.tags.get("portaflow.record") for r in known}
    else:
        parent_id = _create(client, exp_id, parent, {})
        logged = set()

    def log_child(child: RunLog) -> None:
        run = _create(client, exp_id, child, {"mlflow.parentRunId": parent_id})
        client.set_terminated(run, status=child.status, end_time=child.end_ms)

    # three requests per execution: a few at a time, so a wide fan-out does not take minutes
    todo = [c for c in children if c.tags["portaflow.record"] not in logged]
    with concurrent.futures.ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        for _ in pool.map(log_child, todo):  # the first error is raised here
            pass
    _batch(client, parent_id, parent, params=not found, tags=bool(found))
    client.set_terminated(parent_id, status=parent.status, end_time=parent.end_ms)
    return exp_id, parent_id


def _create(client: Any, exp_id: str, log: RunLog, extra: dict[str, str]) -> str:
    run = client.create_run(
        exp_id, start_time=log.start_ms, tags={**log.tags, **extra}, run_name=log.name
    )
    run_id = str(run.info.run_id)
    _batch(client, run_id, log, params=True, tags=False)
    return run_id


def _batch(client: Any, run_id: str, log: RunLog, *, params: bool, tags: bool) -> None:
    """Params, metrics and tags in requests within MLflow's batch limits (100 params, 1000 metrics)."""
    from mlflow.entities import Metric, Param, RunTag

    stamp = log.end_ms
    ps = [Param(k, v) for k, v in log.params.items()] if params else []
    ms = [Metric(n, v, stamp, s) for n, v, s in log.metrics]
    ts = [RunTag(k, v) for k, v in log.tags.items()] if tags else []
    if not (ps or ms or ts):
        return
    # at most 100 params, 100 tags and 1000 entries in all per request
    chunks = max(-(-len(ps) // 100), -(-len(ms) // 800), -(-len(ts) // 100))
    for i in range(chunks):
        client.log_batch(
            run_id,
            metrics=ms[i * 800 : (i + 1) * 800],
            params=ps[i * 100 : (i + 1) * 100],
            tags=ts[i * 100 : (i + 1) * 100],
        )


def _register(
    client: Any,
    model: ir.ModelSpec,
    result: RunResult,
    parent_id: str,
    artifacts: list[dict[str, Any]],
) -> None:
    name, version = result.model_version or ("", 0)
    if client.search_registered_models(filter_string=f"name = {_quote(name)}") == []:
        try:
            client.create_registered_model(
                name,
                tags={"portaflow.tags": ",".join(model.tags)} if model.tags else None,
                description=model.description,
            )
        except Exception:
            if not client.search_registered_models(filter_string=f"name = {_quote(name)}"):
                raise
    tags = {
        "portaflow.model_version": str(version),
        "portaflow.run_id": result.run_id,
        "portaflow.store": str(result.store),
    }
    for a in artifacts:
        tags[f"portaflow.artifact.{metric_name(str(a['name']))}"] = str(a["uri"])
    client.create_model_version(
        name,
        source=f"runs:/{parent_id}",
        run_id=parent_id,
        tags=tags,
        description=f"portaflow {name} version {version} (run {result.run_id})",
    )
