"""What one run of a pipeline on one target produced, in a form every target can give.

Every target of the cross-target conformance suite (the local runner, kfp.local,
Airflow, ...) turns its own run into a `RunOutcome`, and the suite compares them
task by task. Keys are the local runner's node keys: the IR task id plus the loop
indices, outermost first (`train`, `score[1]`, `process[0,2]`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskOutcome:
    """What became of one task (one loop iteration of it)."""

    #: "succeeded" (ran, or a cache hit), "skipped" (condition false, branch not
    #: taken), "failed" or "upstream_failed".
    state: str
    #: Output name -> value: a parameter as its JSON value, an artifact as a
    #: comparable digest of its content.
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutcome:
    """What became of one pipeline run on one target."""

    #: "succeeded" or "failed".
    status: str
    #: Node key -> outcome.
    tasks: dict[str, TaskOutcome]
