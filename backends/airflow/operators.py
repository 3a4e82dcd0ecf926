"""The operators portaflow's generated DAG files use, on Airflow's side (imported by Airflow, not by the compiler).

- `PortaflowTask` runs one step on the worker as an argument list
  (`python -m portaflow.task ...`, never a shell string).
- `PortaflowPodTask` runs it in a Kubernetes pod (the cncf provider's KubernetesPodOperator).
- `PortaflowItems` lists the iterations of one fan-out for dynamic task mapping:
  `{"index": [i, j], "items": [outer_item, inner_item]}` per iteration, in Python's order.
- `PortaflowWatcher` fails the run when a task failed, since hook tasks are leaves
  whose success would otherwise make the run succeed.

Values come from "sources", plain dicts the generated file spells as literals:
`{"param": name}`, `{"value": v}`, `{"item": level, "path": [...]}`,
`{"task": id, "output": name[, "items": id, "depth": n]}` and
`{"gather": id, "output": name, "items": id, "depth": n, "kind": k}` and
`{"status": {airflow task id: IR task id}}` (a RunStatus: those tasks' states). Upstream
`{"oneof": [source, ...]}` (a value merged from if/else arms: the arm that ran). Upstream
values are pulled from XCom here, in Python: no operator has Jinja template
fields, so user strings holding `{{ }}` are never rendered. Parameter outputs
travel through XCom by value; artifacts stay in the artifact store, under the
run id, and only their paths travel.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Airflow is installed where the DAGs run, not where portaflow compiles: no stubs for mypy here.
from airflow.sdk import BaseOperator  # type: ignore[import-not-found,unused-ignore]
from airflow.sdk.exceptions import (  # type: ignore[import-not-found,unused-ignore]
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
)

Source = Mapping[str, Any]
_NO_ITERATION: dict[str, list[Any]] = {"index": [], "items": []}


class UpstreamSkipped(AirflowSkipException):  # type: ignore[misc]
    """A value this task needs comes from a task that was skipped."""


def run_key(run_id: str) -> str:
    """A folder name for an Airflow run id (which holds `:` and `+`), unique per run id."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id)[:80]
    return f"{safe}-{hashlib.sha256(run_id.encode()).hexdigest()[:8]}"


def default_store() -> str:
    """Where artifacts go when the DAG names no store: $PORTAFLOW_ARTIFACT_STORE, else under AIRFLOW_HOME."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.environ.get("PORTAFLOW_ARTIFACT_STORE") or os.path.join(home, "portaflow-artifacts")


def _compare(x: Any, op: str, y: Any) -> bool:
    ops: dict[str, Callable[[], Any]] = {
        "==": lambda: x == y,
        "!=": lambda: x != y,
        "<": lambda: x < y,
        "<=": lambda: x <= y,
        ">": lambda: x > y,
        ">=": lambda: x >= y,
        "in": lambda: x in y,
        "not in": lambda: x not in y,
    }
    return bool(ops[op]())


class Resolver:
    """Reads sources for one task instance (one loop iteration of it)."""

    def __init__(self, context: Mapping[str, Any], iteration: Mapping[str, Any] | None) -> None:
        self.ti = context["ti"]
        self.run_id = context["run_id"]
        self.params = context["params"]
        self.iteration = iteration or _NO_ITERATION
        self._records: dict[str, list[dict[str, Any]]] = {}

    def records(self, items_task: str) -> list[dict[str, Any]]:
        if items_task not in self._records:
            got = self.ti.xcom_pull(task_ids=items_task, map_indexes=-1)
            self._records[items_task] = list(got or [])
        return self._records[items_task]

    def _pull(self, task: str, map_index: int) -> dict[str, Any]:
        got = self.ti.xcom_pull(task_ids=task, map_indexes=map_index)
        if got is None:
            raise UpstreamSkipped(f"upstream {task} (map index {map_index}) was skipped")
        result: dict[str, Any] = got
        return result

    def value(self, src: Source) -> Any:
        if "param" in src:
            return self.params[src["param"]]
        if "value" in src:
            return src["value"]
        if "item" in src:
            item = self.iteration["items"][src["item"]]
            for key in src["path"]:
                if not isinstance(item, dict) or key not in item:
                    raise AirflowFailException(f"loop item {item!r} has no key {key!r}")
                item = item[key]
            return item
        if "task" in src:
            map_index = -1
            if "items" in src:
                want = list(self.iteration["index"][: src["depth"]])
                found = [i for i, r in enumerate(self.records(src["items"])) if r["index"] == want]
                if not found:
                    raise UpstreamSkipped(f"upstream {src['task']} has no iteration {want}")
                map_index = found[0]
            return self._pull(src["task"], map_index)[src["output"]]
        if "status" in src:
            return self.run_status(src["status"])
        if "oneof" in src:  # a name assigned in every arm of an if/else: the arm that ran
            for option in src["oneof"]:
                try:
                    return self.value(option)
                except UpstreamSkipped:
                    continue
            raise UpstreamSkipped("no branch of the if/else ran")
        if "gather" in src:
            prefix = list(self.iteration["index"][: src["depth"]])
            values = []
            for i, rec in enumerate(self.records(src["items"])):
                if rec["index"][: len(prefix)] != prefix:
                    continue
                got = self.ti.xcom_pull(task_ids=src["gather"], map_indexes=i)
                if got is not None:  # a skipped iteration contributes nothing
                    values.append(got[src["output"]])
            return values
        raise AirflowFailException(f"unknown value source {dict(src)!r}")

    def run_status(self, watched: Mapping[str, str]) -> dict[str, Any]:
        """A RunStatus as JSON: the states of the watched tasks (Airflow id -> IR id) in this run."""
        got = self.ti.get_task_states(
            dag_id=self.ti.dag_id, task_ids=sorted(watched), run_ids=[self.run_id]
        )
        failed = set()
        for key, state in (got.get(self.run_id) or {}).items():
            # A mapped task instance is reported as `<task id>_<map index>`.
            aid = key if key in watched else key.rsplit("_", 1)[0]
            if aid in watched and str(state) in ("failed", "upstream_failed"):
                failed.add(watched[aid])
        return {"status": "failed" if failed else "succeeded", "failed_tasks": sorted(failed)}

    def holds(self, cond: Source) -> bool:
        if "truthy" in cond:
            return bool(self.value(cond["truthy"]))
        if "compare" in cond:
            left, right = self.value(cond["left"]), self.value(cond["right"])
            try:
                return _compare(left, cond["compare"], right)
            except TypeError as exc:
                raise AirflowFailException(f"cannot evaluate condition: {exc}") from None
        if "not" in cond:
            return not self.holds(cond["not"])
        if "all" in cond:
            return all(self.holds(c) for c in cond["all"])
        if "any" in cond:
            return any(self.holds(c) for c in cond["any"])
        raise AirflowFailException(f"unknown condition {dict(cond)!r}")


class _StepMixin:
    """What both task flavours share: resolving inputs and naming output locations."""

    step: str
    code_hash: str
    inputs: Mapping[str, Source]
    outputs: Mapping[str, str]
    condition: Source | None
    iteration: Mapping[str, Any] | None
    artifact_store: str | None
    task_id: str

    def prepare(self, context: Mapping[str, Any], base: str) -> dict[str, Any]:
        """Check the condition, resolve inputs; returns task_command's keyword arguments."""
        r = Resolver(context, self.iteration)
        if self.condition is not None and not r.holds(self.condition):
            raise AirflowSkipException("condition is false")
        ti = context["ti"]
        index = "-".join(str(i) for i in (self.iteration or _NO_ITERATION)["index"]) or "0"
        folder = f"{base}/{run_key(context['run_id'])}/{self.task_id}/{index}/try-{ti.try_number}"
        args: dict[str, Any] = {"params": {}, "inputs": {}, "input_lists": {}}
        lists: dict[str, list[str]] = {}
        for name, src in self.inputs.items():
            value = r.value(src)
            if src.get("kind") == "parameter":
                args["params"][name] = value
            elif "gather" in src:
                lists[name] = list(value)
                args["input_lists"][name] = f"{folder}/in/{name}.json"
            else:
                args["inputs"][name] = value
        args["outputs"] = {
            n: f"{folder}/out/{n}" for n, k in self.outputs.items() if k == "artifact"
        }
        args["output_params"] = {
            n: f"{folder}/params/{n}.json" for n, k in self.outputs.items() if k == "parameter"
        }
        args["metadata"] = f"{folder}/metadata.json"
        from portaflow.protocol import iteration_key

        # One record per mapped instance: `TASK[i,j]`, its loop indexes, as the local runner.
        args["task_id"] = iteration_key(self.task_id, (self.iteration or _NO_ITERATION)["index"])
        args["run_id"] = context["run_id"]
        args["code_hash"] = self.code_hash
        args["_lists"] = lists
        return args


class PortaflowTask(_StepMixin, BaseOperator):  # type: ignore[misc]
    """Runs one step on the Airflow worker: `python -m portaflow.task ...` as an argument list."""

    template_fields: Sequence[str] = ()
    ui_color = "#d9f0e3"

    def __init__(
        self,
        *,
        step: str,
        code_hash: str,
        inputs: Mapping[str, Source],
        outputs: Mapping[str, str],
        condition: Source | None = None,
        iteration: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        artifact_store: str | None = None,
        project_root: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.step, self.code_hash = step, code_hash
        self.inputs, self.outputs, self.condition = inputs, outputs, condition
        self.iteration = iteration
        self.env = dict(env or {})
        self.artifact_store, self.project_root = artifact_store, project_root

    def execute(self, context: Any) -> dict[str, Any]:
        from portaflow.protocol import task_command

        store = self.artifact_store or default_store()
        args = self.prepare(context, store)
        for name, paths in args.pop("_lists").items():
            target = Path(args["input_lists"][name])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(paths), encoding="utf-8")
        root = self.project_root or os.environ.get("PORTAFLOW_ROOT")
        argv = task_command(self.step, root=root, python=sys.executable, **args)
        # Each try keeps its own record (`task-<key>-a<N>`): Airflow's try number is 1-based.
        env = {**os.environ, **self.env, "PORTAFLOW_ATTEMPT": str(context["ti"].try_number)}
        self.log.info("running %s", argv)
        proc = subprocess.Popen(
            argv, env=env, cwd=root or None, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.info("%s", line.decode(errors="replace").rstrip("\n"))
        code = proc.wait()
        if code != 0:
            message = f"step {self.step} exited with status {code}"
            # 2 and 3 are a bad invocation or an unusable return value: retrying cannot help.
            raise AirflowFailException(message) if code in (2, 3) else AirflowException(message)
        result: dict[str, Any] = {}
        for name, path in args["output_params"].items():
            result[name] = json.loads(Path(path).read_text(encoding="utf-8"))
        result.update(args["outputs"])
        return result


class PortaflowItems(BaseOperator):  # type: ignore[misc]
    """Lists the iterations of a fan-out (nested under `parent`'s iterations) for `.expand()`."""

    template_fields: Sequence[str] = ()
    ui_color = "#f0ead9"

    def __init__(self, *, items: Source, parent: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("artifact_store", None)
        kwargs.pop("project_root", None)
        super().__init__(**kwargs)
        self.items, self.parent = items, parent

    def execute(self, context: Any) -> list[dict[str, Any]]:
        parents = [_NO_ITERATION]
        if self.parent is not None:
            parents = Resolver(context, None).records(self.parent)
        out: list[dict[str, Any]] = []
        for rec in parents:
            try:
                items = Resolver(context, rec).value(self.items)
            except UpstreamSkipped:
                continue  # the list comes from a skipped task: no iterations
            if not isinstance(items, list):
                raise AirflowFailException(f"a fan-out needs a list, got {items!r}")
            for j, item in enumerate(items):
                out.append({"index": [*rec["index"], j], "items": [*rec["items"], item]})
        return out


class PortaflowWatcher(BaseOperator):  # type: ignore[misc]
    """Fails the run when a task failed (trigger rule one_failed); skipped otherwise."""

    template_fields: Sequence[str] = ()

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("artifact_store", None)
        kwargs.pop("project_root", None)
        kwargs["trigger_rule"] = "one_failed"
        super().__init__(**kwargs)

    def execute(self, context: Any) -> None:
        raise AirflowFailException("a task of this run failed")


def pod_task_class() -> type:
    """`PortaflowPodTask`, built on first use so the local flavour never needs the cncf provider."""
    from .pod import PortaflowPodTask

    return PortaflowPodTask


def __getattr__(name: str) -> Any:
    if name == "PortaflowPodTask":
        return pod_task_class()
    raise AttributeError(name)
