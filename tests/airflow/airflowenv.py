"""A real Apache Airflow for the tests: a venv of its own, cached between runs, and a temporary AIRFLOW_HOME.

The venv lives under ~/.cache/portaflow-tests/airflow-<hash> (override the folder
with PORTAFLOW_TEST_CACHE); the hash covers the requirements, the Python version,
this checkout's path and the project's dependencies, because the project is installed
editable from here. A venv is used only once its `.complete` marker exists, so an
interrupted install is redone. Used by tests/airflow/conftest.py and benchmarks/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "tests") not in sys.path:  # run as a script or from benchmarks/
    sys.path.append(str(REPO / "tests"))

import venvkit  # noqa: E402
from venvkit import cache_root  # noqa: E402,F401  (re-exported for callers)

AIRFLOW_VERSION = "3.3.2"
REQUIREMENTS = (
    f"apache-airflow=={AIRFLOW_VERSION}",
    "apache-airflow-providers-cncf-kubernetes",
)


def _key_extra() -> tuple[str, str]:
    """The project is installed editable from this checkout: its path and dependencies count."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = json.dumps([project["dependencies"], project["optional-dependencies"]["ml"]])
    return str(REPO), deps


class AirflowVenv(venvkit.CachedVenv):
    """An installed Airflow venv."""

    @property
    def airflow(self) -> Path:
        return self.bin("airflow")


def ensure_venv() -> AirflowVenv:
    """The cached venv, installing it first when needed (raises RuntimeError on failure)."""
    got = venvkit.ensure(
        "airflow", [*REQUIREMENTS, "-e", f"{REPO}[ml]"], key_extra=_key_extra(), what="Airflow"
    )
    return AirflowVenv(got.path, got.install_seconds)


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
