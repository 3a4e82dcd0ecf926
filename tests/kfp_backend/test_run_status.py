"""Status-aware steps on KFP: run= as trigger policies, RunStatus as PipelineTaskFinalStatus."""

from __future__ import annotations

import json
from pathlib import Path

from .test_emit import codes_of, compile_source, spec_of

STEPS = """
from portaflow import RunStatus


@step
def a() -> int:
    return 1


@step
def b() -> int:
    return 2


@step
def handle(status: RunStatus) -> str:
    return status.status


@step
def plain() -> None:
    pass
"""


def test_run_failed_reads_the_final_status_of_its_one_upstream(tmp_path: Path) -> None:
    spec = spec_of(
        compile_source(
            tmp_path,
            STEPS
            + """
@pipeline
def p():
    x = a()
    handle(after=[x], run="failed")
    plain(after=[x], run="done")
""",
        )
    )
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["handle"]["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert tasks["handle"]["inputs"]["parameters"]["pf_pipeline_status"] == {
        "taskFinalStatus": {"producerTask": "a"}
    }
    assert tasks["plain"]["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert "inputs" not in tasks["plain"]  # no RunStatus input: no final status needed


def test_the_container_flavour_passes_the_status_and_names_the_input(tmp_path: Path) -> None:
    result = compile_source(
        tmp_path,
        STEPS
        + """
@pipeline
def p():
    x = a()
    handle(after=[x], run="done")
""",
        kfp_executor="container",
    )
    spec = spec_of(result)
    args = spec["deploymentSpec"]["executors"]["exec-handle"]["container"]["args"]
    assert "--status" in args
    task_spec = json.loads(args[args.index("--spec") + 1])
    assert task_spec["run_status"] == {"input": "status", "task": "a"}
    assert "status" not in task_spec  # run="done": it runs whatever the upstream did


def test_several_upstreams_of_a_status_reader_are_pf625(tmp_path: Path) -> None:
    body = (
        STEPS
        + """
@pipeline
def p():
    x = a()
    y = b()
    handle(after=[x, y], run="failed")
"""
    )
    assert codes_of(tmp_path, body) == ["PF625"]


def test_a_sub_pipeline_is_one_upstream(tmp_path: Path) -> None:
    spec = spec_of(
        compile_source(
            tmp_path,
            STEPS
            + """
@pipeline(on_failure=handle)
def both():
    a()
    b()


@pipeline
def p():
    both()
""",
        )
    )
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["handle"]["dependentTasks"] == ["both"]
    assert tasks["handle"]["inputs"]["parameters"]["pf_pipeline_status"] == {
        "taskFinalStatus": {"producerTask": "both"}
    }
