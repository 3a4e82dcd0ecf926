"""Examples x targets: every target that executes here gives the outcome `portaflow run` gives.

Each example runs for real on the local runner (the reference) and on every other
target of `targets.TARGETS`, with the same parameters; the outcomes are compared task
by task (`targets.by_task`): which tasks ran, their states, and every output (a
parameter's JSON value, an artifact's sha256). Branches not taken are absent on both.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from outcome import RunOutcome
from targets import INDEXED, TARGETS, by_key, by_task

from portaflow.compiler import compile_file
from portaflow.compiler.ir import IMPORTER_STEP

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

#: Parameter sets per example: defaults, plus runs that take the other branches.
RUNS: dict[str, list[dict[str, Any]]] = {
    "quickstart": [{}, {"count": 3}],
    "conditions": [{}, {"seed": 1, "day": "sunday"}, {"seed": 5, "mode": "strict"}],
    "dynamic_fanout": [{}, {"n_parts": 1}, {"n_parts": 0}],
    "static_fanout": [{"regions": ["eu", "north-america"]}],
    "subpipeline": [{}],
    "hooks_and_after": [{}],
    "multi_module": [{}],
    "nested_loops": [{}],
    "ml": [{"n_estimators": 10}, {"n_estimators": 10, "drift_shift": 3.0}],
    "bounded_fanout": [{}],
    "branch_merge": [{}, {"seed": 1}, {"seed": 9}],
    "pod_features": [{}, {"n": 1}],
    "container_step": [{"text": "a b  c"}],
    "importer": [{}, {"notes_uri": "data/stopwords.txt"}],
}

#: Targets whose importer is the engine's own node (KFP's `importer` executor): it runs no
#: portaflow task and writes no record, so the imported bytes are compared through the
#: outputs of every step that reads them.
ENGINE_IMPORTERS = {"kfp-local"}

#: (example, target) pairs an engine here cannot run, and why; each is asserted to fail.
LIMITS: dict[tuple[str, str], tuple[dict[str, Any], str]] = {
    ("nested_loops", "kfp-local"): (
        {},
        "kfp.local resolves a ParallelFor's items only from a DAG input or a task's "
        "`Output`, so a loop over a field of the outer item (`config['rates']`) fails",
    ),
    ("container_step", "kfp-local"): (
        {"text": "a b  c"},
        "kfp.local's SubprocessRunner runs only lightweight Python components; it refuses a "
        "container component ('The SubprocessRunner only supports running Lightweight Python "
        "Components'); its DockerRunner would need Docker",
    ),
    ("dynamic_fanout", "kfp-local"): (
        {"n_parts": 0},
        "kfp.local publishes no Collected output for a loop with no iterations",
    ),
}

CASES = [
    pytest.param(example, params, target, id=f"{example}-{target}-{i}")
    for example, runs in RUNS.items()
    for i, params in enumerate(runs)
    for target in TARGETS
    if target != "local" and LIMITS.get((example, target), (None,))[0] != params
]


def _without_importers(reference: RunOutcome, example: Path) -> RunOutcome:
    """The reference minus its importer tasks (for a target whose engine imports itself)."""
    pipeline = compile_file(example / "pipeline.py", root=example)
    imported = {t.id for t in pipeline.tasks if t.step == IMPORTER_STEP}
    tasks = {k: t for k, t in reference.tasks.items() if k.split("[", 1)[0] not in imported}
    return RunOutcome(status=reference.status, tasks=tasks)


def _compare(reference: RunOutcome, other: RunOutcome, target: str, what: str) -> None:
    assert other.status == reference.status, what
    assert by_task(other) == by_task(reference), what
    if target in INDEXED:
        assert by_key(other) == by_key(reference), what


@pytest.mark.slow
@pytest.mark.parametrize(("example", "params", "target"), CASES)
def test_target_matches_portaflow_run(
    example: str, params: dict[str, Any], target: str, tmp_path: Path
) -> None:
    reference = TARGETS["local"](EXAMPLES / example, params, tmp_path / "local")
    assert reference.status == "succeeded"
    other = TARGETS[target](EXAMPLES / example, params, tmp_path / target)
    if target in ENGINE_IMPORTERS:
        reference = _without_importers(reference, EXAMPLES / example)
    _compare(reference, other, target, f"{example} {params} on {target}")


def test_every_example_is_covered() -> None:
    names = {p.parent.name for p in EXAMPLES.glob("*/pipeline.py")}
    covered = set(RUNS) | {example for example, _target in LIMITS}
    assert names <= covered, f"examples with no conformance run: {sorted(names - covered)}"


@pytest.mark.slow
@pytest.mark.parametrize(("example", "target"), sorted(LIMITS), ids=lambda v: str(v))
def test_known_engine_limits_still_fail(example: str, target: str, tmp_path: Path) -> None:
    """The engine gaps listed in LIMITS are real: portaflow run succeeds, the engine fails."""
    params, _why = LIMITS[(example, target)]
    reference = TARGETS["local"](EXAMPLES / example, params, tmp_path / "local")
    assert reference.status == "succeeded"
    other = TARGETS[target](EXAMPLES / example, params, tmp_path / target)
    assert other.status == "failed"


FAILING = """
from portaflow import pipeline, step


@step
def produce(n: int = 2) -> int:
    return n


@step
def explode(x: int) -> int:
    raise ValueError(f"step failed on {x}")


@step
def after_it(y: int) -> int:
    return y


@pipeline
def failing(n: int = 2):
    after_it(explode(produce(n)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_failing_step_fails_the_run(target: str, tmp_path: Path) -> None:
    project = tmp_path / "failing"
    project.mkdir()
    (project / "pipeline.py").write_text(textwrap.dedent(FAILING))
    (project / "pyproject.toml").write_text('[project]\nname = "failing"\nversion = "0"\n')
    outcome = TARGETS[target](project, {}, tmp_path / "run")
    assert outcome.status == "failed"
    states = {k.split("[", 1)[0]: t.state for k, t in outcome.tasks.items()}
    assert states["produce"] == "succeeded"
    assert states["explode"] == "failed"
    assert states.get("after_it") in (None, "skipped", "upstream_failed")


STATUS_AWARE = """
from portaflow import RunStatus, pipeline, step


@step
def produce(n: int = 2) -> int:
    return n


@step
def explode(x: int, fail: bool) -> int:
    if fail:
        raise ValueError(f"step failed on {x}")
    return x


@step
def cleanup(n: int, upstream: RunStatus) -> str:
    return f"{n} {upstream.status} {','.join(upstream.failed_tasks)}"


@step
def alert(n: int) -> int:
    return n + 2


@step
def on_exit(run: RunStatus) -> str:
    return run.status


@step
def group_failed(status: RunStatus) -> str:
    return status.status


@pipeline(on_failure=group_failed)
def part(fail: bool):
    explode(produce(3), fail)


@pipeline(on_exit=on_exit)
def status_aware(n: int = 2, fail: bool = True):
    boom = explode(produce(n), fail)
    cleanup(n, after=[boom], run="done")
    alert(n, after=[boom], run="failed")
    part(fail)
"""


#: The passing run is left to the cheap targets; on Airflow (a run costs most there) the
#: examples hooks_and_after and subpipeline already run status-aware steps that pass.
STATUS_CASES = [
    pytest.param(target, fail, id=f"{target}-{'failing' if fail else 'passing'}")
    for target in sorted(TARGETS)
    for fail in (True, False)
    if fail or target != "airflow"
]


@pytest.mark.slow
@pytest.mark.parametrize(("target", "fail"), STATUS_CASES)
def test_status_aware_steps_run_alike(target: str, fail: bool, tmp_path: Path) -> None:
    """run="done" runs whatever its upstream did and reads its status, run="failed" only
    after a failure, an exit hook reads the run's status; a failure they let pass still
    fails the run, on every target."""
    project = tmp_path / "status_aware"
    project.mkdir()
    (project / "pipeline.py").write_text(textwrap.dedent(STATUS_AWARE))
    (project / "pyproject.toml").write_text('[project]\nname = "status-aware"\nversion = "0"\n')
    outcome = TARGETS[target](project, {"fail": fail}, tmp_path / "run")
    states = {k: t.state for k, t in outcome.tasks.items()}
    assert outcome.status == ("failed" if fail else "succeeded")
    assert states["explode"] == ("failed" if fail else "succeeded")
    assert states["cleanup"] == "succeeded"
    want = "2 failed explode" if fail else "2 succeeded "
    assert outcome.tasks["cleanup"].outputs == {"output": want}
    assert states["on_exit"] == "succeeded"
    assert outcome.tasks["on_exit"].outputs == {"output": "failed" if fail else "succeeded"}
    if fail:
        assert states["alert"] == "succeeded"
        assert outcome.tasks["alert"].outputs == {"output": 4}
    else:
        assert states.get("alert") in (None, "skipped")
    # A sub-pipeline's on_failure hook is scoped to its group: it runs when a task of that
    # group failed, and reads the group's status.
    assert states["part.explode"] == ("failed" if fail else "succeeded")
    if fail:
        assert outcome.tasks["group_failed"].outputs == {"output": "failed"}
    else:
        assert states.get("group_failed") in (None, "skipped")
