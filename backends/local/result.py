"""What a local run returns to its caller: `RunResult` with one `ExecutionResult` per execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portaflow.compiler import ir

from .plan import FAILED


class RunError(Exception):
    """A run that cannot start (bad parameter, unknown or locked run); the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionResult:
    """What became of one execution."""

    key: str
    task: str
    state: str
    attempt: int = 0
    cache_hit: bool = False
    #: Reused from the run being resumed, not executed again.
    reused: bool = False
    started: float | None = None
    finished: float | None = None
    log_path: str | None = None
    message: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """The outcome of `run_pipeline`."""

    run_id: str
    pipeline: str
    #: "succeeded", "failed", "cancelled", or "dry-run".
    status: str
    store: Path
    params: dict[str, ir.JSONValue]
    executions: tuple[ExecutionResult, ...]
    #: Model version registered by this run, as (name, version).
    model_version: tuple[str, int] | None = None
    #: The pipeline's outputs (its `return`), each as its execution's output; absent when
    #: the producing task did not run.
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "dry-run")

    @property
    def failed(self) -> tuple[ExecutionResult, ...]:
        return tuple(e for e in self.executions if e.state == FAILED)

    def execution(self, key: str) -> ExecutionResult:
        for e in self.executions:
            if e.key == key:
                return e
        raise KeyError(key)

    def by_state(self, state: str) -> list[str]:
        return [e.key for e in self.executions if e.state == state]
