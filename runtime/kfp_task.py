"""Run one portaflow task inside a Kubeflow Pipelines executor, in KFP's file formats.

Both executor flavours of `portaflow compile --target kfp` end here, and both hand
the work to `portaflow.task` (docs/CONTRACTS.md):

- `python` (default): the component is a lightweight Python component. Its small
  generated function, run by `kfp.dsl.executor_main`, receives KFP's values and
  artifact objects and calls `run(spec, values)`.
- `container`: `python -m portaflow.kfp_task --spec JSON [--param NAME=VALUE]...
  [--input NAME=PATH]... [--output NAME=PATH]... [--output-param NAME=PATH]...
  [--metrics PATH] [--status JSON]`,
  with the paths KFP's placeholders expand to; no kfp package needed in the image.

What this adds to `portaflow.task`: KFP delivers every number as a JSON double
(`3` arrives as `3.0`), so values are coerced back to the integers the IR types
say; a fan-in over nested loops arrives as a list of lists and is flattened; an
output parameter is written as KFP reads it (a STRING as raw text, anything else as
JSON); a failure hook runs only when the pipeline did not succeed. With a
store in the stack, the pod's environment names the run (PORTAFLOW_RUN_ID, from
the `pipeline/runid` label KFP puts on every pod of a run) and, for a task in a
loop, the pod (PORTAFLOW_KFP_POD): the task is recorded as `TASK[<pod>]`, so the
iterations' records stay apart (a random suffix where no pod name is given,
as under kfp.local). Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Input name of the PipelineTaskFinalStatus (backends/kfp/executors.py STATUS).
STATUS = "pf_pipeline_status"
#: Pipeline states that mean "the pipeline succeeded" in a PipelineTaskFinalStatus.
_SUCCEEDED = {"SUCCEEDED", "succeeded", "Succeeded"}


def coerce(typ: str, value: Any) -> Any:
    """`value` as the IR type `typ` means it: integral doubles back to int, deeply."""
    if typ == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if typ.endswith(" | null"):
        return None if value is None else coerce(typ[: -len(" | null")], value)
    if typ.startswith("list[") and typ.endswith("]") and isinstance(value, list):
        inner = typ[5:-1]
        return [coerce(inner, v) for v in value]
    if typ.startswith("dict[str, ") and typ.endswith("]") and isinstance(value, dict):
        inner = typ[10:-1]
        return {k: coerce(inner, v) for k, v in value.items()}
    return value


def _flatten(value: Any, levels: int) -> Any:
    for _ in range(levels):
        if isinstance(value, list) and all(isinstance(v, list) for v in value):
            value = [x for sub in value for x in sub]
    return value


def _write_kfp_param(path: str, value: Any, kfp_type: str) -> None:
    text = value if kfp_type == "STRING" and isinstance(value, str) else json.dumps(value)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _task(argv: list[str]) -> int:
    from portaflow.task import main

    return main(argv)


def execute(
    spec: Mapping[str, Any],
    *,
    params: Mapping[str, Any],
    inputs: Mapping[str, str],
    input_lists: Mapping[str, Sequence[str]],
    outputs: Mapping[str, str],
    output_params: Mapping[str, str],
    on_metrics: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run the step of `spec` with resolved values and paths; returns the exit status.

    `on_metrics` receives the metrics the step logged (`log_metric`), after a success.
    """
    types: Mapping[str, str] = spec.get("types", {})
    flatten: Mapping[str, int] = spec.get("flatten", {})
    kfp_types: Mapping[str, str] = spec.get("outputs", {})
    argv = ["--step", spec["step"], "--task-id", _task_id(spec)]
    run_id = os.environ.get("PORTAFLOW_RUN_ID", "").strip()
    if run_id:
        argv += ["--run-id", run_id]
    if spec.get("code_hash"):
        argv += ["--code-hash", spec["code_hash"]]
    for name, value in sorted(params.items()):
        value = _flatten(value, int(flatten.get(name, 0)))
        value = coerce(types.get(name, "any"), value)
        argv += ["--param", f"{name}={json.dumps(value)}"]
    imports: Mapping[str, str] = spec.get("imports", {})
    with tempfile.TemporaryDirectory(prefix="portaflow-kfp-") as tmp:
        for name, path in sorted(inputs.items()):
            if name in imports:  # a KFP importer's plain file or folder: an artifact first
                try:
                    path = _imported(path, imports[name], Path(tmp, f"in-{name}"))
                except Exception as exc:  # ImportFailed, OSError: one line, no traceback
                    print(f"portaflow.kfp_task: error: input {name!r}: {exc}", file=sys.stderr)
                    return 1
            argv += ["--input", f"{name}={path}"]
        for name, paths in sorted(input_lists.items()):
            manifest = Path(tmp, f"in-{name}.json")
            manifest.write_text(json.dumps(list(paths)), encoding="utf-8")
            argv += ["--input-list", f"{name}={manifest}"]
        # KFP calls the default output `Output`; the step calls it `output`.
        renamed: Mapping[str, str] = spec.get("renamed", {})
        for key, path in sorted(outputs.items()):
            argv += ["--output", f"{renamed.get(key, key)}={path}"]
        params_out = {key: str(Path(tmp, f"out-{key}.json")) for key in output_params}
        for key, path in sorted(params_out.items()):
            argv += ["--output-param", f"{renamed.get(key, key)}={path}"]
        record = os.environ.get("PORTAFLOW_KFP_RECORDS")
        meta = str(Path(tmp, "metadata.json"))
        argv += ["--metadata", meta]
        code = _task(argv)
        values = {}
        if code == 0:
            for key, path in params_out.items():
                with open(path, encoding="utf-8") as f:
                    values[renamed.get(key, key)] = value = json.load(f)
                _write_kfp_param(output_params[key], value, kfp_types.get(key, ""))
        if code == 0 and on_metrics is not None:
            on_metrics(_metadata(meta).get("metrics", {}))
        if record:
            _record(Path(record), spec, code, values, meta)
    return code


def _task_id(spec: Mapping[str, Any]) -> str:
    """The task's id in its records: `TASK[<pod>]` for an iteration of a loop."""
    task = str(spec["task"])
    if not spec.get("loop"):
        return task
    pod = os.environ.get("PORTAFLOW_KFP_POD", "").strip() or uuid.uuid4().hex[:12]
    return f"{task}[{pod}]"


def _metadata(meta: str) -> dict[str, Any]:
    try:
        with open(meta, encoding="utf-8") as f:
            found: dict[str, Any] = json.load(f)
    except (OSError, ValueError):
        return {}
    return found


def _record(folder: Path, spec: Mapping[str, Any], code: int, values: Any, meta: str) -> None:
    """One JSON line per execution, for tests that compare targets (PORTAFLOW_KFP_RECORDS)."""
    outputs = _metadata(meta).get("outputs", {})
    arts = {k: v.get("sha256") for k, v in outputs.items() if v.get("kind") == "artifact"}
    line = {
        "task": spec["task"],
        "state": "succeeded" if code == 0 else "failed",
        "outputs": {**values, **arts},
    }
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "records.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")


def _path(obj: Any) -> str:
    return str(obj.path)


def _pipeline_succeeded(spec: Mapping[str, Any], state: Any) -> bool:
    if state in _SUCCEEDED:
        print(f"portaflow: nothing failed; {spec['task']!r} (runs only after a failure) not run")
        record = os.environ.get("PORTAFLOW_KFP_RECORDS")
        if record:
            line = {"task": spec["task"], "state": "skipped", "outputs": {}}
            with open(Path(record) / "records.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(line, sort_keys=True) + "\n")
        return True
    return False


def _run_status(spec: Mapping[str, Any], state: Any, params: dict[str, Any]) -> None:
    """The RunStatus input's JSON from a PipelineTaskFinalStatus state (docs/backends/kfp.md)."""
    wanted = spec.get("run_status")
    if not wanted:
        return
    ok = state in _SUCCEEDED
    task = wanted.get("task")
    params[wanted["input"]] = {
        "status": "succeeded" if ok else "failed",
        "failed_tasks": [] if ok or not task else [task],
    }


def _imported(path: str, type_name: str, target: Path) -> str:
    """The artifact directory of what a KFP importer gave at `path` (laid out for `type_name`)."""
    from portaflow.imports import Imported
    from portaflow.materializers import is_artifact

    if is_artifact(Path(path)):
        return path
    Imported(uri=path, type=type_name).write(target)
    return str(target)


def run(spec: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Entry of the generated lightweight component: `values` are its keyword arguments."""
    status = spec.get("status")
    if status:
        final = values.get(status)
        if _pipeline_succeeded(spec, getattr(final, "state", None)):
            return
    params: dict[str, Any] = {}
    _run_status(spec, getattr(values.get(STATUS), "state", None), params)
    inputs: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    outs: dict[str, str] = {}
    out_params: dict[str, str] = {}
    metrics: Any = None
    kinds: Mapping[str, str] = spec.get("kinds", {})
    for name, kind in kinds.items():
        value = values.get(name)
        if kind == "param":
            if value is not None:
                params[name] = value
        elif kind == "artifact":
            if value is not None:
                inputs[name] = _path(value)
        elif kind == "artifact-list":
            lists[name] = [_path(a) for a in (value or [])]
        elif kind == "output":
            outs[name] = _path(value)
        elif kind == "output-param":
            out_params[name] = str(value)
        elif kind == "metrics":
            metrics = value

    def log(found: dict[str, Any]) -> None:
        # A system.Metrics artifact: the KFP UI shows what the step logged.
        for key, number in sorted(found.items()):
            if metrics is not None and isinstance(number, (int, float)):
                metrics.log_metric(key, number)

    code = execute(
        spec,
        params=params,
        inputs=inputs,
        input_lists=lists,
        outputs=outs,
        output_params=out_params,
        on_metrics=log,
    )
    if code != 0:
        raise SystemExit(code)


def _pairs(argv: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            name, _, value = argv[i + 1].partition("=")
            out[name] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m portaflow.kfp_task`: the container flavour (flags in the module docstring)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--spec" not in args:
        print("portaflow.kfp_task: error: --spec JSON is required", file=sys.stderr)
        return 2
    spec = json.loads(args[args.index("--spec") + 1])
    params: dict[str, Any] = {}
    if "--status" in args:
        status = json.loads(args[args.index("--status") + 1])
        if spec.get("status") and _pipeline_succeeded(spec, status.get("state")):
            return 0
        _run_status(spec, status.get("state"), params)
    for name, text in _pairs(args, "--param").items():
        # KFP substitutes a STRING as raw text and every other type as JSON.
        if spec.get("types", {}).get(name) == "str":
            params[name] = text
        else:
            try:
                params[name] = json.loads(text)
            except ValueError:
                params[name] = text
    lists = {k: json.loads(v) for k, v in _pairs(args, "--input-list").items()}
    metrics_path = args[args.index("--metrics") + 1] if "--metrics" in args else None

    def write_metrics(found: dict[str, Any]) -> None:
        if metrics_path:
            Path(metrics_path).parent.mkdir(parents=True, exist_ok=True)
            Path(metrics_path).write_text(json.dumps(found, sort_keys=True), encoding="utf-8")

    return execute(
        spec,
        params=params,
        inputs=_pairs(args, "--input"),
        input_lists=lists,
        outputs=_pairs(args, "--output"),
        output_params=_pairs(args, "--output-param"),
        on_metrics=write_metrics,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
