"""Whole pipelines: the Argo output, run through the controller model on each release, runs
the same tasks with the same inputs as `portaflow run` (the real local runner).

The pipelines gather the cases of issue #9 that interact: empty fan-outs at both levels
of nested loops, nested conditions on values produced inside a branch, strings holding
`{{`, `{%`, `}}`, `$`, quotes and newlines produced at compile time and at run time,
and integers beyond 2**53.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from portaflow.backends import EmitOptions
from portaflow.backends.argo import emit, versions
from portaflow.backends.local.runner import run_pipeline
from portaflow.compiler import compile_file

from . import controller as ctl
from .checks import check_result

RELEASES = [(3, 5, 14), (3, 6, 19), (3, 7, 13), (3, 7, 16), (4, 0, 4), (4, 1, 2)]

STEPS = """
from portaflow import step

HOSTILE = ["hi {{workflow.name}}", "{{=1+1}}", "a }} {% b %}", "$(HOME)", "q'\\"\\n", "{{{"]


@step
def groups(n: int) -> list[dict]:
    return [{"name": f"g{i}", "xs": list(range(i))} for i in range(n)]


@step
def strings() -> list[str]:
    return HOSTILE


@step
def echo(s: str) -> str:
    return s + "|{{tasks.x.outputs.result}}"


@step
def big(x: int) -> int:
    return 2**60 + x


@step
def positive(x: int) -> bool:
    return x > 0


@step
def half(x: int) -> int:
    return x // 2


@step
def collect(xs: list) -> list:
    return xs


@step
def mark(s: str) -> str:
    return "marked " + s
"""

PIPELINE = """
from portaflow import pipeline
from steps import big, collect, echo, groups, half, mark, positive, strings


@pipeline
def inner(x: int):
    if positive(x):
        mark("sub")
    return half(x)


@pipeline
def runs(n: int = 4, empty: list[int] = [], words: list[str] = ["{{x}}", "p0", "\\"q\\""]):
    gs = groups(n)
    for g in gs:
        for x in g["xs"]:
            b = big(x)
            if positive(x):
                h = half(x)
                if h:
                    mark(g["name"])
    collect([big(x) for g in gs for x in g["xs"]])
    collect([half(x) for x in empty])
    collect([echo(s) for s in strings()])
    collect([echo(w) for w in words])
    collect([inner(x) for x in [0, 3]])
    collect([inner(x) for x in empty])
    mark("lit {{workflow.name}} }} {% x %} $(HOME) 'q' \\" \\n")
    if positive(n):
        h2 = half(n)
        if h2:
            mark("nested")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("runs")
    (root / "steps.py").write_text(STEPS)
    (root / "pipeline.py").write_text(PIPELINE)
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    sys.modules.pop("steps", None)


def _step(ref: str) -> Any:
    module, _, name = ref.partition(":")
    obj = getattr(importlib.import_module(module), name)
    return getattr(obj, "func", obj)


def _key(task: str, inputs: dict[str, Any]) -> str:
    return task.split("[", 1)[0] + " " + json.dumps(inputs, sort_keys=True)


@pytest.fixture(scope="module")
def local_calls(project: Path) -> list[str]:
    p = compile_file(project / "pipeline.py", root=project)
    result = run_pipeline(p, root=project, store=project / ".portaflow", workers=2)
    assert result.ok, [(e.task, e.message) for e in result.executions]
    done = [e for e in result.executions if e.state == "succeeded"]
    # The runner records each parameter input as {"param": value}.
    return sorted(_key(e.task, {k: v["param"] for k, v in e.inputs.items()}) for e in done)


@pytest.mark.parametrize("release", RELEASES)
def test_argo_runs_what_portaflow_run_runs(
    project: Path, local_calls: list[str], release: tuple[int, int, int]
) -> None:
    p = compile_file(project / "pipeline.py", root=project)
    version = f"{release[0]}.{release[1]}"
    assert version in versions.SUPPORTED
    result = emit(p, options=EmitOptions(extra={"argo_version": version}))
    check_result(result)
    run = ctl.Run(yaml.safe_load(result.files[0].text), _step, release)
    got = sorted(_key(task, inputs) for task, inputs in run.calls)
    assert got == local_calls, got
    # The cases the pipeline is built for all happened.
    collected = [k for k in got if k.startswith("collect")]
    assert 'collect_2 {"xs": []}' in collected
    assert any(str(2**60 + 1) in k for k in collected)
    assert any("hi {{workflow.name}}|{{tasks.x.outputs.result}}" in k for k in collected)
    marks = {json.loads(k.split(" ", 1)[1])["s"] for k in got if "mark" in k.split(" ")[0]}
    assert 'collect_5 {"xs": [0, 1]}' in got and 'collect_6 {"xs": []}' in got, got
    assert {"g3", "nested", "sub", "lit {{workflow.name}} }} {% x %} $(HOME) 'q' \" \n"} == marks
