"""A real Airflow for these tests: its venv (cached), one AIRFLOW_HOME, and one batched run of every DAG.

Outside CI a machine that cannot install Airflow skips these tests with the
reason; under CI=true the failed install is a test failure.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

import dagkit
from airflowenv import ensure_venv, init_home
from dagkit import Airflow, Compiled


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    start = time.monotonic()
    try:
        venv = ensure_venv()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"cannot install Airflow under CI: {exc}")
        pytest.skip(f"cannot install Airflow here: {exc}")
    installed = time.monotonic()
    home = tmp_path_factory.mktemp("airflow-home")
    env = init_home(venv, home)
    got = Airflow(venv=venv, home=home, env=env)
    got.timings.update(venv=installed - start, migrate=time.monotonic() - installed)
    return got


@pytest.fixture(scope="session")
def compiled(airflow: Airflow) -> dict[str, Compiled]:
    """Every source compiled with the local flavour into AIRFLOW_HOME/dags."""
    dags = airflow.home / "dags"
    out = {}
    for name, folder in dagkit.all_sources().items():
        p, file = dagkit.compile_example(folder, dags)
        out[name] = Compiled(name, folder, p, file)
    return out


@pytest.fixture(scope="session")
def runs(airflow: Airflow, compiled: dict[str, Compiled]) -> dict[str, dict[str, Any]]:
    """One `dag.test()` of every compiled DAG, all in one Airflow process."""
    start = time.monotonic()
    jobs = [{"dag_id": c.dag_id} for c in compiled.values()]
    results = dagkit.run_jobs(airflow.venv.python, airflow.env, airflow.home / "dags", jobs)
    airflow.timings["runs"] = time.monotonic() - start
    by_dag = {r["dag_id"]: r for r in results}
    return {name: by_dag[c.dag_id] for name, c in compiled.items()}
