"""The fork server ("zygote") of local runs: one warm interpreter that forks a child per task.

Starting `python -m portaflow.task` costs ~0.2 s, nearly all of it the
interpreter start and the `portaflow` imports. The runner instead starts this
file once per run (`python -c BOOT zygote.py TAG`, see `command`): it imports
what `portaflow.task` imports (standard library and the portaflow runtime,
never a user module), then serves requests on its stdin and answers on its
stdout, one JSON object a line:

    runner -> zygote   {"id": N, "args": [...], "env": {...}, "cwd": DIR, "log": PATH}
    zygote -> runner   {"t": "pid", "id": N, "pid": PID}      or {"t": "pid", "id": N, "error": TEXT}
    zygote -> runner   {"t": "exit", "pid": PID, "code": C}   (C negative for a signal, as Popen)

For each request the zygote, single-threaded, forks a child that calls
`os.setsid()` (its own session and process group, so `os.killpg` of its pid
kills the step and everything it spawned), asks Linux to SIGKILL it if the
zygote dies, resets the signal handlers, reads stdin from /dev/null, writes
stdout and stderr to the step's log, changes directory, replaces
`os.environ`, `sys.argv` and `sys.path[0]` as `python -m portaflow.task`
would have them, unwinds the zygote's frames and returns to the bootstrap,
which runs `sys.exit(portaflow.task.main(args))`: the same entry point code
and the same interpreter shutdown (atexit handlers, non-daemon threads, flush)
as a fresh process. Each task is still a process of its own: nothing a step
does to modules or globals reaches the zygote or the next task.

End of stdin (the runner exited or was killed) makes the zygote SIGKILL the
process group of every child still running, reap them and exit.

This module imports only the standard library at load time, and is loaded
by path, so the `portaflow.backends` packages (the compiler, sqlite3) never
enter the zygote.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import sys
from collections.abc import Callable
from typing import Any

#: Loads this file by path and runs it: `python -c BOOT /path/zygote.py TAG`.
#: The TAG (the run id) is only there to mark the zygote's and its children's
#: command lines, so `--resume` can recognise a step left running by a dead runner.
BOOT = (
    "import importlib.util as u, sys; "
    "s = u.spec_from_file_location('_portaflow_zygote', sys.argv[1]); "
    "m = u.module_from_spec(s); s.loader.exec_module(m); "
    "sys.exit(m.main())"
)


def command(tag: str) -> list[str]:
    """The argv that starts a zygote with this interpreter."""
    return [sys.executable, "-c", BOOT, os.path.abspath(__file__), tag]


def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _prctl_pdeathsig() -> Callable[[], None]:
    """A function asking Linux to SIGKILL the calling process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return lambda: None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return lambda: None
    pr_set_pdeathsig = 1
    return lambda: libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def _child(
    request: dict[str, Any], zygote_pid: int, fds: list[int], pdeathsig: Callable[[], None]
) -> Callable[[], int]:
    """In a forked child: become the task process; returns the call that runs the task."""
    os.setsid()
    pdeathsig()
    if os.getppid() != zygote_pid:  # the zygote died before the prctl took effect
        os._exit(128 + signal.SIGKILL)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    for fd in {null, log, *fds}:
        if fd > 2:
            os.close(fd)
    env: dict[str, str] = request["env"]
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(env)
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    encoding = sys.stdout.encoding if sys.stdout is not None else "utf-8"
    sys.stdin = open(0, encoding=encoding, closefd=False)
    sys.stdout = io.TextIOWrapper(
        open(1, "wb", buffering=0 if unbuffered else -1, closefd=False),
        encoding=encoding,
        line_buffering=False,
        write_through=unbuffered,
    )
    sys.stderr = io.TextIOWrapper(
        open(2, "wb", buffering=0, closefd=False),
        encoding=encoding,
        errors="backslashreplace",
        line_buffering=True,
        write_through=True,
    )
    for name in ("stdin", "stdout", "stderr"):  # as at a start: __stdout__ is stdout
        setattr(sys, f"__{name}__", getattr(sys, name))
    import portaflow.task as task

    args: list[str] = list(request["args"])
    # As `python -m portaflow.task ARGS` run in `cwd` has them.
    sys.argv = [str(task.__file__), *args]
    sys.path[0] = os.getcwd()
    return lambda: task.main(args)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _serve(rfd: int, wfd: int) -> Callable[[], int] | None:
    """Fork a child per request until end of input; in a child, returns the task to run."""
    zygote_pid = os.getpid()
    pdeathsig = _prctl_pdeathsig()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    signal.signal(signal.SIGTERM, _terminate)  # clean up like at end of input
    children: set[int] = set()
    pending = b""
    try:
        while True:
            ready, _, _ = select.select([rfd, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 4096)
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                children.discard(pid)
                _send(wfd, {"t": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status)})
            if rfd not in ready:
                continue
            data = os.read(rfd, 1 << 16)
            if not data:
                return None
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                sys.stdout.flush()
                sys.stderr.flush()
                try:
                    pid = os.fork()
                except OSError as exc:
                    _send(wfd, {"t": "pid", "id": request["id"], "error": str(exc)})
                    continue
                if pid == 0:
                    try:
                        return _child(request, zygote_pid, [rfd, wfd, wake_r, wake_w], pdeathsig)
                    except BaseException as exc:  # never return into the zygote's loop
                        with contextlib.suppress(BaseException):
                            os.write(2, f"portaflow: cannot start the step: {exc!r}\n".encode())
                        os._exit(1)
                children.add(pid)
                _send(wfd, {"t": "pid", "id": request["id"], "pid": pid})
    finally:
        if os.getpid() == zygote_pid:
            # The runner is gone (or the protocol broke): its steps go with it.
            for pid in children:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
            for pid in children:
                with contextlib.suppress(OSError):
                    os.waitpid(pid, 0)


def main() -> int:
    """The zygote process: warm up, then serve until the runner closes the pipe."""
    # The protocol moves off fds 0 and 1, so nothing printed by accident can corrupt it.
    rfd, wfd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    import subprocess  # noqa: F401  (every task runs git through it, for its metadata)

    import portaflow.task

    # Warm the caches every task fills the same way (argparse's compiled patterns and
    # gettext look-ups: ~30 ms of a task otherwise). Pure: no file, no clock, no pid.
    portaflow.task._parser().parse_args(
        [
            "--step",
            "m:f",
            "--input",
            "a=/a",
            "--param",
            "b=1",
            "--output",
            "c=/c",
            "--metadata",
            "/m",
        ]
    )
    run = _serve(rfd, wfd)
    if run is None:  # served its run: nothing to tear down slowly
        sys.stderr.flush()
        os._exit(0)
    _exit_like_python(run)
    return 0  # not reached


def _exit_like_python(run: Callable[[], int]) -> None:
    """`sys.exit(run())` as a fresh interpreter ends, minus tearing the interpreter down.

    Uncaught exceptions and `SystemExit` give the status and message Python gives;
    non-daemon threads are joined and atexit handlers run (as at a normal exit);
    the standard streams are flushed; then `os._exit`, which skips freeing every
    object and module one by one, the zygote's included (~10 ms, and nothing to see).
    """
    code: object = 1
    try:
        code = run()
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        sys.excepthook(*sys.exc_info())
    status = _status(code)
    with contextlib.suppress(BaseException):
        import threading

        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        import atexit

        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            if stream is not None:
                stream.flush()
    os._exit(status)


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(BaseException):
        print(code, file=sys.stderr)
    return 1
