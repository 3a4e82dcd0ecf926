"""Executed equivalence: the ZenML original on ZenML's local orchestrator, the migration under `portaflow run`.

The originals run in a real ZenML (a venv of the tests' own, see zenmlenv.py), all in
one process with a private config and store; the migrated files run on portaflow's
local runner. Each step's outputs, loaded back from each tool's own artifact store and
put in one comparable form (zenml_canon.py), must be equal. ZenML's results for the
exact same inputs (files, ZenML version) are cached beside the venv, so only the first
session pays for ZenML's runs. Outside CI a machine that cannot install ZenML skips
with the reason; under CI=true that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from portaflow.compiler.migrate.zenml import migrate
from zenml_canon import canon
from zenmlenv import ZENML_VERSION, cache_root, ensure_zenml_venv, venv_key, zenml_env

HERE = Path(__file__).resolve().parent

#: Corpus file -> the pipeline to run, its parameters (as the file's own run call passes
#: them), and ZenML step names that differ from portaflow's task ids (`id=`, `name=`).
CASES: dict[str, dict[str, Any]] = {
    "starter_annotated": {"pipeline": "starter_pipeline", "params": {"n_rows": 40}},
    "multiple_outputs": {"pipeline": "split_pipeline", "params": {}},
    "retry_resources": {
        "pipeline": "resources_pipeline",
        "params": {},
        "rename": {"largest_value": "largest"},
    },
    "execution_order": {
        "pipeline": "ordered_pipeline",
        "params": {},
        "rename": {"final_audit": "audit"},
    },
    "model_control_plane": {"pipeline": "iris_training", "params": {}},
    "parameters": {
        "pipeline": "param_pipeline",
        "params": {"count": 4, "factor": 0.5, "label": "halved"},
    },
}


def _fingerprint() -> str:
    h = hashlib.sha256(f"{ZENML_VERSION}\0{venv_key()}\0".encode())
    for name in ("zenml_driver.py", "zenml_canon.py"):
        h.update((HERE / name).read_bytes())
    for name, case in sorted(CASES.items()):
        h.update(json.dumps([name, case], sort_keys=True).encode())
        h.update((HERE / "corpus" / f"{name}.py").read_bytes())
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def zenml_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case run once by ZenML (or its cached result for these exact inputs)."""
    cached = cache_root() / f"zenml-results-{_fingerprint()}.json"
    if cached.is_file():
        return dict(json.loads(cached.read_text()))
    try:
        venv = ensure_zenml_venv()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"cannot install ZenML under CI: {exc}")
        pytest.skip(f"cannot install ZenML here: {exc}")
    scratch = tmp_path_factory.mktemp("zenml")
    work = scratch / "work"
    work.mkdir()
    for name in ("zenml_driver.py", "zenml_canon.py"):
        shutil.copy(HERE / name, work / name)
    for name in CASES:
        shutil.copy(HERE / "corpus" / f"{name}.py", work / f"{name}.py")
    spec = [
        {"module": name, "pipeline": c["pipeline"], "params": c["params"]}
        for name, c in CASES.items()
    ]
    (scratch / "spec.json").write_text(json.dumps(spec))
    start = time.monotonic()
    done = subprocess.run(
        [str(venv / "bin" / "python"), "zenml_driver.py", "../spec.json", "../out.json"],
        cwd=work,
        env=zenml_env(scratch),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"ZenML run failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    results = json.loads((scratch / "out.json").read_text())
    results["_seconds"] = round(time.monotonic() - start, 1)
    cached.write_text(json.dumps(results, indent=1, sort_keys=True))
    return dict(results)


def _portaflow(name: str, tmp_path: Path) -> dict[str, Any]:
    """The migrated file run by portaflow's local runner: task id -> canonical outputs."""
    from portaflow.backends.local import run_pipeline
    from portaflow.compiler import compile_file
    from portaflow.materializers import load_artifact

    source = (HERE / "corpus" / f"{name}.py").read_text(encoding="utf-8")
    project = tmp_path / name
    project.mkdir()
    (project / "pipeline.py").write_text(migrate(source, f"{name}.py").code, encoding="utf-8")
    pipeline = compile_file(project / "pipeline.py", root=project)
    result = run_pipeline(
        pipeline,
        root=project,
        store=tmp_path / "store",
        params=CASES[name]["params"],
        workers=2,
    )
    assert result.ok, [(e.key, e.message) for e in result.executions]
    out: dict[str, Any] = {}
    for e in result.executions:
        values = {}
        for output, got in e.outputs.items():
            value = got["param"] if "param" in got else load_artifact(Path(got["artifact"]))
            values[output] = canon(value)
        out[e.key] = values
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_step_outputs(name: str, zenml_outcomes: dict[str, Any], tmp_path: Path) -> None:
    zenml = zenml_outcomes[name]
    assert zenml["status"] == "completed"
    rename = CASES[name].get("rename", {})
    expected = {}
    for step, got in zenml["steps"].items():
        assert got["state"] == "completed", (step, got)
        expected[rename.get(step, step)] = got["outputs"]
    assert _portaflow(name, tmp_path) == expected
