"""Every example and golden case compiles to Argo, passes Argo's rules, and matches its golden bytes.

`pytest --update-golden` rewrites tests/argo/golden/<case>.yaml; it refuses under CI.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
import yaml

from portaflow.backends import EmitOptions
from portaflow.backends.argo import emit
from portaflow.compiler import compile_file

from .checks import check_result
from .conftest import conformance_file, schema_errors
from .test_emit import check_depends

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(
    [(f"example-{p.parent.name}", p) for p in (REPO / "examples").glob("*/pipeline.py")]
    + [(f"golden-{p.parent.name}", p) for p in (REPO / "tests" / "golden").glob("*/pipeline.py")]
)


@pytest.mark.parametrize(("case", "path"), CASES, ids=[c for c, _ in CASES])
def test_golden(case: str, path: Path, request: pytest.FixtureRequest) -> None:
    """Hera, lint, dependencies and the golden bytes: none of it needs ../shared/conformance/."""
    pipeline = compile_file(path, root=path.parent)
    result = emit(pipeline, options=EmitOptions())
    assert emit(compile_file(path, root=path.parent), options=EmitOptions()) == result
    docs = check_result(result)
    check_depends(pipeline, docs[0])
    text = "".join(f"# file: {f.path}\n{f.text}" for f in result.files)
    golden = GOLDEN / f"{case}.yaml"
    if request.config.getoption("--update-golden"):
        if os.environ.get("CI"):
            pytest.fail("--update-golden is refused under CI")
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, newline="\n")
    assert golden.exists(), f"no golden file {golden}; run pytest --update-golden"
    want = golden.read_text()
    if want != text:
        diff = difflib.unified_diff(
            want.splitlines(True), text.splitlines(True), str(golden), "emitted"
        )
        pytest.fail("".join(diff))


@pytest.mark.parametrize(("case", "path"), CASES, ids=[c for c, _ in CASES])
def test_golden_schema(case: str, path: Path) -> None:
    """Every golden document passes Argo's JSON schema (skipped, with the reason, without it)."""
    conformance_file("argo-workflows-schema.json")
    golden = GOLDEN / f"{case}.yaml"
    docs = [d for d in yaml.safe_load_all(golden.read_text()) if d is not None]
    assert docs, golden
    for doc in docs:
        assert schema_errors(doc) == [], golden
