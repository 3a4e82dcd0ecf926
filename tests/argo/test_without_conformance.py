"""Without ../shared/conformance/ the Argo golden and hera checks still run; only the schema skips (fails in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portaflow.backends import EmitOptions, EmitResult, EmittedFile
from portaflow.backends.argo import emit
from portaflow.compiler import compile_file

from . import conftest as argo_conftest
from .checks import check_result

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_conformance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(argo_conftest, "CONFORMANCE", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)


@pytest.mark.usefixtures("no_conformance")
def test_hera_and_lint_checks_run_without_the_schema() -> None:
    path = REPO / "examples" / "quickstart" / "pipeline.py"
    result = emit(compile_file(path, root=path.parent), options=EmitOptions())
    (doc,) = check_result(result)  # would raise Skipped if it still needed the schema
    assert doc["kind"] == "Workflow"
    # The checks are live: a key hera's models do not know still fails without the schema.
    text = result.files[0].text
    assert "  entrypoint: " in text
    broken = text.replace("  entrypoint: ", "  entrypiont: ", 1)
    bad = EmitResult(files=(EmittedFile(path="x.yaml", text=broken),))
    with pytest.raises(AssertionError):
        check_result(bad)


@pytest.mark.usefixtures("no_conformance")
def test_schema_test_skips_with_its_reason() -> None:
    with pytest.raises(pytest.skip.Exception) as info:
        argo_conftest.conformance_file("argo-workflows-schema.json")
    assert "is missing" in str(info.value) and "schema" in str(info.value)


@pytest.mark.usefixtures("no_conformance")
def test_schema_test_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert argo_conftest.schema_available()
    with pytest.raises(pytest.fail.Exception) as info:
        argo_conftest.conformance_file("argo-workflows-schema.json")
    assert "must sit beside the repo in CI" in str(info.value)
