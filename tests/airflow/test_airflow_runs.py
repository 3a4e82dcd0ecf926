"""Every example and case, compiled with the local flavour, runs under a real Airflow like `portaflow run`.

All DAGs run in one Airflow process (the `runs` fixture); each test compares one
of them task by task with the local runner, by the conformance suite's rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dagkit
from af_outcomes import airflow_outcome, differences, local_outcome
from dagkit import Compiled

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(dagkit.all_sources()))
def test_run_matches_portaflow_run(
    name: str, compiled: dict[str, Compiled], runs: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    c = compiled[name]
    want = local_outcome(c.pipeline, c.folder, {}, tmp_path)
    got = airflow_outcome(c.pipeline, runs[name])
    assert differences(want, got) == []
    assert got.status == ("failed" if name == "case-failing" else "succeeded")


def test_a_failing_step_fails_the_run_and_the_hooks_run(runs: dict[str, dict[str, Any]]) -> None:
    run = runs["case-failing"]
    states = {t["task_id"]: t["state"] for t in run["tasks"]}
    assert run["state"] == "failed"
    assert states == {
        "prepare": "success",
        "boom": "failed",
        "after_boom": "upstream_failed",
        "alert": "success",
        "tidy": "success",
        "portaflow_watcher": "failed",
    }


def test_hostile_values_stay_data(
    compiled: dict[str, Compiled], runs: dict[str, dict[str, Any]]
) -> None:
    c = compiled["case-hostile"]
    outputs = {t["task_id"]: t["xcom"] for t in runs["case-hostile"]["tasks"]}
    (text,) = [prm.default for prm in c.pipeline.params if prm.name == "text"]
    assert outputs["echo"] == {"output": text}
    assert outputs["echo_2"] == {"output": "{{ var.value.secret }}\n$(id) `id`"}
    assert outputs["join"] == {"output": f"{text}+{{{{ var.value.secret }}}}\n$(id) `id`"}
    # the join after if/else runs although one branch was skipped
    assert outputs["done"] == {"output": "done"} and outputs["small"] is None
