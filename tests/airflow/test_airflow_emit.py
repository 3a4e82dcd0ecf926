"""The Airflow backend without Airflow: literals, names, options, diagnostics, the CLI flag and stack option."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import dagkit
from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.airflow.emit import emit, param_schema_type
from portaflow.backends.airflow.names import clean
from portaflow.backends.airflow.pylit import lit
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
)


@given(JSON)
def test_literals_are_python_literals_of_the_value(value: object) -> None:
    assert ast.literal_eval(lit(value)) == value


def test_non_finite_floats_are_spelled_as_calls() -> None:
    assert lit(float("inf")) == "float('inf')"
    assert math.isnan(eval(lit(float("nan"))))


@given(TEXT)
def test_clean_ids_are_valid_airflow_ids(raw: str) -> None:
    got = clean(raw)
    assert got and len(got) <= 100 and all(c.isascii() and (c.isalnum() or c in "_-") for c in got)
    assert (got == raw) or got != clean(raw + "x")


def test_param_types() -> None:
    assert param_schema_type("int") == "integer"
    assert param_schema_type("list[str]") == "array"
    assert param_schema_type("int | null") == ["integer", "null"]
    assert param_schema_type("pandas.DataFrame") == ""


def test_hostile_case_keeps_every_user_string_in_a_literal() -> None:
    folder = dagkit.CASES / "hostile"
    p = compile_file(folder / "pipeline.py", root=folder)
    (f,) = emit(p, options=EmitOptions()).files
    tree = ast.parse(f.text)  # the file is valid Python...
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    default = next(prm.default for prm in p.params if prm.name == "text")
    assert default in strings  # ...and the hostile default is one string constant in it
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)}  # type: ignore[union-attr]  # fmt: skip
    assert calls <= {"DAG", "Param", "PortaflowPodTask", "partial", "expand"}
    assert f.path == "hostile_dag_run_conf_a77b3a.py"


def test_unknown_operator_flavour_is_a_located_error() -> None:
    folder = dagkit.EXAMPLES / "quickstart"
    p = compile_file(folder / "pipeline.py", root=folder)
    with pytest.raises(BackendError) as info:
        emit(p, options=EmitOptions(extra={"airflow_operator": "celery"}))
    (m,) = info.value.messages
    assert m.code == "PF701" and m.span is not None and "local" in m.hint


def test_cli_flag_and_stack_option_choose_the_flavour(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "pipeline.py").write_text(
        (dagkit.EXAMPLES / "quickstart" / "pipeline.py").read_text()
    )
    (folder / "pyproject.toml").write_text(
        '[tool.portaflow]\ndefault_stack = "af"\n[tool.portaflow.stacks.af]\n'
        'target = "airflow"\nairflow_operator = "local"\n'
    )
    runner = CliRunner()
    out = runner.invoke(main, ["compile", str(folder / "pipeline.py")])
    assert out.exit_code == 0, out.output
    assert "PortaflowTask(" in out.output and "PortaflowPodTask" not in out.output
    out = runner.invoke(
        main, ["compile", str(folder / "pipeline.py"), "--airflow-operator", "kubernetes"]
    )
    assert out.exit_code == 0 and "PortaflowPodTask" in out.output
    again = runner.invoke(
        main, ["compile", str(folder / "pipeline.py"), "--airflow-operator", "kubernetes"]
    )
    assert again.output == out.output
