"""Golden IR for every example and golden case, compared as bytes; each compiles twice identically."""

from __future__ import annotations

from pathlib import Path

import pytest

from pfhelpers import Golden, case_id, example_files
from portaflow.compiler import compile_file, irjson


@pytest.mark.parametrize("path", example_files(), ids=case_id)
def test_ir_golden(path: Path, golden: Golden) -> None:
    first = irjson.dumps(compile_file(path))
    second = irjson.dumps(compile_file(path))
    assert first == second, "compiling twice gave different bytes"
    golden.check(path.parent / "expected" / "ir.json", first)


@pytest.mark.parametrize("path", example_files(), ids=case_id)
def test_ir_json_round_trip(path: Path) -> None:
    pipeline = compile_file(path)
    text = irjson.dumps(pipeline)
    again = irjson.loads(text)
    assert again == pipeline
    assert irjson.dumps(again) == text
