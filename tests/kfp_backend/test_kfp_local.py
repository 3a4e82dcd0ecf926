"""Under kfp.local, a step's logged metrics become its system.Metrics artifact, and values keep their types."""

from __future__ import annotations

import builtins
import json
import textwrap
from pathlib import Path

import pytest

from portaflow.backends import EmitOptions
from portaflow.backends.kfp import emit
from portaflow.compiler import compile_file

SOURCE = """
from portaflow import log_metric, pipeline, step


@step
def measure(n: int, label: str) -> float:
    log_metric("accuracy", 0.75)
    log_metric("rows", n)
    return n / 4


@step
def check(score: float, n: int, label: str, items: list[int]) -> str:
    assert isinstance(n, int) and isinstance(items[0], int), (n, items)
    return f"{label}:{score}:{n}:{sum(items)}"


@pipeline
def metrics(n: int = 3, label: str = "it's \\"quoted\\"\\n{{x}} $(y)"):
    s = measure(n, label)
    check(s, n, label, [1, 2])
"""


@pytest.mark.slow
def test_metrics_and_types_under_kfp_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kfp.local
    from kfp.components import load_component_from_file

    (tmp_path / "pipeline.py").write_text(textwrap.dedent(SOURCE))
    result = emit(compile_file(tmp_path / "pipeline.py", root=tmp_path), options=EmitOptions())
    spec = tmp_path / result.files[0].path
    spec.write_text(result.files[0].text)
    monkeypatch.setenv("PORTAFLOW_ROOT", str(tmp_path))
    monkeypatch.setenv("PORTAFLOW_KFP_RECORDS", str(tmp_path / "records"))
    kfp.local.init(
        runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root")
    )
    original_print = builtins.print
    try:
        load_component_from_file(str(spec))()
    finally:
        builtins.print = original_print  # kfp.local can leave it swapped (see conformance)
    outputs = {}
    for f in (tmp_path / "root").rglob("executor_output.json"):
        outputs[f.parent.name] = json.loads(f.read_text())
    metrics = outputs["measure"]["artifacts"]["pf_metrics"]["artifacts"][0]["metadata"]
    assert metrics == {"accuracy": 0.75, "rows": 3}
    lines = (tmp_path / "records" / "records.jsonl").read_text().splitlines()
    checked = [json.loads(line) for line in lines if '"check"' in line]
    assert checked[0]["outputs"]["output"] == 'it\'s "quoted"\n{{x}} $(y):0.75:3:3'
