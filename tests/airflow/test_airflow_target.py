"""The conformance target (tests/conformance/target_airflow.py) runs an example with parameters like `portaflow run`."""

from __future__ import annotations

from pathlib import Path

import pytest

import dagkit
from af_outcomes import differences, local_outcome
from conformance.target_airflow import AirflowTarget
from dagkit import Airflow
from portaflow.compiler import compile_file

pytestmark = pytest.mark.slow


def test_conformance_target_with_parameters(airflow: Airflow, tmp_path: Path) -> None:
    folder = dagkit.EXAMPLES / "conditions"
    params = {"seed": 11, "mode": "strict", "day": "sunday"}
    got = AirflowTarget().run(folder, params, tmp_path / "airflow")
    want = local_outcome(
        compile_file(folder / "pipeline.py", root=folder), folder, params, tmp_path
    )
    assert differences(want, got) == []
    assert got.status == "succeeded" and got.tasks["rest"].state == "skipped"
