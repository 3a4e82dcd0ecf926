"""One pass over an artifact's bytes: hashed as they are written, hashed as they are read.

Saving used to write a data file, then read it back to hash it; loading read
it to check the hash, then again to parse it. Here the writer hashes each
block on its way to the disk (on a helper thread, so the encoder -- pyarrow,
numpy, pickle -- keeps working meanwhile), and the reader reads a file into
memory once and hashes that memory (materializers.py decides whether before
or while the parser reads it): what is parsed is what was verified, even if
the file changes afterwards. Standard library only (this runs in every
task's container).
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
from pathlib import Path
from typing import Any

__all__ = ["HashingWriter", "memory_budget", "read_hashed", "read_whole"]

#: Writes are gathered into blocks of this size before the helper thread takes them.
BLOCK = 4 << 20
#: The helper thread asks the kernel to write the file out every this many bytes,
#: so the final fsync (before the artifact's rename) has little left to wait for.
SYNC_EVERY = 64 << 20
#: Blocks waiting for the helper thread at most (bounds the memory a writer holds).
_QUEUE = 4


class HashingWriter(io.RawIOBase):
    """A new file, written on a helper thread that hashes every byte on its way (sha256).

    `close()` waits for the thread and raises what it met (a full disk...);
    `sha256` and `size` then describe exactly the bytes handed to `write`.
    With `durable`, the file is flushed to disk (fsync) before `close` returns.
    Given `sink` (a writable binary file object: an fsspec file streaming a
    multipart upload...) instead of a path, the thread writes to it, and
    `close` closes it (which completes the upload).
    """

    def __init__(self, path: Path | None, *, durable: bool = True, sink: Any = None) -> None:
        super().__init__()
        self.path = path
        self._sink = sink
        self._fd = -1
        if sink is None:
            assert path is not None
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._durable = durable and sink is None
        self._digest = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._size = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=_QUEUE)
        self._thread = threading.Thread(target=self._drain, name="portaflow-hash", daemon=True)
        self._thread.start()
        self._sha256: str | None = None

    # -------------------------------------------------------------- io API

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, b: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        self._raise_if_failed()
        # bytes are immutable and passed on as they are (pyarrow, pickle and numpy hand
        # over bytes); anything else is copied, as the caller may reuse its buffer.
        piece = b if type(b) is bytes else memoryview(b).tobytes()
        n = len(piece)
        self._pending.append(piece)
        self._pending_size += n
        if self._pending_size >= BLOCK:
            self._queue.put(self._pending)
            self._pending, self._pending_size = [], 0
        self._size += n
        return n

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._pending:
                self._queue.put(self._pending)
                self._pending, self._pending_size = [], 0
            self._queue.put(None)
            self._thread.join()
            self._raise_if_failed()
            if self._durable:
                os.fsync(self._fd)
            if self._sink is not None:
                sink, self._sink = self._sink, None
                sink.close()
            self._sha256 = self._digest.hexdigest()
        finally:
            if self._fd >= 0:
                os.close(self._fd)
            elif self._sink is not None:
                _discard(self._sink)  # a failed upload is dropped, never completed
                self._sink = None
            super().close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # A block that raised must not complete the file (an upload would be committed).
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def abort(self) -> None:
        """Stop without completing: the thread ends, an upload is discarded, nothing is raised."""
        if self.closed:
            return
        self._error = self._error or RuntimeError("aborted")
        self._pending, self._pending_size = [], 0
        self._queue.put(None)
        self._thread.join()
        if self._fd >= 0:
            os.close(self._fd)
        elif self._sink is not None:
            _discard(self._sink)
        self._sink = None
        super().close()

    # -------------------------------------------------------------- results

    @property
    def sha256(self) -> str:
        """The sha256 of every byte written; only once closed."""
        if self._sha256 is None:
            raise ValueError(f"{self.path} is not closed yet, or its write failed")
        return self._sha256

    @property
    def size(self) -> int:
        return self._size

    # -------------------------------------------------------------- helper thread

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _drain(self) -> None:
        unsynced = 0
        while (pieces := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep taking blocks so the writer never waits on a full queue
            try:
                for piece in pieces:
                    self._digest.update(piece)  # releases the GIL for large pieces
                    if self._sink is not None:
                        self._sink.write(piece)
                        continue
                    view = memoryview(piece)
                    while view:
                        view = view[os.write(self._fd, view) :]
                    unsynced += len(piece)
                if self._durable and unsynced >= SYNC_EVERY:
                    os.fdatasync(self._fd) if hasattr(os, "fdatasync") else os.fsync(self._fd)
                    unsynced = 0
            except BaseException as exc:  # handed to the writer, raised by write/close
                self._error = exc


def _discard(sink: Any) -> None:
    """Drop an unfinished upload: fsspec's `discard` (an aborted multipart upload) where
    there is one, and mark the file closed so that its finaliser does not complete it."""
    discard = getattr(sink, "discard", None)
    try:
        if callable(discard):
            discard()
            sink.closed = True
        else:
            sink.close()
    except Exception:  # the upload is abandoned either way; the first error is what matters
        pass


def read_whole(path: Path, digest: Any = None) -> bytearray:
    """The content of `path`, read once into memory; each block also fed to `digest` if given.

    Exactly the size the file had when opened is read: a file that grows
    meanwhile gives its first bytes, one cut short gives fewer; either way the
    caller's sha256 of what it holds tells whether those bytes are the artifact.
    """
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        data = bytearray(size)
        view = memoryview(data)
        got = 0
        while got < size:
            n = fh.readinto(view[got : got + 4 * BLOCK])
            if not n:
                break
            if digest is not None:
                digest.update(view[got : got + n])
            got += n
        view.release()
    if got < size:
        del data[got:]
    return data


def read_hashed(path: Path) -> tuple[bytearray, str]:
    """`read_whole`, and the sha256 of exactly the bytes returned."""
    digest = hashlib.sha256()
    data = read_whole(path, digest)
    return data, digest.hexdigest()


def memory_budget() -> int:
    """How many bytes of data files a load may hold in memory at once: a quarter of the
    memory this process may use (the machine's, or its container's cgroup limit if lower).

    Above it, a load checks the files in a streaming pass and lets the
    materializer read them again (two reads, but no extra copy in memory).
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        total = 8 << 30
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return max(total // 4, 64 << 20)
