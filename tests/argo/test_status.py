"""Status-aware tasks on Argo: what their `depends` lets run (controller model), and the
RunStatus values the controller substitutes reaching the runtime intact."""

from __future__ import annotations

import json

import pytest

from portaflow import RunStatus
from portaflow.backends.argo import status

from . import controller as ctl

PHASES = ["Succeeded", "Failed", "Errored", "Skipped", "Omitted"]


@pytest.mark.parametrize("a", PHASES)
@pytest.mark.parametrize("b", PHASES)
def test_done_runs_after_any_phase_and_failed_only_after_a_failure(a: str, b: str) -> None:
    phases = {"load-rows": a, "b": b}
    names = sorted(phases)
    assert ctl.depends_ok(status.depends(names, failed=False), phases)
    failed = {a, b} & {"Failed", "Errored"}
    assert ctl.depends_ok(status.depends(names, failed=True), phases) is bool(failed)


def test_the_substituted_phases_read_as_a_run_status() -> None:
    text = json.dumps({"tasks": {"load_rows": "{{tasks.load-rows.status}}"}})
    tags = ctl.tags(text)
    assert tags == ["tasks.load-rows.status"]
    value = text.replace("{{tasks.load-rows.status}}", "Failed")
    got = RunStatus.from_value(json.loads(value))
    assert (got.status, got.failed_tasks) == ("failed", ("load_rows",))
