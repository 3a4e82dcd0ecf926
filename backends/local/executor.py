"""A pool of step subprocesses: start, capture logs, time out, kill whole process trees.

Each step runs as `python -m portaflow.task ...` in a session of its own
(`start_new_session`), so a timeout or Ctrl-C kills the step and everything it
spawned with one `os.killpg`. On Linux the child also gets a parent-death
signal, so a runner killed with SIGKILL does not leave steps running behind it.
A waiter thread per process reports completions through a queue; the runner's
loop stays single-threaded and owns all state.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Seconds between SIGTERM and SIGKILL when a step is stopped.
KILL_GRACE_SECONDS = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One attempt of one execution."""

    key: str
    attempt: int
    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    log_path: Path
    timeout: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How an attempt ended."""

    job: Job
    #: Exit status; negative for a signal; None when the process could not start.
    exit_code: int | None
    timed_out: bool
    started: float
    finished: float
    #: Why it could not start, or was stopped.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGKILL the child when the runner dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


def kill_tree(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal every process of a step's session; gone processes are fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Executor:
    """At most `workers` step processes at a time."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._done: queue.Queue[Outcome] = queue.Queue()
        self._preexec = _parent_death_signal()
        self._stopping = False

    @property
    def free(self) -> int:
        return self.workers - len(self._running)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, job: Job) -> int | None:
        """Start an attempt; its pid (also its process group), or None if it could not start."""
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.time()
        with open(job.log_path, "ab") as log:
            log.write(f"--- attempt {job.attempt}: {' '.join(job.argv)}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(
                    list(job.argv),
                    cwd=job.cwd,
                    env=dict(job.env),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=self._preexec,
                )
            except OSError as exc:
                self._done.put(
                    Outcome(
                        job=job,
                        exit_code=None,
                        timed_out=False,
                        started=started,
                        finished=time.time(),
                        error=f"could not start: {exc}",
                    )
                )
                return None
        self._running[job.key] = proc
        threading.Thread(target=self._wait, args=(job, proc, started), daemon=True).start()
        return proc.pid

    def _wait(self, job: Job, proc: subprocess.Popen[bytes], started: float) -> None:
        timed_out = False
        try:
            proc.wait(timeout=job.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_tree(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=KILL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid, signal.SIGKILL)
                proc.wait()
        # Whatever the step left behind in its session goes with it.
        kill_tree(proc.pid, signal.SIGKILL)
        error = f"timed out after {job.timeout:g}s; process tree killed" if timed_out else None
        if self._stopping and not timed_out:
            error = "stopped: the run was interrupted"
        self._done.put(
            Outcome(
                job=job,
                exit_code=proc.returncode,
                timed_out=timed_out,
                started=started,
                finished=time.time(),
                error=error,
            )
        )

    def wait(self, timeout: float) -> list[Outcome]:
        """Outcomes of attempts that ended: blocks up to `timeout` for the first one."""
        out: list[Outcome] = []
        try:
            out.append(self._done.get(timeout=timeout))
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                break
        for o in out:
            self._running.pop(o.job.key, None)
        return out

    def stop_all(self) -> list[Outcome]:
        """Kill every running step's process tree and collect their outcomes."""
        self._stopping = True
        for proc in list(self._running.values()):
            kill_tree(proc.pid, signal.SIGTERM)
        deadline = time.time() + KILL_GRACE_SECONDS
        outcomes: list[Outcome] = []
        while self._running and time.time() < deadline:
            outcomes += self.wait(0.1)
        for proc in list(self._running.values()):
            kill_tree(proc.pid, signal.SIGKILL)
        while self._running:
            outcomes += self.wait(1.0)
        return outcomes
