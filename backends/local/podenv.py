"""The local runner's stand-ins for a step's pod features: volumes, secret keys, limits.

- A `Volume.empty_dir` is a fresh folder in the task's execution folder (scratch
  space for one attempt, as an emptyDir lives as long as its pod); a `Volume.pvc`
  is one folder per claim under the store's `volumes/`, shared by every step and
  run that names the claim, as the claim is on a cluster. The step finds them with
  `portaflow.volume_path(mount_path)` (env PORTAFLOW_VOLUMES).
- A `SecretEnv` variable is read from the environment, else from the `.env` file
  the stack names (`env_file`); the environment wins. One found in neither is left
  unset and the step's log says so. Whole secrets (`secrets=["name"]`) are whatever
  the environment holds.
- Resource requests and limits are not enforced locally.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from portaflow.compiler import ir

#: Environment variable `portaflow.volume_path` reads (runtime/volumes.py).
VOLUMES_ENV = "PORTAFLOW_VOLUMES"


class EnvFileError(ValueError):
    """A .env file that cannot be read."""


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines of a .env file (`export `, comments, blank lines and quotes allowed)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"cannot read the env_file {path}: {exc}") from None
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise EnvFileError(f"{path}:{number}: expected KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out


def secret_values(
    cfg: ir.StepConfig, environ: Mapping[str, str], env_file: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The SecretEnv variables found ({ENV: value}) and a log line for each one missing."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for k in cfg.secret_env:
        value = environ.get(k.env, env_file.get(k.env))
        if value is None:
            missing.append(
                f"portaflow: {k.env} (key {k.key!r} of secret {k.secret!r}) is neither in the "
                "environment nor in the stack's env_file; the step runs without it\n"
            )
        else:
            found[k.env] = value
    return found, missing


def volume_folders(cfg: ir.StepConfig, exec_dir: Path, store_dir: Path) -> dict[str, str]:
    """{mount path: local folder} for the step's volumes, made on the way."""
    table: dict[str, str] = {}
    for i, v in enumerate(cfg.volumes):
        if v.kind == "pvc":
            assert v.claim is not None
            folder = store_dir / "volumes" / v.claim
        else:
            folder = exec_dir / "volumes" / f"volume-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        table[v.mount_path] = str(folder)
    return table


def pod_env(
    cfg: ir.StepConfig,
    *,
    environ: Mapping[str, str],
    env_file: Mapping[str, str],
    exec_dir: Path,
    store_dir: Path,
) -> dict[str, str]:
    """Variables to add to the task's environment; a missing secret is noted in step.log."""
    env, notes = secret_values(cfg, environ, env_file)
    if notes:
        exec_dir.mkdir(parents=True, exist_ok=True)
        with open(exec_dir / "step.log", "a", encoding="utf-8") as log:
            log.writelines(notes)
    if cfg.volumes:
        env[VOLUMES_ENV] = json.dumps(volume_folders(cfg, exec_dir, store_dir), sort_keys=True)
    return env


def env_file_values(root: Path, name: str | None) -> dict[str, str]:
    """The stack's env_file, relative to the project root; {} when none is named."""
    if not name:
        return {}
    path = Path(name) if os.path.isabs(name) else root / name
    return read_env_file(path)
