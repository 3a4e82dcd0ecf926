"""Structure parity: our PipelineSpec has the DAG shape kfp's own compiler gives the same pipeline.

For each control-flow example (and the constructs the examples combine), the hand-written
`kfp.dsl` equivalent in kfp_equivalents.py is compiled by kfp 2.17 and both specs are
reduced to their shape: per DAG, its tasks, which are loops (and over a literal or an
input), conditions (and their trigger policy), sub-DAGs, exit tasks, and who depends on
whom. Task names are compared after two documented normalisations: our task names are
unique in the whole pipeline (kfp.local resolves channels by task name up the DAG chain)
so a task inside a sub-pipeline call `etl-2` is `etl-2-load` where kfp says `load`; and
group tasks (`for-loop-N`, `condition-N`) are named by their content, not their number.
"""

from __future__ import annotations

import re
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import compiler as kfp_compiler

from portaflow.backends import EmitOptions
from portaflow.backends.kfp import emit
from portaflow.compiler import compile_file

from . import kfp_equivalents as eq

REPO = Path(__file__).resolve().parents[2]
#: kfp component names that differ from the step names only because one test module holds them.
RENAMED = {"report-fanout": "report"}
GROUP = re.compile(r"^(for-loop|condition|exit-handler|condition-branches)-\d+$")

Spec = dict[str, Any]


def _label(spec: Spec, comp: Spec, tname: str, prefix: str) -> str:
    task = comp["dag"]["tasks"][tname]
    callee = spec["components"][task["componentRef"]["name"]]
    if "dag" not in callee:
        name = tname[len(prefix) :] if prefix and tname.startswith(prefix) else tname
        return RENAMED.get(name, name)
    inner = prefix if GROUP.match(tname) else f"{tname}-"
    kids = sorted(_label(spec, callee, k, inner) for k in callee["dag"]["tasks"])
    kind = GROUP.match(tname).group(1) if GROUP.match(tname) else "sub"
    return f"{kind}({', '.join(kids)})"


def shape(spec: Spec, comp: Spec | None = None, prefix: str = "") -> list[Any]:
    """The DAG shape of a component: one entry per task, sorted."""
    comp = comp or spec["root"]
    out = []
    for tname, task in comp["dag"]["tasks"].items():
        callee = spec["components"][task["componentRef"]["name"]]
        label = _label(spec, comp, tname, prefix)
        it = task.get("parameterIterator")
        iterator = None if it is None else ("raw" if "raw" in it["items"] else "input")
        trigger = task.get("triggerPolicy", {})
        trig = "condition" if "condition" in trigger else trigger.get("strategy")
        deps = sorted(_label(spec, comp, d, prefix) for d in task.get("dependentTasks", []))
        inner: Any = None
        if "dag" in callee:
            inner_prefix = prefix if GROUP.match(tname) else f"{tname}-"
            inner = shape(spec, callee, inner_prefix)
        out.append((label, iterator, trig, deps, inner))
    return sorted(out, key=repr)


def kfp_spec(func: Any) -> Spec:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        kfp_compiler.Compiler().compile(func, str(path))
        doc: Spec = yaml.safe_load(path.read_text())
    return doc


def our_spec(path: Path) -> Spec:
    result = emit(compile_file(path, root=path.parent), options=EmitOptions())
    doc: Spec = next(yaml.safe_load_all(result.files[0].text))
    return doc


SINGLE_IF = """
from portaflow import pipeline, step


@step
def measure(seed: int) -> float:
    return seed / 10


@step
def celebrate(score: float) -> str:
    return str(score)


@pipeline
def single_if(seed: int = 3, threshold: float = 0.8):
    score = measure(seed)
    if score >= threshold:
        celebrate(score)
"""

EXIT_AND_AFTER = """
from portaflow import pipeline, step


@step
def create_table(name: str) -> None:
    print(name)


@step
def load_rows(name: str) -> int:
    return 42


@step
def vacuum(name: str) -> None:
    print(name)


@step
def cleanup() -> None:
    print("cleanup")


@pipeline(on_exit=cleanup)
def exit_and_after(table: str = "events"):
    created = create_table(table)
    rows = load_rows(table, after=[created])
    vacuum(table, after=[rows])
"""

RUN_STATUS = """
from portaflow import pipeline, step


@step
def load_rows(name: str) -> int:
    return 42


@step
def summary(name: str) -> str:
    return name


@step
def on_load_failure(name: str) -> str:
    return name


@pipeline
def run_status(table: str = "events"):
    rows = load_rows(table)
    summary(table, after=[rows], run="done")
    on_load_failure(table, after=[rows], run="failed")
"""

# A loop inside a branch nests in the branch's condition DAG, as kfp compiles a
# dsl.ParallelFor inside a dsl.If (an `after=` across them stays inside that DAG).
LOOP_IN_BRANCH = """
from portaflow import pipeline, step


@step
def measure(seed: int) -> float:
    return seed / 10


@step
def shard(index: int) -> int:
    return index


@step
def celebrate(score: float) -> str:
    return str(score)


@pipeline
def loop_in_branch(seed: int = 3, items: list[int] = [1, 2]):
    score = measure(seed)
    if score >= 0.5:
        first = [shard(i) for i in items]
        celebrate(score, after=[first])
"""

# A merged branch value of an if/else inside an `if`: the condition-branches DAG nests in
# the outer condition's DAG and the reader sits beside it (kfp's dsl.OneOf).
MERGE_IN_BRANCH = """
from portaflow import pipeline, step


@step
def measure(seed: int) -> float:
    return seed / 10


@step
def pick_a() -> int:
    return 1


@step
def pick_b() -> int:
    return 2


@step
def use_pick(value: int) -> int:
    return value


@pipeline(name="merge-in-branch")
def merge_in_branch(seed: int = 3, flag: int = 0):
    if not (seed == 0):
        score = measure(seed)
        if flag == 1:
            v = pick_a(after=[score])
        else:
            v = pick_b(after=[score])
        use_pick(v, after=[score])
"""

EXAMPLES = {
    "conditions": eq.conditions,
    "quickstart": eq.quickstart,
    "dynamic_fanout": eq.dynamic_fanout,
    "static_fanout": eq.static_fanout,
    "subpipeline": eq.subpipeline,
    "nested_loops": eq.nested_loops,
}
SOURCES = {
    "single_if": (SINGLE_IF, eq.single_if),
    "exit_and_after": (EXIT_AND_AFTER, eq.exit_and_after),
    "run_status": (RUN_STATUS, eq.run_status),
    "loop_in_branch": (LOOP_IN_BRANCH, eq.loop_in_branch),
    "merge_in_branch": (MERGE_IN_BRANCH, eq.merge_in_branch),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_has_kfps_shape(example: str) -> None:
    ours = our_spec(REPO / "examples" / example / "pipeline.py")
    theirs = kfp_spec(EXAMPLES[example])
    assert shape(ours) == shape(theirs)


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_construct_has_kfps_shape(case: str, tmp_path: Path) -> None:
    source, func = SOURCES[case]
    f = tmp_path / "pipeline.py"
    f.write_text(textwrap.dedent(source))
    assert shape(our_spec(f)) == shape(kfp_spec(func))
