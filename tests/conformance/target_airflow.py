"""The Airflow target of the conformance suite: the example compiled with the local operator flavour,
executed by a real Airflow 3 (`dag.test()` in the Airflow venv of tests/airflow/airflowenv.py).

One AIRFLOW_HOME (migrated once) serves every run of the session. Skipped
conditional tasks are present as "skipped"; iterations of an empty fan-out are
absent, as under the local runner. Artifacts compare by the content digest
their sidecar records.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from conformance.outcome import RunOutcome

# The Airflow helpers live beside the Airflow tests (tests/airflow has no __init__.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "airflow"))

import airflowenv
import dagkit
from af_outcomes import airflow_outcome, artifact_digest

_HOME: dict[str, Any] = {}


def _airflow() -> tuple[airflowenv.AirflowVenv, Path, dict[str, str]]:
    if not _HOME:
        venv = airflowenv.ensure_venv()
        home = Path(tempfile.mkdtemp(prefix="portaflow-airflow-"))
        _HOME.update(venv=venv, home=home, env=airflowenv.init_home(venv, home))
    return _HOME["venv"], _HOME["home"], _HOME["env"]


class AirflowTarget:
    """Runs an example under Airflow and reports it in the local runner's node keys."""

    name = "airflow"

    def run(self, example_dir: Path, params: dict[str, Any], workdir: Path) -> RunOutcome:
        venv, home, env = _airflow()
        p, file = dagkit.compile_example(example_dir, home / "dags")
        env = {**env, "PORTAFLOW_ARTIFACT_STORE": os.fspath(workdir / "airflow-artifacts")}
        (result,) = dagkit.run_jobs(
            venv.python, env, home / "dags", [{"dag_id": file[:-3], "conf": params}]
        )
        return airflow_outcome(p, result, digest=_sha256)


def _sha256(path: str) -> str:
    """An artifact as the suite compares it: the bare sha256 its sidecar records."""
    return artifact_digest(path).removeprefix("sha256:")
