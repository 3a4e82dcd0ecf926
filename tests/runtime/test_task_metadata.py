"""The metadata record of a task: identity, timings, hashes, git, and what the step logged."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import portaflow
from pf_taskrun import Project
from portaflow import metadata
from portaflow.materializers import save_artifact
from portaflow.task import hash_inputs

STEPS = """
import portaflow
from portaflow import step

@step
def train(data: dict, lr: float = 0.1) -> float:
    portaflow.log_metadata(rows=len(data["x"]), source="unit test", nested={"a": [1, 2]})
    for epoch in range(3):
        portaflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    portaflow.log_metric("accuracy", 0.9)
    portaflow.log_metadata(weird=object())  # not JSON: recorded as its repr, never fails
    return lr * 2
"""

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def _run_train(project: Project, tmp_path: Path, env: dict[str, str] | None = None) -> dict:
    project.module("steps", STEPS)
    data = save_artifact({"x": [1, 2, 3]}, tmp_path / "data")
    meta_path = tmp_path / "meta.json"
    project.ok(
        "--step=steps:train",
        f"--input=data={data.path}",
        "--param=lr=0.25",
        f"--output-param=output={tmp_path / 'out.json'}",
        f"--metadata={meta_path}",
        "--code-hash=abc123",
        "--task-id=train",
        "--run-id=run-42",
        env={"PORTAFLOW_ATTEMPT": "3"} if env is None else env,
    )
    return json.loads(meta_path.read_text())


def test_the_attempt_comes_from_argos_retry_number_when_no_attempt_is_given(
    project: Project, tmp_path: Path
) -> None:
    # PORTAFLOW_RETRY is Argo's 0-based `{{retries}}`; PORTAFLOW_ATTEMPT (1-based) wins.
    assert _run_train(project, tmp_path / "a", {"PORTAFLOW_RETRY": "1"})["attempt"] == 2
    both = {"PORTAFLOW_RETRY": "1", "PORTAFLOW_ATTEMPT": "5"}
    assert _run_train(project, tmp_path / "b", both)["attempt"] == 5
    assert _run_train(project, tmp_path / "c", {})["attempt"] == 1


def test_metadata_records_the_execution(project: Project, tmp_path: Path) -> None:
    meta = _run_train(project, tmp_path)
    assert meta["task_id"] == "train" and meta["run_id"] == "run-42"
    assert meta["step"] == "steps:train" and meta["code_hash"] == "abc123"
    assert meta["attempt"] == 3
    assert meta["state"] == "succeeded" and meta["exit_code"] == 0 and meta["error"] is None
    assert ISO_UTC.match(meta["start"]) and ISO_UTC.match(meta["end"])
    assert meta["start"] <= meta["end"] and meta["duration_seconds"] >= 0
    assert meta["python"].count(".") == 2
    assert meta["git_commit"] is None and meta["git_dirty"] is None  # tmp is no repository

    sidecar = json.loads((tmp_path / "data" / "portaflow-artifact.json").read_text())
    data = meta["inputs"]["data"]
    assert data["kind"] == "artifact" and data["sha256"] == sidecar["sha256"]
    assert data["size"] == sidecar["size"] and data["materializer"] == "json"
    lr = meta["inputs"]["lr"]
    assert lr["kind"] == "parameter" and lr["value"] == 0.25
    assert lr["sha256"] == hash_inputs(params={"lr": 0.25})["lr"]
    out = meta["outputs"]["output"]
    assert out["kind"] == "parameter" and out["value"] == 0.5 and out["size"] == 3


def test_metadata_holds_what_the_step_logged(project: Project, tmp_path: Path) -> None:
    meta = _run_train(project, tmp_path)
    assert meta["metadata"]["rows"] == 3
    assert meta["metadata"]["source"] == "unit test"
    assert meta["metadata"]["nested"] == {"a": [1, 2]}
    assert meta["metadata"]["weird"].startswith("<object object")
    assert meta["metrics"] == {"loss": pytest.approx(1 / 3), "accuracy": 0.9}
    assert [e["step"] for e in meta["metric_history"]["loss"]] == [0, 1, 2]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_metadata_records_git_commit_and_dirty_flag(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    (project.root / "README").write_text("v1\n")
    _git(project.root, "init", "-q")
    _git(project.root, "add", ".")
    _git(project.root, "commit", "-q", "-m", "steps")
    head = subprocess.run(
        ["git", "-C", str(project.root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    meta = _run_train(project, tmp_path)
    assert meta["git_commit"] == head and meta["git_dirty"] is False
    (project.root / "README").write_text("v2\n")
    meta = _run_train(project, tmp_path)
    assert meta["git_dirty"] is True


def test_logging_outside_a_task_just_records() -> None:
    metadata.reset()
    portaflow.log_metadata(a=1, b=float("nan"))
    portaflow.log_metric("m", "not a number")  # type: ignore[arg-type]
    portaflow.log_metric("n", 2, step=1)
    got = metadata.collected()
    assert got["metadata"] == {"a": 1, "b": "nan"}
    assert got["metrics"]["n"] == 2.0 and got["metrics"]["m"] == "nan"
    assert got["metric_history"] == {"n": [{"step": 1, "value": 2.0}]}
    json.dumps(got, allow_nan=False)  # always strict JSON
    metadata.reset()
    assert metadata.collected()["metrics"] == {}


@pytest.mark.parametrize(
    ("iteration", "task_id"), [("", "train"), ("wf-train-123", "train[wf-train-123]")]
)
def test_an_iteration_of_a_loop_is_recorded_under_its_own_task_id(
    project: Project, tmp_path: Path, iteration: str, task_id: str
) -> None:
    # PORTAFLOW_ITERATION (Argo: the pod's name) tells apart the iterations of a loop, which all
    # get the same --task-id; their store records are named by the task id (put-if-absent).
    project.module("steps", STEPS)
    data = save_artifact({"x": [1]}, tmp_path / "data")
    project.ok(
        "--step=steps:train",
        f"--input=data={data.path}",
        f"--output-param=output={tmp_path / 'out.json'}",
        f"--metadata={tmp_path / 'meta.json'}",
        "--task-id=train",
        env={"PORTAFLOW_ITERATION": iteration},
    )
    assert json.loads((tmp_path / "meta.json").read_text())["task_id"] == task_id


def test_iteration_keys_are_the_local_runners() -> None:
    from portaflow.backends.local.plan import node_key
    from portaflow.protocol import iteration_key

    assert iteration_key("score", [0, 1]) == node_key("score", (0, 1)) == "score[0,1]"
    assert iteration_key("score", []) == node_key("score", ()) == "score"
