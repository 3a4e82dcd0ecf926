"""Every example compiles to the committed Airflow DAG files, byte for byte, in both operator flavours.

`pytest --update-golden` rewrites tests/airflow/golden/; it refuses under CI.
These need no Airflow: the DAG files are imported by a real Airflow in test_airflow_dags.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import dagkit
from pfhelpers import Golden
from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.airflow.emit import emit
from portaflow.compiler import compile_file

GOLDEN = Path(__file__).with_name("golden")


@pytest.mark.parametrize("flavour", ["kubernetes", "local"])
@pytest.mark.parametrize("name", dagkit.example_names())
def test_golden(name: str, flavour: str, golden: Golden) -> None:
    path = dagkit.EXAMPLES / name / "pipeline.py"
    options = EmitOptions(extra={"airflow_operator": flavour})
    if flavour == "kubernetes" and f"example-{name}" in dagkit.LOCAL_FLAVOUR_ONLY:
        with pytest.raises(BackendError) as e:
            emit(compile_file(path, root=path.parent), options=options)
        assert {m.code for m in e.value.messages} == {"PF731"}  # one per container task
        return
    result = emit(compile_file(path, root=path.parent), options=options)
    assert emit(compile_file(path, root=path.parent), options=options) == result
    (f,) = result.files
    suffix = "" if flavour == "kubernetes" else ".local"
    golden.check(GOLDEN / f"example-{name}{suffix}.py", f.text)
