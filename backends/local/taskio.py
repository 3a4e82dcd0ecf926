"""The runner's side of the task protocol (docs/CONTRACTS.md): arguments in, outputs and records out.

Where things live for one execution: artifacts under
`<store>/artifacts/<run>/<key>/<output>/`, and under `<store>/runs/<run>/<key>/`
the step's log, parameter outputs, fan-in manifests and the metadata record.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from portaflow.compiler import ir

from .plan import ArtifactList, ArtifactRef, Node, ParamValue, Unknown, Value, value_to_json
from .store import ArtifactInfo

#: The sidecar every artifact directory carries.
SIDECAR = "portaflow-artifact.json"


class MissingOutput(Exception):
    """A step exited 0 without writing one of its outputs."""


def safe_name(key: str) -> str:
    """An execution key as a file name: `score[0,1]` -> `score@0-1`."""
    return key.replace("[", "@").replace(",", "-").replace("]", "").replace("*", "x")


def collect_outputs(paths: Mapping[str, Path], kinds: Mapping[str, str]) -> dict[str, Any]:
    """The outputs a successful attempt wrote, as stored JSON."""
    out: dict[str, Any] = {}
    for name, path in paths.items():
        if kinds[name] == "artifact":
            sidecar = read_json(path / SIDECAR)
            if sidecar is None:
                raise MissingOutput(f"exited 0 but wrote no artifact {name!r} at {path}")
            out[name] = {
                "kind": "artifact",
                "uri": str(path),
                "sha256": sidecar.get("sha256"),
                "size": sidecar.get("size"),
                "type": sidecar.get("type"),
                "materializer": sidecar.get("materializer"),
            }
            if isinstance(sidecar.get("source"), dict):  # importer/model_version: where from
                out[name]["source"] = sidecar["source"]
        else:
            if not path.is_file():
                raise MissingOutput(f"exited 0 but wrote no parameter {name!r} at {path}")
            try:
                value = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError, RecursionError) as exc:
                raise MissingOutput(
                    f"exited 0 but its parameter {name!r} at {path} is not readable JSON ({exc})"
                ) from None
            out[name] = {"kind": "parameter", "value": value}
    return out


#: Exit statuses of `portaflow.task` for a refused invocation or input (2) or output (3).
_REFUSALS = (2, 3)
#: Characters of the task's own error kept in an execution's message.
_REFUSAL_CHARS = 400


def task_argv(
    command: Sequence[str],
    step: ir.StepDef,
    inputs: Mapping[str, Value],
    *,
    root: Path,
    exec_dir: Path,
    art_dir: Path,
    key: str,
    run_id: str,
) -> tuple[list[str], dict[str, Path], Path]:
    """The `portaflow.task` command line of one execution, its output paths and metadata path.

    An earlier attempt's metadata record is removed, so a record found later is this attempt's.
    """
    argv = [*command, "--step", step.ref, "--root", str(root)]
    for name, value in inputs.items():
        argv += input_args(name, value, exec_dir)
    outputs: dict[str, Path] = {}
    for o in step.outputs:
        if o.type.kind == "artifact":
            outputs[o.name] = art_dir / o.name
            argv += ["--output", f"{o.name}={outputs[o.name]}"]
        else:
            outputs[o.name] = exec_dir / "outputs" / f"{o.name}.json"
            argv += ["--output-param", f"{o.name}={outputs[o.name]}"]
    metadata = exec_dir / "metadata.json"
    with contextlib.suppress(FileNotFoundError):
        metadata.unlink()
    argv += ["--metadata", str(metadata), "--code-hash", step.code_hash]
    argv += ["--task-id", key, "--run-id", run_id]
    return argv, outputs, metadata


def task_refusal(metadata_path: Path, exit_code: int | None) -> str | None:
    """The task runtime's one-paragraph error when it refused an input or output, else None.

    A step that raised has its traceback in the log; a refusal (an input whose bytes
    changed since it was written, an output that is not JSON...) is said here, so that
    `portaflow runs show` tells why without opening the log.
    """
    if exit_code not in _REFUSALS:
        return None
    record = read_json(metadata_path)
    error = record.get("error") if isinstance(record, dict) else None
    if not isinstance(error, str) or not error:
        return None
    return error if len(error) <= _REFUSAL_CHARS else error[: _REFUSAL_CHARS - 3] + "..."


def input_args(name: str, value: Value, exec_dir: Path) -> list[str]:
    match value:
        case ParamValue(value=v):
            return ["--param", f"{name}={json.dumps(v, ensure_ascii=False, separators=(',', ':'))}"]
        case ArtifactRef(uri=uri):
            return ["--input", f"{name}={uri}"]
        case ArtifactList(items=items):
            manifest = exec_dir / "inputs" / f"{name}.json"
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_text(json.dumps([a.uri for a in items], indent=1) + "\n", "utf-8")
            return ["--input-list", f"{name}={manifest}"]
        case Unknown():
            raise AssertionError("an unknown value reached execution")  # pragma: no cover
    raise AssertionError(value)  # pragma: no cover


def stored_values(outputs: Mapping[str, Any] | None) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, o in (outputs or {}).items():
        if o.get("kind") == "artifact":
            out[name] = ArtifactRef(o["uri"], o.get("sha256"))
        else:
            out[name] = ParamValue(o.get("value"))
    return out


def inputs_json(node: Node) -> dict[str, Any]:
    return {k: value_to_json(v) for k, v in node.inputs.items()}


def artifact_info(uri: str, sha256: str | None) -> ArtifactInfo:
    sidecar = read_json(Path(uri) / SIDECAR) or {}
    return ArtifactInfo(
        uri=uri,
        type=sidecar.get("type"),
        materializer=sidecar.get("materializer"),
        sha256=sha256 or sidecar.get("sha256"),
        size=sidecar.get("size"),
    )


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def logged_metrics(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Logged metrics from a task's metadata record."""
    found = metadata.get("metrics")
    return dict(found) if isinstance(found, dict) else {}


def exit_text(code: int | None) -> str:
    if code is None:
        return "could not start"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"
