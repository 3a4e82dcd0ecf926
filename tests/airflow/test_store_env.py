"""A stack with a store URL: the kubernetes flavour's pods get the store and the secret's name."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.airflow.emit import emit
from portaflow.compiler.frontend import analyze

PIPELINE = """
from portaflow import pipeline, step


@step(env={"MODE": "fast"}, secrets=["db-creds"])
def make(n: int) -> bytes:
    return bytes(range(n))


@pipeline
def demo(n: int = 5):
    make(n)
"""


def _dag(tmp_path: Path, **extra: str) -> str:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    assert result.pipeline is not None
    (file,) = emit(result.pipeline, options=EmitOptions(extra=extra)).files
    ast.parse(file.text)
    return file.text


def test_pods_get_the_store_uri_and_secret_reference_and_no_credential(tmp_path: Path) -> None:
    text = _dag(tmp_path, store="s3://ml-store/team-a", store_secret="ml-store-creds")
    assert "'PORTAFLOW_STORE_URI': 's3://ml-store/team-a'" in text
    assert "'PORTAFLOW_PIPELINE': 'demo'" in text
    assert "'MODE': 'fast'" in text
    assert "secrets=['db-creds', 'ml-store-creds']" in text
    assert "AWS_" not in text


def test_without_a_store_url_nothing_changes(tmp_path: Path) -> None:
    plain = _dag(tmp_path)
    assert _dag(tmp_path, airflow_operator="local", store="s3://b/p") == _dag(
        tmp_path, airflow_operator="local"
    )
    assert "PORTAFLOW_STORE_URI" not in plain


def test_a_bad_store_secret_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as err:
        _dag(tmp_path, store="s3://b/p", store_secret="Bad_Name")
    assert [m.code for m in err.value.messages] == ["PF401"]
