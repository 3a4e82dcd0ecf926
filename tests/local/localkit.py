"""Helpers shared by the local-runner tests (a module of its own: `conftest` is ambiguous
when several test folders each have one)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from portaflow.backends.local import RunResult

Runner = Callable[..., RunResult]


def counts(project: Path, name: str) -> int:
    p = project / "counts" / name
    return len(p.read_text()) if p.exists() else 0


def assert_ok(result: RunResult) -> None:
    """Assert the run succeeded; on failure show each failed step's message and log."""
    if result.status == "succeeded":
        return
    lines = [f"run {result.run_id} {result.status}"]
    for e in result.executions:
        if e.state == "failed":
            log = Path(e.log_path).read_text() if e.log_path and Path(e.log_path).exists() else ""
            lines.append(f"{e.key}: {e.message}\n{log}")
    raise AssertionError("\n".join(lines))
