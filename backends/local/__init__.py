"""The local runner: `portaflow run` executes a compiled pipeline on this machine, no server.

Steps run in parallel subprocesses through the same task protocol every
backend uses (`python -m portaflow.task`); runs, executions, artifacts,
lineage, metrics and model versions go to an embedded store (SQLite plus an
artifact folder, `.portaflow/` by default). See docs/local.md.

Python API:

    from portaflow.backends.local import run_pipeline
    result = run_pipeline(pipeline_ir, root=".", params={"n": 3}, workers=4)
    result.status, result.run_id, result.execution("train").outputs
"""

from __future__ import annotations

from .params import ParamError, parse_assignments
from .result import ExecutionResult, RunError, RunResult
from .runner import run_pipeline
from .store import Store, StoreError, default_location

__all__ = [
    "ExecutionResult",
    "ParamError",
    "RunError",
    "RunResult",
    "Store",
    "StoreError",
    "default_location",
    "parse_assignments",
    "run_pipeline",
]
