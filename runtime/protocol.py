"""What a runner needs to drive `python -m portaflow.task`: the argv, input hashes, cache keys.

Standard library only and free of side effects, so the local runner, a
benchmark or an orchestrator plugin can import it cheaply.

- `task_command(step, ...)` -> the argv of one task; parameter values are
  Python values, JSON-encoded here exactly as the task decodes them.
- `hash_inputs(inputs=, input_lists=, params=)` -> {name: sha256}: an
  artifact's hash is its sidecar `sha256` (nothing is re-read), a list's the
  sha256 of its items' hashes one per line, a parameter's the sha256 of its
  `canonical_json`. The task's metadata records the same hashes.
- `step_identity(code_hash=, image=, env=, secrets=)` -> the sha256 of what,
  besides its inputs, decides what a step computes: its code hash, image,
  environment variables and the names of the secrets it reads. Every cache
  key (the local runner's, Argo's memoize key...) is built on it.
- `cache_key(code_hash=, image=, env=, secrets=, inputs=, input_lists=, params=)`
  -> the sha256 of the canonical JSON of the step identity and every input's
  hash: equal keys mean a reusable execution.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from portaflow.materializers import canonical_json, read_artifact, to_json_value

__all__ = [
    "cache_key",
    "hash_inputs",
    "iteration_key",
    "sha256_text",
    "step_identity",
    "task_command",
]

PathLike = str | os.PathLike[str]


def iteration_key(task_id: str, index: Sequence[int | str]) -> str:
    """The execution key of one iteration of a task inside loops: `TASK[i,j]` (its indexes,
    outermost loop first), `TASK` outside any loop. The local runner and Airflow's mapped
    tasks record iterations under it, so each writes a record of its own."""
    return f"{task_id}[{','.join(str(i) for i in index)}]" if index else task_id


def sha256_text(text: str) -> str:
    """Hex sha256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_inputs(
    *,
    inputs: Mapping[str, PathLike] | None = None,
    input_lists: Mapping[str, Sequence[PathLike]] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The content hash of each input, by name (see the module docstring).

    Artifact hashes come from the sidecars, so nothing is re-read; raises
    NotAnArtifactError for a path that is not a complete artifact.
    """
    hashes: dict[str, str] = {}
    for name, path in (inputs or {}).items():
        hashes[name] = read_artifact(Path(path)).sha256
    for name, paths in (input_lists or {}).items():
        items = [read_artifact(Path(p)).sha256 for p in paths]
        hashes[name] = sha256_text("".join(f"{h}\n" for h in items))
    for name, value in (params or {}).items():
        hashes[name] = sha256_text(canonical_json(value))
    return hashes


def step_identity(
    *,
    code_hash: str,
    image: str | None = None,
    env: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    secrets: Sequence[str] = (),
) -> str:
    """sha256 of what decides a step's result besides its inputs.

    Code hash, image, environment variables (sorted by name) and secret names
    (sorted; never their values, which the runner does not see).
    """
    pairs = sorted(env.items() if isinstance(env, Mapping) else env)
    parts = {
        "code_hash": code_hash,
        "image": image or "",
        "env": [[k, v] for k, v in pairs],
        "secrets": sorted(secrets),
    }
    return sha256_text(canonical_json(parts))


def cache_key(
    *,
    code_hash: str,
    image: str | None = None,
    env: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    secrets: Sequence[str] = (),
    inputs: Mapping[str, PathLike] | None = None,
    input_lists: Mapping[str, Sequence[PathLike]] | None = None,
    params: Mapping[str, Any] | None = None,
) -> str:
    """sha256 identifying an execution: the step identity + every input's hash."""
    parts = {
        "step": step_identity(code_hash=code_hash, image=image, env=env, secrets=secrets),
        "inputs": hash_inputs(inputs=inputs, input_lists=input_lists, params=params),
    }
    return sha256_text(canonical_json(parts))


def task_command(
    step: str,
    *,
    root: PathLike | None = None,
    inputs: Mapping[str, PathLike] | None = None,
    input_lists: Mapping[str, PathLike] | None = None,
    params: Mapping[str, Any] | None = None,
    outputs: Mapping[str, PathLike] | None = None,
    output_params: Mapping[str, PathLike] | None = None,
    metadata: PathLike | None = None,
    code_hash: str | None = None,
    task_id: str | None = None,
    run_id: str | None = None,
    python: str | None = None,
) -> list[str]:
    """The argv that runs one task; `params` are Python values, JSON-encoded here."""
    argv = [python or sys.executable, "-m", "portaflow.task", "--step", step]
    if root is not None:
        argv += ["--root", os.fspath(root)]
    for flag, table in (("--input", inputs), ("--input-list", input_lists)):
        for name, path in (table or {}).items():
            argv += [flag, f"{name}={os.fspath(path)}"]
    for name, value in (params or {}).items():
        argv += ["--param", f"{name}={json.dumps(to_json_value(value), ensure_ascii=False)}"]
    for flag, table in (("--output", outputs), ("--output-param", output_params)):
        for name, path in (table or {}).items():
            argv += [flag, f"{name}={os.fspath(path)}"]
    for flag, value in (
        ("--metadata", metadata),
        ("--code-hash", code_hash),
        ("--task-id", task_id),
        ("--run-id", run_id),
    ):
        if value is not None:
            argv += [flag, os.fspath(value)]
    return argv
