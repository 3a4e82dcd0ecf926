"""Every example and golden case compiles to KFP, passes KFP's rules, and matches its golden bytes.

`pytest --update-golden` rewrites tests/kfp_backend/golden/<case>.yaml; it refuses under CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pfhelpers import Golden
from portaflow.backends import EmitOptions
from portaflow.backends.kfp import emit
from portaflow.compiler import compile_file

from .checks import check_result

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(
    [(f"example-{p.parent.name}", p) for p in (REPO / "examples").glob("*/pipeline.py")]
    + [(f"golden-{p.parent.name}", p) for p in (REPO / "tests" / "golden").glob("*/pipeline.py")]
)


@pytest.mark.parametrize(("case", "path"), CASES, ids=[c for c, _ in CASES])
def test_golden(case: str, path: Path, golden: Golden) -> None:
    pipeline = compile_file(path, root=path.parent)
    result = emit(pipeline, options=EmitOptions())
    # Byte-identical on a second, independent compile.
    assert emit(compile_file(path, root=path.parent), options=EmitOptions()) == result
    check_result(result)
    text = "".join(f"# file: {f.path}\n{f.text}" for f in result.files)
    golden.check(GOLDEN / f"{case}.yaml", text)


@pytest.mark.parametrize(("case", "path"), CASES, ids=[c for c, _ in CASES])
def test_container_flavour_passes_kfps_rules(case: str, path: Path) -> None:
    pipeline = compile_file(path, root=path.parent)
    result = emit(pipeline, options=EmitOptions(extra={"kfp_executor": "container"}))
    for spec in check_result(result):
        for exe in spec["deploymentSpec"]["executors"].values():
            if "importer" in exe:  # importer(...): KFP's own importer node, no container
                continue
            if exe["container"]["command"][0] == "sh":  # a container_step runs its own command
                continue
            assert exe["container"]["command"] == ["python", "-m", "portaflow.kfp_task"]
