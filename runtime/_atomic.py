"""Atomic file and directory writes: readers see the old state or the complete new one.

Everything is first written into a temporary sibling of the target (same
directory, so the same file system), flushed to disk, and then moved into
place with one `rename(2)`. A process killed half way leaves at most a hidden
`.NAME.tmp-PID-XXXX` sibling, which never carries the target's name and which
the next write of the same target removes once its writer is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_dir",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_tree",
    "remove_stale_temporaries",
]

#: What every temporary name holds after the target's name: `.NAME.tmp-PID-XXXX`.
_TMP_MARK = ".tmp-"


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs; a zombie (killed, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS), or gone meanwhile
        return True
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _writer_pid(name: str) -> int | None:
    """The writer's pid in a temporary name `.NAME.tmp-PID-XXXX`, None for any other name."""
    if not name.startswith("."):
        return None
    head, mark, tail = name.rpartition(_TMP_MARK)
    if not mark or len(head) < 2:
        return None
    pid_text = tail.split("-", 1)[0]
    return int(pid_text) if pid_text.isdigit() and "-" in tail else None


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete every temporary in `folder` whose writer no longer runs; returns what went.

    A writer killed mid-write (SIGKILL, power loss) leaves its `.NAME.tmp-PID-XXXX`
    file or folder behind; nothing ever reads it, so it is only wasted space. A
    temporary of a process that still runs is kept: it may be being written now.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        pid = _writer_pid(entry.name)
        if pid is None or _pid_alive(pid):
            continue
        _remove(entry)
        removed.append(entry)
    return removed


def _remove_stale_siblings(target: Path) -> None:
    """Delete temporaries of `target` left by writers that no longer run (killed mid-write)."""
    marker = f".{target.name}{_TMP_MARK}"
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(marker):
            continue
        pid = _writer_pid(entry.name)
        if pid is None or _pid_alive(pid):
            continue
        _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file under `root` so a rename cannot reach the disk before the data.

    Directories are not flushed: a rename lost in a power cut shows the old
    state, which is consistent; only data behind a completed rename must exist.
    """
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync_file(Path(dirpath, name))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` is either absent/old or complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_siblings(path)
    fd, tmp_name = tempfile.mkstemp(prefix=_tmp_prefix(path), dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of `target`; on clean exit it becomes `target`.

    The caller fills the directory (and writes whatever marks it complete, last).
    If the block raises, or the process dies, `target` is untouched. An existing
    `target` is replaced: it is moved aside, the new directory renamed in, and
    the old one deleted, so at no moment does `target` hold a mix of both.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_siblings(target)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        fsync_tree(tmp)
        _move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into_place(tmp: Path, target: Path) -> None:
    try:
        # Succeeds when target is absent or an empty directory.
        os.replace(tmp, target)
        return
    except OSError:
        if not (target.exists() or target.is_symlink()):
            raise
    # Target holds something: move it aside under a temporary name (not trusted by
    # anyone, like every `.tmp-` sibling), put the new directory in, drop the old.
    aside = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), dir=target.parent))
    aside_target = aside / "old"
    os.rename(target, aside_target)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(aside_target, target)
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
