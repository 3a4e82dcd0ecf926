"""A real ZenML for the tests: a venv of its own, cached between runs, and a private store per run.

The venv lives under ~/.cache/portaflow-tests/zenml-<hash> (override the folder with
PORTAFLOW_TEST_CACHE); the hash covers the requirements and the Python version. It is
used only once its `.complete` marker exists, so an interrupted install is redone, and a
file lock makes concurrent sessions wait for one install. Nothing ZenML writes ever lands
in the user's home: `zenml_env` points ZenML's config, repository and local store at a
scratch folder. The lead can build the venv ahead of the tests:
`python tests/migrate/zenml/zenmlenv.py` (prints the path and the install seconds).
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
from pathlib import Path

ZENML_VERSION = "0.98.0"
#: ZenML with its local store, and what the executed corpus files import (pandas, numpy).
#: Nothing more: scikit-learn and pyarrow would triple the install (ZenML's pandas
#: materializer writes CSV without pyarrow, which is all the comparison needs).
REQUIREMENTS = (
    f"zenml[local]=={ZENML_VERSION}",
    "pandas>=2.0",
    "numpy",
)


def cache_root() -> Path:
    return Path(
        os.environ.get("PORTAFLOW_TEST_CACHE") or Path.home() / ".cache" / "portaflow-tests"
    )


def venv_key() -> str:
    h = hashlib.sha256()
    for part in (*REQUIREMENTS, sys.version):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def venv_path() -> Path:
    return cache_root() / f"zenml-{venv_key()}"


def install_seconds(path: Path) -> float:
    """Seconds the install of the venv at `path` took, as recorded in its marker."""
    return float(json.loads((path / ".complete").read_text())["install_seconds"])


def ensure_zenml_venv() -> Path:
    """The cached ZenML venv (its folder), installing it first when needed.

    Raises RuntimeError with pip's output when the install fails.
    """
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    path = venv_path()
    with open(root / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, other sessions wait
        if (path / ".complete").is_file():
            return path
        start = time.monotonic()
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
        done = subprocess.run(
            [*pip, "--disable-pip-version-check", *REQUIREMENTS],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"installing ZenML failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        seconds = time.monotonic() - start
        (path / ".complete").write_text(json.dumps({"install_seconds": round(seconds, 1)}))
        return path


def zenml_env(scratch: Path) -> dict[str, str]:
    """Environment for ZenML processes whose config, repository and store live in `scratch`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENML")}
    env.update(
        ZENML_CONFIG_PATH=str(scratch / "config"),
        ZENML_LOCAL_STORES_PATH=str(scratch / "stores"),
        ZENML_REPOSITORY_PATH=str(scratch),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        ZENML_LOGGING_VERBOSITY="WARN",
        ZENML_DEBUG="false",
        AUTO_OPEN_DASHBOARD="false",
        PYTHONPATH="",
        HOME=str(scratch / "home"),
    )
    return env


if __name__ == "__main__":  # python tests/migrate/zenml/zenmlenv.py: install (or find) the venv
    got = ensure_zenml_venv()
    print(got, f"{install_seconds(got):.1f}s")
