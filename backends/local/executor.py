"""A pool of step processes: start, capture logs, time out, kill whole process trees.

Each step is a process of its own in a session of its own, so a timeout or
Ctrl-C kills the step and everything it spawned with one `os.killpg`. Two ways
to get that process (`isolation`):

- "fork" (default on POSIX): a fork server (`zygote.py`) started once per run
  forks a child per task that runs `portaflow.task.main`, the code of
  `python -m portaflow.task`, without paying the interpreter start and imports
  again (~0.2 s a task). If the zygote fails, the run goes on with "process".
- "process": `python -m portaflow.task ...` as a subprocess (`start_new_session`).

On Linux every step also gets a parent-death signal, and the zygote kills its
children when the runner's pipe closes, so a runner killed with SIGKILL does not
leave steps running behind it. A waiter thread per step reports completions
through a queue; the runner's loop stays single-threaded and owns all state.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
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
from typing import IO, Any, Protocol

from . import zygote

#: Isolation modes: a fork of the run's zygote per task, or a fresh subprocess per task.
ISOLATIONS = ("fork", "process")

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


def default_isolation() -> str:
    """PORTAFLOW_ISOLATION if set, else "fork" where os.fork exists, else "process"."""
    chosen = os.environ.get("PORTAFLOW_ISOLATION", "").strip().lower()
    if chosen:
        if chosen not in ISOLATIONS:
            raise ValueError(
                f"PORTAFLOW_ISOLATION={chosen!r}: expected one of {', '.join(ISOLATIONS)}"
            )
        return chosen
    return "fork" if fork_available() else "process"


def fork_available() -> bool:
    return os.name == "posix" and hasattr(os, "fork")


def kill_tree(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal every process of a step's session; gone processes are fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


#: Seconds to wait for the zygote to fork a child (the first request also waits for its imports).
ZYGOTE_REPLY_SECONDS = 30.0


class StepProcess(Protocol):
    """A running step: a `subprocess.Popen`, or a child of the zygote."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def _warn(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(f"portaflow: warning: {message}", file=sys.stderr, flush=True)


def _python_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables that shape an interpreter at its start (a fork inherits the zygote's)."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON") and k != "PYTHONUNBUFFERED"}


class _ZygoteChild:
    """A task process forked by the zygote; its exit status arrives through the zygote."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._returncode: int | None = None
        #: The zygote died before reporting this child's exit (the child died with it).
        self.lost = False
        self._ended = threading.Event()

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def returncode(self) -> int | None:
        return self._returncode

    def end(self, code: int | None, *, lost: bool = False) -> None:
        self._returncode = -signal.SIGKILL if code is None else code
        self.lost = lost
        self._ended.set()

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired("portaflow.task", timeout or 0.0)
        assert self._returncode is not None
        return self._returncode


class _Zygote:
    """The runner's end of a fork server (see zygote.py): requests out, pids and exits in."""

    def __init__(self, tag: str) -> None:
        self.env = dict(os.environ)
        self.proc = subprocess.Popen(
            zygote.command(tag),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self.env,
            # Not in the terminal's process group: Ctrl-C is the runner's to handle.
            start_new_session=True,
        )
        self._stdin: IO[bytes] = self.proc.stdin  # type: ignore[assignment]
        self._lock = threading.Lock()
        self._next = 0
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._children: dict[int, _ZygoteChild] = {}
        #: Why the zygote can no longer be used, once it cannot.
        self.dead: str | None = None
        self._closing = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def accepts(self, job: Job) -> bool:
        """Whether a fork of this zygote is the process `job.argv` would start."""
        return list(job.argv[:3]) == [
            sys.executable,
            "-m",
            "portaflow.task",
        ] and _python_env(job.env) == _python_env(self.env)

    def spawn(self, job: Job) -> _ZygoteChild | None:
        """Fork a child running the job; None when the zygote failed (it is then unusable)."""
        with self._lock:
            if self.dead is not None:
                return None
            self._next += 1
            rid = self._next
            box: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1)
            self._replies[rid] = box
        request = {
            "id": rid,
            "args": list(job.argv[3:]),
            "env": dict(job.env),
            "cwd": str(job.cwd),
            "log": str(job.log_path),
        }
        try:
            try:
                self._stdin.write(json.dumps(request).encode() + b"\n")
                self._stdin.flush()
            except (OSError, ValueError) as exc:
                self.fail(f"cannot send it a task: {exc}")
                return None
            try:
                reply = box.get(timeout=ZYGOTE_REPLY_SECONDS)
            except queue.Empty:
                self.fail(f"no answer in {ZYGOTE_REPLY_SECONDS:g}s")
                return None
        finally:
            with self._lock:
                self._replies.pop(rid, None)
        child = reply.get("child")
        if not isinstance(child, _ZygoteChild):
            self.fail(f"it could not fork: {reply.get('error')}")
            return None
        return child

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        reason = "it exited"
        try:
            for line in stdout:
                message = json.loads(line)
                if message["t"] == "pid":
                    if "pid" in message:
                        child = _ZygoteChild(int(message["pid"]))
                        with self._lock:
                            self._children[child.pid] = child
                        message["child"] = child
                    with self._lock:
                        box = self._replies.get(int(message["id"]))
                    if box is not None:
                        box.put(message)
                    elif "child" in message:  # its submitter gave up: nobody will wait for it
                        kill_tree(int(message["pid"]))
                elif message["t"] == "exit":
                    with self._lock:
                        ended = self._children.pop(int(message["pid"]), None)
                    if ended is not None:
                        ended.end(int(message["code"]))
        except (ValueError, KeyError, TypeError, OSError) as exc:
            reason = f"protocol error: {exc!r}"
        self.fail(reason)

    def fail(self, reason: str) -> None:
        """Stop using the zygote: kill it and whatever it still runs; waiters learn they lost."""
        with self._lock:
            if self.dead is not None:
                return
            self.dead = reason
            replies = list(self._replies.values())
            children = list(self._children.values())
            self._children.clear()
        if not self._closing:
            _warn(
                f"the fork server failed ({reason}); "
                "the rest of the run starts each step as a subprocess"
            )
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()
        with contextlib.suppress(OSError):
            self.proc.kill()
        for box in replies:
            with contextlib.suppress(queue.Full):
                box.put({"error": reason})
        for child in children:
            kill_tree(child.pid)
            child.end(None, lost=True)

    def close(self) -> None:
        """End the zygote after a run (all its children have ended)."""
        self._closing = True
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()  # end of input: the zygote kills what is left and exits
        try:
            self.proc.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(KILL_GRACE_SECONDS)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Executor:
    """At most `workers` step processes at a time."""

    def __init__(self, workers: int, *, isolation: str = "process", tag: str = "portaflow") -> None:
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, not {isolation!r}")
        self.workers = max(1, workers)
        self.isolation = isolation if fork_available() else "process"
        self._tag = tag
        self._zygote: _Zygote | None = None
        self._running: dict[str, StepProcess] = {}
        self._done: queue.Queue[Outcome] = queue.Queue()
        self._preexec = _parent_death_signal()
        self._stopping = False
        self._fork_server()  # its imports overlap the runner's own start

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
        try:
            with open(job.log_path, "ab") as log:
                log.write(f"--- attempt {job.attempt}: {' '.join(job.argv)}\n".encode())
            proc: StepProcess | str = self._start(job)
        except OSError as exc:
            proc = f"could not start: {exc}"
        if isinstance(proc, str):
            self._done.put(
                Outcome(
                    job=job,
                    exit_code=None,
                    timed_out=False,
                    started=started,
                    finished=time.time(),
                    error=proc,
                )
            )
            return None
        self._running[job.key] = proc
        threading.Thread(target=self._wait, args=(job, proc, started), daemon=True).start()
        return proc.pid

    def _start(self, job: Job) -> StepProcess | str:
        server = self._fork_server()
        if server is not None and server.accepts(job):
            child = server.spawn(job)
            if child is not None:
                return child
        return self._popen(job)

    def _fork_server(self) -> _Zygote | None:
        if self.isolation != "fork":
            return None
        if self._zygote is None:
            try:
                self._zygote = _Zygote(self._tag)
            except OSError as exc:
                _warn(f"cannot start the fork server ({exc}); each step runs as a subprocess")
                self.isolation = "process"
                return None
        if self._zygote.dead is not None:
            self.isolation = "process"
            return None
        return self._zygote

    def _popen(self, job: Job) -> subprocess.Popen[bytes] | str:
        try:
            with open(job.log_path, "ab") as log:
                return subprocess.Popen(
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
            return f"could not start: {exc}"

    def _wait(self, job: Job, proc: StepProcess, started: float) -> None:
        deadline = None if job.timeout is None else time.monotonic() + job.timeout
        timed_out = False
        error: str | None = None
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_tree(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=KILL_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    kill_tree(proc.pid, signal.SIGKILL)
                    proc.wait()
            if not (isinstance(proc, _ZygoteChild) and proc.lost):
                break
            if timed_out or self._stopping:
                break
            # The fork server died under this step, which died with it: not the step's
            # doing, so the attempt starts again, as a subprocess.
            kill_tree(proc.pid, signal.SIGKILL)
            with contextlib.suppress(OSError), open(job.log_path, "ab") as log:
                log.write(b"--- the fork server died; this attempt starts again as a subprocess\n")
            again = self._popen(job)
            if isinstance(again, str):
                error = again
                break
            proc = again
            self._running[job.key] = proc
            deadline = None if job.timeout is None else time.monotonic() + job.timeout
        # Whatever the step left behind in its session goes with it.
        kill_tree(proc.pid, signal.SIGKILL)
        if timed_out:
            error = f"timed out after {job.timeout:g}s; process tree killed"
        elif self._stopping:
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

    def close(self) -> None:
        """Release the fork server, if one was started."""
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
