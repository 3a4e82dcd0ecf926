"""Generated projects (tests/strategies.py) through the local runner's planner (`--dry-run`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given

from portaflow.backends.local import run_pipeline
from portaflow.compiler import compile_file
from strategies import GeneratedPipeline, projects


@given(projects())
def test_generated_pipelines_plan_locally(gen: GeneratedPipeline) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = compile_file(gen.write(Path(tmp)), root=tmp)
        plan = run_pipeline(p, root=tmp, store=Path(tmp) / ".portaflow", dry_run=True)
    files = "\n".join(f"# {k}\n{v}" for k, v in gen.files.items())
    assert plan.status == "dry-run", files
    keys = [e.key for e in plan.executions]
    assert len(keys) == len(set(keys)), files
    assert {e.task for e in plan.executions} <= gen.tasks, files
    # A task outside loops and conditions is planned exactly once, under its own id.
    plain = gen.tasks - gen.looped - gen.conditional - set(gen.hooks)
    assert plain <= set(keys), files
    assert {e.state for e in plan.executions} <= {"would_run", "unknown", "skip", "skipped"}, {
        e.key: e.state for e in plan.executions
    }
