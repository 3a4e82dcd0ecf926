"""`@step(packages=[...])` on KFP and Airflow (issue 14): the code package's prelude installs them.

The install test runs a KFP container-flavour executor in the pod venv of tests/podkit.py
(s3fs only), with the archive at a file:// URL: the prelude fetches it, installs a small
pure-Python wheel (tabulate) with the bootstrap's pip call into the per-task cache, and the
step imports it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from podkit import need, pod_python, run_pod
from portaflow.backends import CodeRef, EmitOptions
from portaflow.backends.airflow.emit import emit as airflow_emit
from portaflow.backends.kfp import emit
from portaflow.compiler import compile_file
from portaflow.compiler.codepkg import code_package

SPEC = "tabulate==0.9.0"


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


STEP = f"""
from portaflow import pipeline, step


@step(packages=["{SPEC}"])
def a(x: int) -> str:
    import tabulate

    return tabulate.tabulate([[x]], tablefmt="plain")


@pipeline
def p(x: int = 7):
    a(x)
"""


def test_kfp_passes_them_to_the_prelude_and_warns_without_a_package(tmp_path: Path) -> None:
    write(tmp_path, {"pipeline.py": STEP})
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    code = CodeRef(mode="package", digest="0" * 64, uri="s3://b/p/code/x.tar")
    for flavour in ("python", "container"):
        options = EmitOptions(extra={"store": "s3://b/p", "kfp_executor": flavour}, code=code)
        result = emit(p, options=options)
        assert result.warnings == ()
        spec = next(yaml.safe_load_all(result.files[0].text))
        cmd = spec["deploymentSpec"]["executors"]["exec-a"]["container"]["command"]
        if flavour == "container":
            assert cmd[cmd.index("--package") : cmd.index("--") + 1] == ["--package", SPEC, "--"]
        else:
            assert (
                f"_portaflow_code('{'0' * 64}', 's3://b/p/code/x.tar', None, ['{SPEC}'])" in cmd[3]
            )
    plain = emit(p, options=EmitOptions())
    assert [w.code for w in plain.warnings] == ["PF633"]
    assert "--package" not in plain.files[0].text


def test_airflow_passes_them_to_the_pod_and_warns_without_a_package(tmp_path: Path) -> None:
    write(tmp_path, {"pipeline.py": STEP})
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    code = CodeRef(mode="package", digest="0" * 64, uri="s3://b/p/code/x.tar")
    result = airflow_emit(p, options=EmitOptions(extra={"store": "s3://b/p"}, code=code))
    assert result.warnings == ()
    assert f"'packages': ['{SPEC}']" in result.files[0].text
    no_package = EmitOptions()
    on_the_worker = EmitOptions(extra={"airflow_operator": "local"}, code=code)
    for options in (no_package, on_the_worker):
        plain = airflow_emit(p, options=options)
        assert [w.code for w in plain.warnings] == ["PF732"], options


def test_the_kfp_prelude_installs_them_into_the_per_task_cache(tmp_path: Path) -> None:
    try:
        python = pod_python()
    except RuntimeError as exc:
        need("a pod venv (python -m venv + pip install s3fs)", exc)
        raise
    absent = subprocess.run([python, "-c", "import tabulate"], capture_output=True, check=False)
    assert absent.returncode == 1  # not in the pod's image: only the prelude can bring it
    root = tmp_path / "project"
    write(root, {"pipeline.py": STEP})
    pipeline = compile_file(root / "pipeline.py", root=root)
    pkg = code_package(pipeline, root)
    archive = tmp_path / "code.tar"
    archive.write_bytes(pkg.archive())
    code = CodeRef(mode="package", digest=pkg.digest, uri=f"file://{archive}")
    options = EmitOptions(extra={"store": "s3://b/p", "kfp_executor": "container"}, code=code)
    spec = next(yaml.safe_load_all(emit(pipeline, options=options).files[0].text))
    container = spec["deploymentSpec"]["executors"]["exec-a"]["container"]
    out = tmp_path / "out.txt"
    values = {
        "{{$.inputs.parameters['x']}}": "7",
        "{{$.outputs.parameters['Output'].output_file}}": str(out),
        "{{$.outputs.artifacts['pf_metrics'].path}}": str(tmp_path / "metrics"),
    }
    args = []
    for a in container["args"]:
        for tag, value in values.items():
            a = a.replace(tag, value)
        args.append(a)
    pod = tmp_path / "pod"
    done = run_pod([*container["command"], *args], python=python, pod=pod)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == "7"  # a STRING output, as KFP reads it: raw text
    assert f"portaflow bootstrap: warning: installing {SPEC} at run time" in done.stderr
    (installed,) = (pod / "code-cache" / "packages").iterdir()
    assert (installed / "tabulate").is_dir() or (installed / "tabulate.py").is_file()
    assert json.loads((tmp_path / "metrics").read_text()) == {}
