"""`RunStatus`: what a hook or a `run="done"`/`"failed"` step learns about the tasks it follows.

A step declares a parameter annotated `RunStatus`; the runner fills it (the caller
never passes it). For a pipeline hook it describes the whole run; for a step called
with `run="done"` or `run="failed"` it describes the upstreams named in `after=`.
Every backend hands the runtime one JSON value, read by `RunStatus.from_value`.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Phases, in any engine's spelling, that count as a failure.
_FAILED = {"failed", "error", "errored", "upstream_failed", "failure", "canceled", "cancelled"}


@dataclass(frozen=True, slots=True)
class RunStatus:
    """The final status of a pipeline run, or of the upstreams of a status-aware step."""

    #: "succeeded" or "failed".
    status: str
    #: Ids of the tasks that failed, where the engine reports them (see the backend docs).
    failed_tasks: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def failed(self) -> bool:
        return self.status != "succeeded"

    @classmethod
    def from_value(cls, value: Any) -> RunStatus:
        """From a runner's JSON: `{"status": S, "failed_tasks": [...]}`, or `{"tasks": {id:
        phase}}` (the phase of each upstream, as Argo substitutes it); S and the phases in
        any engine's spelling (`Succeeded`, `FAILED`, `Error`, `upstream_failed`...)."""
        if isinstance(value, RunStatus):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"a RunStatus is given as a JSON object, got {value!r}")
        tasks = value.get("tasks")
        if isinstance(tasks, Mapping):
            failed = tuple(sorted(str(k) for k, v in tasks.items() if _is_failure(v)))
            return cls("failed" if failed else "succeeded", failed)
        status = "failed" if _is_failure(value.get("status")) else "succeeded"
        listed = value.get("failed_tasks") or ()
        return cls(status, tuple(str(t) for t in listed))


def _is_failure(phase: Any) -> bool:
    return str(phase).strip().lower() in _FAILED
