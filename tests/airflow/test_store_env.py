"""A stack with a store URL: the kubernetes flavour's pods get the store and the secret's name."""

from __future__ import annotations

import ast
import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from airflowenv import airflow_env, ensure_venv
from podkit import need
from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.airflow.emit import emit
from portaflow.compiler.frontend import analyze

PIPELINE = """
from portaflow import pipeline, step


@step(env={"MODE": "fast"}, secrets=["db-creds"])
def make(n: int) -> bytes:
    return bytes(range(n))


@pipeline
def demo(n: int = 5):
    make(n)
"""


def _dag(tmp_path: Path, **extra: str) -> str:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    assert result.pipeline is not None
    (file,) = emit(result.pipeline, options=EmitOptions(extra=extra)).files
    ast.parse(file.text)
    return file.text


def test_pods_get_the_store_uri_and_secret_reference_and_no_credential(tmp_path: Path) -> None:
    text = _dag(tmp_path, store="s3://ml-store/team-a", store_secret="ml-store-creds")
    assert "'PORTAFLOW_STORE_URI': 's3://ml-store/team-a'" in text
    assert "'PORTAFLOW_PIPELINE': 'demo'" in text
    assert "'MODE': 'fast'" in text
    assert "secrets=['db-creds', 'ml-store-creds']" in text
    assert "AWS_" not in text


def test_without_a_store_url_nothing_changes(tmp_path: Path) -> None:
    plain = _dag(tmp_path)
    assert _dag(tmp_path, airflow_operator="local", store="s3://b/p") == _dag(
        tmp_path, airflow_operator="local"
    )
    assert "PORTAFLOW_STORE_URI" not in plain


def test_a_bad_store_secret_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as err:
        _dag(tmp_path, store="s3://b/p", store_secret="Bad_Name")
    assert [m.code for m in err.value.messages] == ["PF401"]


MAPPED = """
import json
import sys

from portaflow.backends.airflow.operators import PortaflowTask

class TaskInstance:
    dag_id, try_number = "d", 1

got = {}
for index in ([], [2], [0, 1]):
    op = PortaflowTask(
        task_id="train", step="steps:train", code_hash="h", inputs={}, outputs={},
        iteration={"index": index, "items": [None] * len(index)} if index else None,
    )
    args = op.prepare({"ti": TaskInstance(), "run_id": "manual__1", "params": {}}, sys.argv[1])
    got[repr(index)] = args["task_id"]
print(json.dumps(got))
"""


def test_mapped_instances_are_recorded_under_their_loop_indexes(tmp_path: Path) -> None:
    # Every mapped instance of a task inside a fan-out gets the same Airflow task id; with a
    # store, records are named by the task id (put-if-absent), so each instance adds its loop
    # indexes, as the local runner names iterations (`train[0,1]`). Run by a real Airflow.
    try:
        venv = ensure_venv()
    except RuntimeError as exc:
        need("an Airflow venv", exc)
        raise
    done = subprocess.run(
        [str(venv.python), "-c", MAPPED, str(tmp_path / "artifacts")],
        env=airflow_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == {"[]": "train", "[2]": "train[2]", "[0, 1]": "train[0,1]"}


TRIES = """
import json
import os
import sys
from pathlib import Path

from portaflow.backends.airflow.operators import PortaflowTask
from portaflow.backends.airflow.pod import PortaflowPodTask

root, store = Path(sys.argv[1]), sys.argv[2]
(root / "steps.py").write_text("def make(n: int) -> int:\\n    return n + 1\\n")


class TaskInstance:
    dag_id, try_number, map_index = "d", 3, -1

    def xcom_pull(self, **kwargs):
        return None


context = {"ti": TaskInstance(), "run_id": "manual__1", "params": {"n": 4}}
source = {"n": {"param": "n", "kind": "parameter"}}
local = PortaflowTask(
    task_id="make", step="steps:make", code_hash="h", inputs=source, outputs={"output": "parameter"},
    artifact_store=store, project_root=str(root),
)
local.execute(context)
(meta,) = Path(store).rglob("metadata.json")
pod = PortaflowPodTask(
    task_id="make", step="steps:make", code_hash="h", inputs=source, outputs={"output": "parameter"},
    image="python:3.11-slim", artifact_store=store, project_root=str(root),
)
(spec,) = pod.pod_arguments(context)
print(json.dumps({"local": json.loads(meta.read_text())["attempt"], "pod": json.loads(spec)["attempt"]}))
"""


def test_each_try_is_recorded_as_its_own_attempt(tmp_path: Path) -> None:
    # A retried Airflow task runs again with the same arguments; the try number (1-based) is the
    # record's attempt, so the try that succeeded is `-a3` beside the failed ones, not dropped.
    try:
        venv = ensure_venv()
    except RuntimeError as exc:
        need("an Airflow venv", exc)
        raise
    (tmp_path / "project").mkdir()
    done = subprocess.run(
        [str(venv.python), "-c", TRIES, str(tmp_path / "project"), str(tmp_path / "artifacts")],
        env=airflow_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"local": 3, "pod": 3}
