"""`@step(packages=[...])` (issue 14): read statically, installed by the bootstrap, warned about.

The install test runs the bootstrap in the pod venv of tests/podkit.py (s3fs only) and
installs a small pure-Python wheel (tabulate) with pip into the per-task cache.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hashkit import write
from podkit import need, pod_python, run_pod
from portaflow.backends import CodeRef, EmitOptions
from portaflow.backends.argo import emit
from portaflow.bootstrap import bootstrap_command
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main
from portaflow.compiler.codepkg import code_package
from portaflow.compiler.frontend import analyze

SPEC = "tabulate==0.9.0"
STEP = f"""
@step(packages=["{SPEC}"])
def a(x: int) -> str:
    import tabulate

    return tabulate.tabulate([[x]], tablefmt="plain")
"""


def test_packages_are_read_into_the_ir(tmp_path: Path) -> None:
    write(tmp_path, {"pipeline.py": STEP})
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    (step,) = p.steps
    assert step.config.packages == (SPEC,)


@pytest.mark.parametrize(
    "value",
    ['"tabulate"', '["--index-url=https://evil.example"]', '["{{workflow.name}}"]', "[1]"]
    + ['["a\\nb"]', '["$(rm)"]', '[""]'],
)
def test_bad_packages_are_pf302(tmp_path: Path, value: str) -> None:
    write(
        tmp_path,
        {"pipeline.py": f"\n@step(packages={value})\ndef a(x: int) -> int:\n    return x\n"},
    )
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    assert [d.code for d in result.errors] == ["PF302"]
    assert "packages must be a list of pip requirement strings" in result.errors[0].message


def test_argo_passes_them_to_the_bootstrap_and_warns_without_a_package(tmp_path: Path) -> None:
    write(tmp_path, {"pipeline.py": STEP})
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    code = CodeRef(mode="package", digest="0" * 64, uri="s3://b/p/code/x.tar")
    result = emit(p, options=EmitOptions(extra={"store": "s3://b/p"}, code=code))
    assert result.warnings == ()
    doc = yaml.safe_load(result.files[0].text)
    (template,) = [t for t in doc["spec"]["templates"] if "container" in t]
    cmd = template["container"]["command"]
    assert cmd[cmd.index("--package") : cmd.index("--") + 1] == ["--package", SPEC, "--"]
    plain = emit(p, options=EmitOptions())
    assert [w.code for w in plain.warnings] == ["PF532"]
    assert "--package" not in plain.files[0].text


def test_portaflow_run_warns_that_it_does_not_install_them(tmp_path: Path) -> None:
    write(tmp_path, {"pipeline.py": STEP.replace("import tabulate", "import json as tabulate")})
    text = (
        (tmp_path / "pipeline.py")
        .read_text()
        .replace('tabulate.tabulate([[x]], tablefmt="plain")', "tabulate.dumps(x)")
    )
    (tmp_path / "pipeline.py").write_text(text)
    out = CliRunner().invoke(main, ["run", str(tmp_path / "pipeline.py"), "--root", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "pipeline.py:" in out.stderr
    assert (
        f"warning PF920: step 'a': packages=['{SPEC}'] are not installed by `portaflow run`"
        in out.stderr
    )
    assert "an image holding them is the reproducible choice" in out.stderr


def test_the_bootstrap_installs_them_into_the_per_task_cache(tmp_path: Path) -> None:
    try:
        python = pod_python()
    except RuntimeError as exc:
        need("a pod venv (python -m venv + pip install s3fs)", exc)
        raise
    absent = subprocess.run([python, "-c", "import tabulate"], capture_output=True, check=False)
    assert absent.returncode == 1  # not in the pod's image: only the bootstrap can bring it
    root = tmp_path / "project"
    write(root, {"pipeline.py": STEP})
    pipeline = compile_file(root / "pipeline.py", root=root)
    pkg = code_package(pipeline, root)
    archive = tmp_path / "code.tar"
    archive.write_bytes(pkg.archive())
    out = tmp_path / "out.json"
    cmd = bootstrap_command(
        digest=pkg.digest,
        uri="s3://unused/code.tar",
        code_path=str(archive),
        packages=pipeline.steps[0].config.packages,
        task_args=["--step", "pipeline:a", "--param", "x=7", "--output-param", f"output={out}"],
    )
    pod = tmp_path / "pod"
    done = run_pod(cmd, python=python, pod=pod)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == "7"
    assert f"portaflow bootstrap: warning: installing {SPEC} at run time" in done.stderr
    assert "an image holding them is the reproducible choice" in done.stderr
    (installed,) = (pod / "code-cache" / "packages").iterdir()
    assert (installed / "tabulate").is_dir() or (installed / "tabulate.py").is_file()
    # The next task of the pod finds them in the cache: no pip, no warning.
    out.unlink()
    again = run_pod(cmd, python=python, pod=pod)
    assert again.returncode == 0, again.stderr
    assert "installing" not in again.stderr
    assert json.loads(out.read_text()) == "7"
    shutil.rmtree(pod)
