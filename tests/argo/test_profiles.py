"""The hypothesis pipelines of tests/strategies.py compile to Argo under every release profile.

Whatever the shared strategy grows to draw (elif/else, nested loops, sub-pipelines,
hooks, empty lists, hostile strings), every document passes the schema, hera, the lint,
the tag check, and has the IR's dependencies; only constructs Argo cannot express are
refused, each with a located PF5xx diagnostic.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given

from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.argo import emit, versions
from portaflow.compiler import compile_file
from strategies import GeneratedPipeline, pipelines

from .checks import check_result
from .test_emit import check_depends

#: Refusals that are Argo limits, not bugs: artifact fan-in over run-time lists, hooks
#: reading task outputs (docs/backends/argo.md).
ARGO_LIMITS = {"PF505", "PF506"}


@given(pipelines())
def test_generated_pipelines_under_every_profile(gen: GeneratedPipeline) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "pipeline.py"
        f.write_text(gen.source)
        p = compile_file(f, root=Path(tmp))
    for version in versions.SUPPORTED:
        for kind in ("workflow", "workflow-template"):
            options = EmitOptions(kind=kind, extra={"argo_version": version})
            try:
                result = emit(p, options=options)
            except BackendError as e:
                assert {m.code for m in e.messages} <= ARGO_LIMITS, gen.source
                assert all(m.span is not None for m in e.messages)
                break
            docs = check_result(result)
            check_depends(p, docs[0])
            assert emit(p, options=options) == result
