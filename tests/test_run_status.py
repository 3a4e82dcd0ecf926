"""`portaflow.RunStatus`: the forms every runner hands it, and the task runtime filling it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from portaflow import RunStatus


@pytest.mark.parametrize(
    ("value", "status", "failed"),
    [
        ({"status": "succeeded", "failed_tasks": []}, "succeeded", ()),
        ({"status": "failed", "failed_tasks": ["train"]}, "failed", ("train",)),
        ({"status": "Succeeded"}, "succeeded", ()),  # Argo's {{workflow.status}}
        ({"status": "Error"}, "failed", ()),
        ({"status": "FAILED"}, "failed", ()),  # KFP's PipelineTaskFinalStatus.state
        ({"tasks": {"a": "Succeeded", "b": "Omitted"}}, "succeeded", ()),
        ({"tasks": {"b": "Failed", "a": "Errored", "c": "Skipped"}}, "failed", ("a", "b")),
    ],
)
def test_every_runner_form_reads_alike(value: object, status: str, failed: tuple[str, ...]) -> None:
    got = RunStatus.from_value(value)
    assert (got.status, got.failed_tasks) == (status, failed)
    assert got.succeeded is (status == "succeeded")
    assert got.failed is (status != "succeeded")


def test_not_an_object_is_refused() -> None:
    with pytest.raises(TypeError, match="JSON object"):
        RunStatus.from_value(["failed"])


def test_the_task_runtime_builds_the_run_status(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "from portaflow import RunStatus, step\n\n\n"
        "@step\n"
        "def report(status: RunStatus) -> str:\n"
        "    return f\"{status.status}:{','.join(status.failed_tasks)}\"\n"
    )
    out = tmp_path / "out.json"
    value = json.dumps({"tasks": {"load": "Failed"}})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "portaflow.task",
            "--step",
            "mod:report",
            "--root",
            str(tmp_path),
            "--param",
            f"status={value}",
            "--output-param",
            f"output={out}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == "failed:load"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "portaflow.task",
            "--step",
            "mod:report",
            "--root",
            str(tmp_path),
            "--param",
            "status=[1]",
            "--output-param",
            f"output={out}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "RunStatus is given as a JSON object" in bad.stderr
