"""Random valid pipelines (tests/strategies.py) compile to Airflow DAGs that import with the IR's graph.

Hypothesis draws the pipelines and each is compiled (twice, to the same bytes);
then one DagBag import checks them all, so Airflow starts once.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import dagkit
from dagkit import Airflow
from portaflow.backends import EmitOptions
from portaflow.backends.airflow.emit import emit
from portaflow.compiler import ir
from portaflow.compiler.frontend import analyze
from strategies import GeneratedPipeline, pipelines

pytestmark = pytest.mark.slow
# The profile's count (200 by default, 5000 in `deep`): one DagBag import reads them all.
EXAMPLES = int(os.environ.get("HYPOTHESIS_AIRFLOW_EXAMPLES", settings.default.max_examples))


def test_generated_pipelines_import_with_their_graph(airflow: Airflow, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    compiled: dict[str, ir.Pipeline] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(pipelines())
    def collect(gen: GeneratedPipeline) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "pipeline.py"
            f.write_text(gen.source)
            result = analyze(f, root=tmp)
        assert result.pipeline is not None, [d.render() for d in result.errors]
        p = dataclasses.replace(result.pipeline, name=f"generated_{len(compiled)}")
        for flavour in ("local", "kubernetes"):
            options = EmitOptions(extra={"airflow_operator": flavour})
            (out,) = emit(p, options=options).files
            assert emit(p, options=options).files[0].text == out.text
        (dags / out.path).write_text(out.text, encoding="utf-8")
        compiled[p.name] = p

    collect()
    answer = airflow.driver("import", str(dags))
    assert answer["import_errors"] == {}
    assert set(answer["dags"]) == set(compiled)
    for name, p in compiled.items():
        dagkit.check_graph(p, answer["dags"][name])
