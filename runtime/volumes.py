"""`volume_path`: where a step finds a volume it declared with `@step(volumes=[...])`.

In a Kubernetes pod (Argo, KFP, Airflow's pod flavour) the volume is mounted at
its mount path, which is returned as is. The local runner gives every volume a
temporary folder and names them in env PORTAFLOW_VOLUMES (JSON: mount path ->
folder). A runner with no mounts at all (kfp.local, Airflow's local flavour)
gets a temporary folder per mount path, made on first use, so a step that
writes scratch files still runs; data in it does not outlive the process.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

#: Environment variable the local runner sets: {"mount path": "local folder"}.
VOLUMES_ENV = "PORTAFLOW_VOLUMES"

_fallback: dict[str, Path] = {}


def volume_path(mount_path: str) -> Path:
    """The folder to use for the volume mounted at `mount_path` (see the module docstring)."""
    raw = os.environ.get(VOLUMES_ENV)
    if raw:
        try:
            table = json.loads(raw)
        except ValueError:
            table = {}
        if isinstance(table, dict) and isinstance(table.get(mount_path), str):
            return Path(table[mount_path])
    path = Path(mount_path)
    if path.is_dir() and os.access(path, os.W_OK):
        return path
    if mount_path not in _fallback:
        _fallback[mount_path] = Path(tempfile.mkdtemp(prefix="portaflow-volume-"))
        print(
            f"portaflow: no volume is mounted at {mount_path}; using the temporary folder "
            f"{_fallback[mount_path]}",
            file=sys.stderr,
        )
    return _fallback[mount_path]
