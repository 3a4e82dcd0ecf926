"""Facts about the execution environment recorded in a task's metadata: time, git, Python."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["git_info", "now_iso", "python_info", "python_version"]

#: Seconds one `git` call may take before the commit is recorded as unknown.
GIT_TIMEOUT = 3.0


def now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a `Z`."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _git(root: Path, *args: str) -> str | None:
    import subprocess  # only here: the rest of the record needs no child process

    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            # Parallel tasks must not fight over .git/index.lock with each other or the user.
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or too slow
        return None
    return done.stdout if done.returncode == 0 else None


def git_info(root: Path) -> dict[str, Any]:
    """{"git_commit": sha or None, "git_dirty": bool or None} for the repository holding `root`."""
    commit = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": commit.strip() or None,
        "git_dirty": None if status is None else bool(status.strip()),
    }


def python_version() -> str:
    """ "3.11.7" without importing `platform` (which costs more than the rest of this module)."""
    major, minor, micro = sys.version_info[:3]
    return f"{major}.{minor}.{micro}"


def _hostname() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        import socket

        return socket.gethostname()


def python_info() -> dict[str, Any]:
    """Interpreter, platform, host and process of this execution."""
    return {
        "python": python_version(),
        "python_implementation": sys.implementation.name,
        "platform": sys.platform,
        "host": _hostname(),
        "pid": os.getpid(),
    }
