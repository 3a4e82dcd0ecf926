"""Generated projects (tests/strategies.py) compile to Argo that passes Argo's rules and keeps the DAG."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given

from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.argo import emit
from portaflow.compiler import compile_file
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
    check_depends(p, docs[0])
