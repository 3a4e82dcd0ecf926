"""Package mode in the Airflow kubernetes flavour (issue 14): the DAG names the code package.

The pods themselves run in tests/airflow/test_pod_codepkg.py (a real Airflow builds them);
this needs no Airflow: the golden DAG file, and the local flavour left alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dagkit
from pfhelpers import Golden
from portaflow.backends import CodeRef, EmitOptions
from portaflow.backends.airflow.emit import emit
from portaflow.compiler import compile_file

GOLDEN = Path(__file__).with_name("golden")
DIGEST = "0" * 64
CODE = CodeRef(mode="package", digest=DIGEST, uri=f"s3://ml-store/team-a/code/{DIGEST}.tar")
STORE = {"store": "s3://ml-store/team-a", "store_secret": "ml-store-creds"}


def _dag(name: str, flavour: str) -> str:
    path = dagkit.EXAMPLES / name / "pipeline.py"
    options = EmitOptions(code=CODE, extra={**STORE, "airflow_operator": flavour})
    (f,) = emit(compile_file(path, root=path.parent), options=options).files
    ast.parse(f.text)
    return f.text


def test_golden_package_mode(golden: Golden) -> None:
    text = _dag("quickstart", "kubernetes")
    assert text.count(f"code={{'digest': '{DIGEST}', 'uri': '{CODE.uri}'}}") == 4
    golden.check(GOLDEN / "package-quickstart.py", text)


def test_the_local_flavour_runs_the_worker_s_code_and_names_no_package() -> None:
    assert "code=" not in _dag("quickstart", "local")


def test_submit_publishes_first(tmp_path: Path) -> None:
    """`portaflow publish --help`: "`portaflow submit` publishes first by itself" (Airflow's
    kubernetes flavour too): the archive is in the store before the server is asked."""
    from click.testing import CliRunner

    from portaflow.compiler.cli import main
    from portaflow.compiler.codepkg import code_package

    store = tmp_path / "store"
    (tmp_path / "pipeline.py").write_text(
        (dagkit.EXAMPLES / "quickstart" / "pipeline.py").read_text()
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "q"\nversion = "0"\n\n[tool.portaflow.stacks.prod]\n'
        f'store = "file://{store}"\ndags_folder = "{tmp_path / "dags"}"\n'
    )
    out = CliRunner().invoke(
        main,
        ["submit", str(tmp_path / "pipeline.py"), "--target", "airflow", "--stack", "prod"]
        + ["--host", "http://127.0.0.1:9"],
        env={"AIRFLOW_TOKEN": "t"},
    )
    assert out.exit_code == 1 and "submit to http://127.0.0.1:9 failed" in out.output
    digest = code_package(compile_file(tmp_path / "pipeline.py", root=tmp_path), tmp_path).digest
    assert [p.name for p in (store / "code").iterdir()] == [f"{digest}.tar"]
    assert f"published: file://{store}/code/{digest}.tar" in out.output
