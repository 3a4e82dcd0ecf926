"""Generated projects (tests/strategies.py) compile to Argo that passes Argo's rules and keeps the DAG."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import given

from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.argo import emit
from portaflow.compiler import compile_file, ir
from strategies import GeneratedPipeline, projects

from .checks import check_result
from .test_emit import check_depends


@given(projects())
def test_generated_pipelines_emit_valid_argo(gen: GeneratedPipeline) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = compile_file(gen.write(Path(tmp)), root=tmp)
    files = "\n".join(f"# {k}\n{v}" for k, v in gen.files.items())
    if gen.argo_errors:
        with pytest.raises(BackendError) as info:
            emit(p, options=EmitOptions())
        assert {m.code for m in info.value.messages} == gen.argo_errors, files
        assert all(m.span is not None and m.message for m in info.value.messages)
        return
    result = emit(p, options=EmitOptions())
    assert emit(p, options=EmitOptions()) == result, "emitting twice gave different bytes"
    docs = check_result(result)  # Argo's schema, hera's models, our lint
    # An artifact fan-in over a literal list is unrolled into one node per item: over `[]`
    # there is no node to wait for or to wait, so those IR edges have no `depends` to be in.
    empty = {lp.id for lp in p.loops if isinstance(lp.items, ir.Literal) and lp.items.value == []}
    unrolled_empty = {
        b.binding.task
        for t in p.tasks
        for b in t.inputs
        if b.kind == "artifact" and isinstance(b.binding, ir.Gathered) and b.binding.loop in empty
    }
    edges = tuple(e for e in p.edges if not {e.source, e.target} & unrolled_empty)
    check_depends(dataclasses.replace(p, edges=edges), docs[0])
