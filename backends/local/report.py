"""What `portaflow run` prints at the end: the summary of a run, or the plan of a dry run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from .plan import CACHED, FAILED, SKIPPED, SUCCEEDED, UNKNOWN, UPSTREAM_FAILED, WOULD_RUN
from .result import RunResult

#: Lines of a failed step's log shown in the summary.
LOG_TAIL_LINES = 15
#: Bytes read from the end of a failed step's log for the summary (a log may be huge).
LOG_TAIL_BYTES = 64 * 1024
#: Characters of one log line shown in the summary; the rest is cut.
LOG_LINE_CHARS = 300


def counts(result: RunResult) -> str:
    """ "3 succeeded, 1 failed": how many executions ended in each state."""
    order = (SUCCEEDED, CACHED, FAILED, UPSTREAM_FAILED, SKIPPED, WOULD_RUN, UNKNOWN)
    by_state = {s: len(result.by_state(s)) for s in order}
    return ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in by_state.items() if n)


def print_summary(result: RunResult, seconds: float, file: str | None) -> None:
    """The end of a run: states, each failed step with its log's last lines, how to resume."""
    click.echo(f"run {result.run_id} {result.status} in {seconds:.1f}s: {counts(result)}")
    for e in result.failed:
        click.echo(f"  ✗ {e.key}: {e.message}")
        if e.log_path:
            click.echo(f"    log: {e.log_path}")
            for line in tail(Path(e.log_path), LOG_TAIL_LINES):
                click.echo(f"    | {line}")
    if result.outputs:  # the pipeline's `return`: parameters by value, artifacts by location
        shown = {k: v.get("param", v) for k, v in result.outputs.items()}
        click.echo(f"outputs: {json.dumps(shown, sort_keys=True, default=str)}")
    if result.model_version is not None:
        name, version = result.model_version
        click.echo(f"model {name} version {version} registered (portaflow models show {name})")
    if result.status in ("failed", "cancelled"):
        again = (
            f"portaflow run {file} --resume {result.run_id}"
            if file
            else f"portaflow run --resume {result.run_id}"
        )
        click.echo(f"resume with: {again}")
    click.echo(f"details: portaflow runs show {result.run_id}")


def tail(path: Path, n: int) -> list[str]:
    """The last `n` lines of a log, reading at most its last LOG_TAIL_BYTES; long lines cut."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            start = max(0, size - LOG_TAIL_BYTES)
            fh.seek(start)
            data = fh.read(LOG_TAIL_BYTES)
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first line read is most likely the end of a longer one
    out = []
    for line in lines[-n:]:
        if len(line) > LOG_LINE_CHARS:
            line = line[:LOG_LINE_CHARS] + f"... ({len(line) - LOG_LINE_CHARS} more characters)"
        out.append(line)
    return out


def print_plan(result: RunResult) -> None:
    """A dry run: every execution, what would happen to it, and why."""
    click.echo(f"plan of {result.pipeline} (dry run: nothing executed)")
    labels = {CACHED: "cached", WOULD_RUN: "run", SKIPPED: "skip", UNKNOWN: "fan-out?"}
    rows = []
    for e in result.executions:
        inputs = " ".join(f"{k}={short(v)}" for k, v in e.inputs.items())
        rows.append([labels.get(e.state, e.state), e.key, inputs, e.message])
    table(["", "task", "inputs", "note"], rows)
    click.echo(counts(result) or "nothing to do")


def short(value: dict[str, Any]) -> str:
    if "param" in value:
        text = json.dumps(value["param"], ensure_ascii=False)
        return text if len(text) <= 40 else text[:37] + "..."
    if "artifact" in value:
        return f"<{Path(value['artifact']).parent.name}/{Path(value['artifact']).name}>"
    if "artifacts" in value:
        return f"<{len(value['artifacts'])} artifacts>"
    return "<unknown until run>"


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Columns aligned with two spaces; the last column is never padded."""
    cells = [headers, *rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(headers))]
    for r in cells:
        text = "  ".join(str(c).ljust(w) for c, w in zip(r[:-1], widths[:-1], strict=True))
        click.echo((text + "  " + str(r[-1])).rstrip())
