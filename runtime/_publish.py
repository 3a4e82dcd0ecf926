"""A task in a pod writes its record (and uploads its artifacts) to the stack's store.

Set by the backends when the stack has a `store` URL (docs/stores.md):

    PORTAFLOW_STORE_URI   the store, e.g. s3://bucket/prefix
    PORTAFLOW_PIPELINE    the pipeline's name (shown by `portaflow runs list`)
    PORTAFLOW_STORE_OPTIONS  optional fsspec options as JSON (an endpoint; never a secret)

The run id and task id come from `--run-id` / `--task-id`. Credentials come
from the environment (a Kubernetes secret the manifest names, mounted with
`envFrom`) or the pod's cloud identity, never from the manifest. The record has
the same shape as the local runner's, so one index reads both.
"""

from __future__ import annotations

import calendar
import os
import time
from pathlib import Path
from typing import Any

from portaflow.storage import encode_record, open_location, safe_part

__all__ = ["STORE_ENV", "publish"]

#: The environment variable naming the store a task writes to.
STORE_ENV = "PORTAFLOW_STORE_URI"


def _epoch(iso: Any) -> float | None:
    if not isinstance(iso, str) or not iso.endswith("Z"):
        return None
    try:
        head, _, frac = iso[:-1].partition(".")
        whole = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    return whole + (int(frac) / 10 ** len(frac) if frac.isdigit() else 0.0)


def publish(meta: dict[str, Any], uri: str) -> None:
    """Upload the task's artifact outputs, then write its task record; raises OSError and
    StoreLocationError when the store cannot be written."""
    run_id = str(meta.get("run_id") or "unknown-run")
    key = str(meta.get("task_id") or meta.get("step") or "task")
    attempt = meta.get("attempt") if isinstance(meta.get("attempt"), int) else 1
    store = open_location(uri)
    outputs: dict[str, Any] = {}
    for name, o in (meta.get("outputs") or {}).items():
        if o.get("kind") == "artifact":
            rel = f"artifacts/{safe_part(run_id)}/{safe_part(key)}/{safe_part(name)}"
            remote = store.upload_dir(Path(o["path"]), rel)
            outputs[name] = {
                "kind": "artifact",
                "uri": remote,
                "store_uri": remote,
                **{k: o.get(k) for k in ("sha256", "size", "type", "materializer")},
            }
        else:
            outputs[name] = {"kind": "parameter", "value": o.get("value")}
    lineage = [
        {
            "name": name,
            "uri": i.get("path"),
            **{k: i.get(k) for k in ("sha256", "size", "type", "materializer")},
        }
        for name, i in (meta.get("inputs") or {}).items()
        if isinstance(i, dict) and i.get("kind") == "artifact" and i.get("path")
    ]
    body = {
        "run_id": run_id,
        "key": key,
        "task": key.split("[", 1)[0],
        "step": meta.get("step"),
        "state": meta.get("state"),
        "attempt": attempt,
        "started": _epoch(meta.get("start")),
        "finished": _epoch(meta.get("end")),
        "cache_key": None,
        "cache_hit": 0,
        "cached_from": None,
        "log_path": None,
        "exit_code": meta.get("exit_code"),
        "message": meta.get("error"),
        "inputs": {
            n: {k: v for k, v in i.items() if k != "path"}
            for n, i in (meta.get("inputs") or {}).items()
            if isinstance(i, dict)
        },
        "outputs": outputs,
        "metadata": meta,
        "lineage": lineage,
        "metrics": meta.get("metrics") or {},
        "pipeline": os.environ.get("PORTAFLOW_PIPELINE"),
    }
    name = f"records/{safe_part(run_id)}/task-{safe_part(key)}-a{attempt}.json"
    store.put_if_absent(name, encode_record("task", body))
