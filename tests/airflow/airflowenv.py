"""A real Apache Airflow for the tests: a venv of its own, cached between runs, and a temporary AIRFLOW_HOME.

The venv lives under ~/.cache/portaflow-tests/airflow-<hash> (override the folder
with PORTAFLOW_TEST_CACHE); the hash covers the requirements, the Python version,
this checkout's path and the project's dependencies, because the project is installed
editable from here. A venv is used only once its `.complete` marker exists, so an
interrupted install is redone. Used by tests/airflow/conftest.py and benchmarks/.
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

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_VERSION = "3.3.2"
REQUIREMENTS = (
    f"apache-airflow=={AIRFLOW_VERSION}",
    "apache-airflow-providers-cncf-kubernetes",
)


def cache_root() -> Path:
    return Path(
        os.environ.get("PORTAFLOW_TEST_CACHE") or Path.home() / ".cache" / "portaflow-tests"
    )


def venv_key() -> str:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = json.dumps([project["dependencies"], project["optional-dependencies"]["ml"]])
    h = hashlib.sha256()
    for part in (*REQUIREMENTS, sys.version, str(REPO), deps):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class AirflowVenv:
    """An installed Airflow venv."""

    path: Path
    #: Seconds the install took in this process (0.0 when it came from the cache).
    install_seconds: float

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def airflow(self) -> Path:
        return self.path / "bin" / "airflow"


def ensure_venv() -> AirflowVenv:
    """The cached venv, installing it first when needed (raises CalledProcessError on failure)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"airflow-{venv_key()}"
    with open(root / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, other sessions wait
        if (path / ".complete").is_file():
            return AirflowVenv(path, 0.0)
        start = time.monotonic()
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        pip = [
            str(path / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
        ]
        done = subprocess.run(
            [*pip, *REQUIREMENTS, "-e", f"{REPO}[ml]"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            errors = [
                ln for ln in done.stderr.splitlines() if not ln.startswith("WARNING: Location")
            ]
            raise RuntimeError(
                f"installing Airflow failed:\n{done.stdout[-2000:]}\n" + "\n".join(errors[-40:])
            )
        seconds = time.monotonic() - start
        (path / ".complete").write_text(json.dumps({"install_seconds": round(seconds, 1)}))
        return AirflowVenv(path, seconds)


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for Airflow commands on a private AIRFLOW_HOME (SQLite, no examples)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        PORTAFLOW_ARTIFACT_STORE=str(home / "artifacts"),
        PYTHONPATH="",
    )
    env.update(extra)
    return env


def init_home(venv: AirflowVenv, home: Path) -> dict[str, str]:
    """Create AIRFLOW_HOME with a migrated metadata database; returns its environment."""
    (home / "dags").mkdir(parents=True, exist_ok=True)
    env = airflow_env(home)
    subprocess.run(
        [str(venv.airflow), "db", "migrate"], env=env, check=True, capture_output=True, text=True
    )
    return env


if __name__ == "__main__":  # python tests/airflow/airflowenv.py: install (or find) the venv
    got = ensure_venv()
    print(got.path, f"{got.install_seconds:.1f}s")
