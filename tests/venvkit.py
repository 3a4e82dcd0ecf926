"""Cached venvs for the engines the tests run for real (Airflow, the MLflow server, ZenML, pods).

Each venv lives under ~/.cache/portaflow-tests/<name>-<hash> (PORTAFLOW_TEST_CACHE moves the
folder); the hash covers the requirements, the Python version and whatever else the caller says
changes the install. A venv is used only once its `.complete` marker exists, so an interrupted
install is redone, and a file lock makes concurrent processes (xdist workers, other sessions)
wait for one install.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def need(what: str, exc: BaseException | str) -> None:
    """In a test: skip for a missing dependency, except under CI where it fails the test."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{what} under CI: {exc}")
    pytest.skip(f"{what} here: {exc}")


def cache_root() -> Path:
    return Path(
        os.environ.get("PORTAFLOW_TEST_CACHE") or Path.home() / ".cache" / "portaflow-tests"
    )


def venv_key(requirements: Sequence[str], *extra: str) -> str:
    """A short hash of what the venv holds: requirements, Python version and `extra` parts."""
    h = hashlib.sha256()
    for part in (*requirements, sys.version, *extra):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class CachedVenv:
    """An installed venv."""

    path: Path
    #: Seconds the install took in this process (0.0 when it came from the cache).
    install_seconds: float

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    @property
    def python(self) -> Path:
        return self.bin("python")

    def recorded_install_seconds(self) -> float:
        """Seconds the install took when it was made, as recorded in its marker."""
        return float(json.loads((self.path / ".complete").read_text())["install_seconds"])


def venv_path(name: str, requirements: Sequence[str], *extra: str) -> Path:
    return cache_root() / f"{name}-{venv_key(requirements, *extra)}"


def ensure(
    name: str,
    requirements: Sequence[str],
    *,
    key_extra: Sequence[str] = (),
    what: str | None = None,
) -> CachedVenv:
    """The cached venv `name`, installing `requirements` (pip arguments) first when needed.

    Raises RuntimeError with the tail of pip's output when the install fails.
    """
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    path = venv_path(name, requirements, *key_extra)
    with open(root / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, other processes wait
        if (path / ".complete").is_file():
            return CachedVenv(path, 0.0)
        start = time.monotonic()
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
        done = subprocess.run(
            [*pip, "--disable-pip-version-check", *requirements],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            errors = [
                ln for ln in done.stderr.splitlines() if not ln.startswith("WARNING: Location")
            ]
            raise RuntimeError(
                f"installing {what or name} failed:\n{done.stdout[-2000:]}\n"
                + "\n".join(errors[-40:])
            )
        seconds = time.monotonic() - start
        (path / ".complete").write_text(json.dumps({"install_seconds": round(seconds, 1)}))
        return CachedVenv(path, seconds)
