"""Showing a local run as it goes: a rich live table on a terminal, plain lines elsewhere.

The runner calls a `Reporter` on every state change; a reporter only draws.
`RichReporter` keeps one row per execution (state, attempt, elapsed time,
cache hits) and redraws a few times a second; `LineReporter` prints one
timestamped line per change, which is what CI logs and pipes want.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from .plan import Node, Plan
    from .result import RunResult

#: How each state is drawn: (symbol, rich style).
STYLES: dict[str, tuple[str, str]] = {
    "pending": ("·", "dim"),
    "ready": ("·", "dim"),
    "running": ("▶", "bold cyan"),
    "retrying": ("↻", "yellow"),
    "succeeded": ("✓", "green"),
    "cached": ("✓", "blue"),
    "failed": ("✗", "bold red"),
    "upstream_failed": ("-", "red"),
    "skipped": ("-", "dim"),
    "cancelled": ("✗", "yellow"),
    "would_run": ("▶", "cyan"),
    "unknown": ("?", "yellow"),
}


class Reporter(Protocol):
    """What the runner tells about a run; every method is keyword-friendly and may be a no-op."""

    def started(self, *, run_id: str, pipeline: str, plan: Plan, dry_run: bool) -> None: ...

    def changed(
        self, node: Node, *, attempt: int, log_path: Path | None = None, state: str | None = None
    ) -> None: ...

    def tick(self) -> None: ...

    def finished(self, result: RunResult) -> None: ...


class NullReporter:
    """Says nothing (the Python API's default)."""

    def started(self, *, run_id: str, pipeline: str, plan: Plan, dry_run: bool) -> None:
        pass

    def changed(
        self, node: Node, *, attempt: int, log_path: Path | None = None, state: str | None = None
    ) -> None:
        pass

    def tick(self) -> None:
        pass

    def finished(self, result: RunResult) -> None:
        pass


class LineReporter(NullReporter):
    """One line per state change, for logs and pipes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.t0 = time.time()
        self.starts: dict[str, float] = {}

    def _say(self, text: str) -> None:
        print(f"[{time.time() - self.t0:7.2f}s] {text}", file=self.stream, flush=True)

    def started(self, *, run_id: str, pipeline: str, plan: Plan, dry_run: bool) -> None:
        self.t0 = time.time()
        if not dry_run:
            self._say(f"run {run_id} of {pipeline} started")

    def changed(
        self, node: Node, *, attempt: int, log_path: Path | None = None, state: str | None = None
    ) -> None:
        state = state or node.state
        if state == "running":
            self.starts[node.key] = time.time()
            extra = f" (attempt {attempt})" if attempt > 1 else ""
            self._say(f"{node.key} running{extra}")
            return
        elapsed = ""
        if node.key in self.starts and state in ("succeeded", "failed"):
            elapsed = f" in {time.time() - self.starts[node.key]:.2f}s"
        note = f": {node.message}" if node.message else ""
        self._say(f"{node.key} {state}{elapsed}{note}")


class RichReporter(NullReporter):
    """A live table for interactive terminals."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.rows: dict[str, dict[str, Any]] = {}
        self.title = ""
        self.live: Live | None = None

    def started(self, *, run_id: str, pipeline: str, plan: Plan, dry_run: bool) -> None:
        from rich.live import Live

        self.title = f"{pipeline} · {run_id}"
        self.live = Live(
            get_renderable=self._render, console=self.console, refresh_per_second=8, transient=False
        )
        self.live.start()

    def changed(
        self, node: Node, *, attempt: int, log_path: Path | None = None, state: str | None = None
    ) -> None:
        row = self.rows.setdefault(node.key, {"start": None, "end": None})
        state = state or node.state
        if state == "running" and row["start"] is None:
            row["start"] = time.time()
        if state in ("succeeded", "failed", "cached", "skipped", "upstream_failed"):
            row["end"] = time.time()
        row.update(state=state, attempt=attempt, message=node.message)

    def tick(self) -> None:
        if self.live is not None:
            self.live.refresh()

    def finished(self, result: RunResult) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.stop()

    def _render(self) -> RenderableType:
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=self.title, title_justify="left", expand=False, box=None, pad_edge=False
        )
        table.add_column("")
        table.add_column("task")
        table.add_column("state")
        table.add_column("try", justify="right")
        table.add_column("time", justify="right")
        table.add_column("")
        now = time.time()
        for key, row in self.rows.items():
            symbol, style = STYLES.get(row["state"], ("·", ""))
            start, end = row["start"], row["end"]
            elapsed = f"{(end or now) - start:.1f}s" if start is not None else ""
            attempt = str(row["attempt"]) if row["attempt"] > 1 else ""
            note = row["message"] or ""
            table.add_row(
                Text(symbol, style),
                Text(key),
                Text(row["state"], style),
                attempt,
                elapsed,
                Text(note[:80], "dim"),
            )
        return table


def make_reporter(*, interactive: bool | None = None, quiet: bool = False) -> Reporter:
    """The right reporter for where output goes."""
    if quiet:
        return NullReporter()
    if interactive is None:
        interactive = sys.stderr.isatty()
    return RichReporter() if interactive else LineReporter()
