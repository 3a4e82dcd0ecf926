"""Facts about the execution environment recorded in a task's metadata: time, git, Python."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["git_info", "now_iso", "python_info"]

#: Seconds one `git` call may take before the commit is recorded as unknown.
GIT_TIMEOUT = 3.0


def now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a `Z`."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _git(root: Path, *args: str) -> str | None:
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


def python_info() -> dict[str, Any]:
    """Interpreter, platform, host and process of this execution."""
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": sys.platform,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
