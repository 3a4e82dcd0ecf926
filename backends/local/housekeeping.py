"""Run locks, and the clean-up of what a killed run leaves behind.

A runner holds `<store>/runs/.locks/<run>.lock` (an `flock`) for as long as it
executes the run; the kernel drops the lock when the process dies, however it
dies. So a run recorded as `running` whose lock nobody holds was interrupted:
its runner was killed (SIGKILL, power loss) before it could record the end.

A step killed while it wrote an output leaves a hidden temporary beside the
target (`.NAME.tmp-PID-XXXX`, see `portaflow._atomic`). Nothing reads those;
`sweep_run` deletes the ones whose writer is gone, for the run being resumed,
for every interrupted run a later run finds, and for each run when it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from portaflow._atomic import remove_stale_temporaries

from .store import Store

#: How `portaflow runs` shows a run whose runner died before recording its end.
INTERRUPTED = "interrupted"


def lock_file(store: Store, run_id: str) -> Path:
    return store.runs_dir / ".locks" / f"{run_id}.lock"


def try_lock(path: Path) -> IO[str] | None:
    """The lock file opened and locked for this process, or None when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # held open for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def is_live(store: Store, run_id: str) -> bool:
    """Whether a runner holds the run's lock right now (read-only: the store is not changed)."""
    try:
        handle = open(lock_file(store, run_id), "rb")
    except OSError:  # never locked, or an unreadable lock: nobody can be holding it
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def shown_status(store: Store, run: dict[str, Any]) -> str:
    """A run's status as the commands show it: `running` only while its runner lives."""
    status = str(run["status"])
    if status == "running" and not is_live(store, str(run["id"])):
        return INTERRUPTED
    return status


@contextlib.contextmanager
def holding(store: Store, run_id: str) -> Iterator[bool]:
    """Hold the run's lock for the block; yields False (holding nothing) when another has it."""
    handle = try_lock(lock_file(store, run_id))
    try:
        yield handle is not None
    finally:
        if handle is not None:
            handle.close()


def is_our_step(pid: int, run_id: str) -> bool:
    """Whether `pid` is still a task process of this run (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return run_id in cmdline


def sweep_run(store: Store, run_id: str) -> list[Path]:
    """Delete the temporaries of dead writers under a run's folders; returns what went.

    Looks only where the runner and the task runtime write: the run's artifact
    and record folders, each execution's folder, and its `outputs/` and `inputs/`.
    """
    removed: list[Path] = []
    for base in (store.artifacts_dir / run_id, store.runs_dir / run_id):
        if not base.is_dir():
            continue
        folders = [base]
        with contextlib.suppress(OSError):
            for entry in base.iterdir():
                if entry.is_dir() and not entry.name.startswith("."):
                    folders += [entry, entry / "outputs", entry / "inputs"]
        for folder in folders:
            removed += remove_stale_temporaries(folder)
    return removed


def sweep_interrupted(store: Store, *, besides: str | None = None) -> list[Path]:
    """`sweep_run` for every interrupted run (and `besides`, a run this process holds)."""
    removed: list[Path] = []
    for run in store.runs_with_status("running"):
        run_id = str(run["id"])
        if run_id == besides:
            continue
        with holding(store, run_id) as held:
            if held:  # nobody executes it: whatever is half-written there is garbage
                removed += sweep_run(store, run_id)
    if besides is not None:
        removed += sweep_run(store, besides)
    return removed


__all__ = [
    "INTERRUPTED",
    "holding",
    "is_live",
    "is_our_step",
    "lock_file",
    "shown_status",
    "sweep_interrupted",
    "sweep_run",
    "try_lock",
]
