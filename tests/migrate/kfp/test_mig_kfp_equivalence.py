"""Migrated KFP pipelines mean what the originals meant, executed.

Every corpus pipeline is compiled by kfp 2.17's own compiler (the original, imported)
and by portaflow (the migrated file, `--target kfp`); both specs reduce to the same DAG
shape (tests/kfp_backend/test_parity.py's `shape`). A handful of them also run under
kfp.local, original and migrated, and every task gives the same outputs.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from kfp.dsl.graph_component import GraphComponent
from kfp_backend.test_parity import kfp_spec, our_spec, shape

from portaflow.compiler import compile_file
from portaflow.compiler.migrate.kfp import migrate

HERE = Path(__file__).resolve().parent
CORPUS = sorted((HERE / "corpus").glob("*.py"))
#: Cases whose steps run here (no packages to install, no GPU image), kept few: each
#: kfp.local task is a fresh Python process.
RUNS = ["addition", "coin_flip", "named_outputs", "artifacts"]


def _original(path: Path) -> Any:
    """The module of the original file, imported (kfp's compiler needs the objects)."""
    spec = importlib.util.spec_from_file_location(f"kfp_corpus_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _migrated(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "pipeline.py"
    out.write_text(migrate(path.read_text(encoding="utf-8"), path.name).code, encoding="utf-8")
    return out


def _pipeline_func(module: Any, name: str) -> GraphComponent:
    found = [v for v in vars(module).values() if isinstance(v, GraphComponent) and v.name == name]
    assert len(found) == 1, (name, found)
    return found[0]


# ml_train.py leaves base_image out, as KFP's samples do; kfp warns about its default.
@pytest.mark.filterwarnings("ignore:The default base_image:FutureWarning")
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_same_dag_shape_as_kfps_compile(path: Path, tmp_path: Path) -> None:
    migrated = _migrated(path, tmp_path)
    name = compile_file(migrated, root=tmp_path).name
    theirs = kfp_spec(_pipeline_func(_original(path), name))
    assert shape(our_spec(migrated)) == shape(theirs)


def _outputs(root: Path, json_text: bool) -> dict[str, list[str]]:
    """Task name -> the JSON of its outputs' values, under a kfp.local root.

    portaflow's KFP components pass a float as its JSON text (`json_text`: decoded when it
    is JSON); path-style artifacts give the text of their file.
    """
    out: dict[str, list[str]] = {}
    for f in sorted(root.rglob("executor_output.json")):
        values = json.loads(f.read_text()).get("parameterValues", {})
        if not values:  # path-style artifacts: the value is the file's text
            arts = [p for p in f.parent.rglob("*") if p.is_file() and p != f]
            values = {
                p.name: p.read_text() for p in arts if p.name not in ("executor_output.json",)
            }
        decoded = [_decode(v) if json_text else v for _k, v in sorted(values.items())]
        out.setdefault(f.parent.name, []).extend(json.dumps(v, sort_keys=True) for v in decoded)
    return {k: sorted(v) for k, v in sorted(out.items())}


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _local(run: Any, root: Path, env: dict[str, str]) -> dict[str, list[str]]:
    json_text = bool(env)
    import kfp.local

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    original_print = builtins.print  # kfp.local swaps print per task (see conformance/targets.py)
    try:
        kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
        run()
    finally:
        builtins.print = original_print
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return _outputs(root, json_text)


@pytest.mark.slow
@pytest.mark.parametrize("case", RUNS)
def test_same_task_outputs_under_kfp_local(case: str, tmp_path: Path) -> None:
    from kfp.components import load_component_from_file

    from portaflow.backends import EmitOptions
    from portaflow.backends.kfp import emit

    path = HERE / "corpus" / f"{case}.py"
    project = tmp_path / "project"
    migrated = _migrated(path, project)
    pipeline = compile_file(migrated, root=project)
    spec = tmp_path / "ours.yaml"
    spec.write_text(emit(pipeline, options=EmitOptions()).files[0].text, encoding="utf-8")
    theirs = _local(_pipeline_func(_original(path), pipeline.name), tmp_path / "kfp-root", {})
    ours = _local(
        load_component_from_file(str(spec)),
        tmp_path / "pf-root",
        {"PORTAFLOW_ROOT": str(project)},
    )
    assert theirs and ours == theirs
