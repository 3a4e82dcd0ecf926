"""The ML example (ingest -> train -> evaluate -> drift check, pandas + sklearn) end to end, twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from localkit import assert_ok
from portaflow.backends.local import Store, run_pipeline
from portaflow.compiler import compile_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_ml_example_runs_and_the_second_run_is_all_cache_hits(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("pyarrow")
    project = tmp_path / "ml"
    shutil.copytree(
        EXAMPLES / "ml", project, ignore=shutil.ignore_patterns(".portaflow", "__pycache__")
    )
    pipeline = compile_file(project / "pipeline.py", root=project)
    store = project / ".portaflow"

    first = run_pipeline(
        pipeline, root=project, store=store, params={"n_estimators": 10}, workers=4
    )
    assert_ok(first)
    assert first.model_version == ("regressor", 1)
    ran = set(first.by_state("succeeded"))
    assert {"ingest", "split", "train", "evaluate", "check_drift"} <= ran
    # no drift with the default shift: the promote branch ran, the drift branch was skipped
    assert "promote" in ran and "alert" in first.by_state("skipped")

    second = run_pipeline(
        pipeline, root=project, store=store, params={"n_estimators": 10}, workers=4
    )
    assert_ok(second)
    assert second.by_state("succeeded") == []
    assert set(second.by_state("cached")) == ran
    assert second.model_version == ("regressor", 2)
    with Store(store) as st:
        versions = st.model_versions("regressor")
    metrics = {m["name"] for m in versions[1]["metrics"]}
    assert "rmse" in metrics  # logged by evaluate, carried over by the cache hit
    assert any(a["name"] == "train.model" for a in versions[1]["artifacts"])
