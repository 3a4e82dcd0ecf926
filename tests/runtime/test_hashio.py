"""One pass over an artifact's bytes (runtime/_hashio.py): hashed as written, checked as read.

The fast paths must keep every guarantee of the slow ones: the sidecar's sha256
is the sha256 of the bytes on disk, and a load never returns (nor, for pickle,
even starts to parse) bytes that do not match it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from pathlib import Path

import pytest

from portaflow import _hashio, materializers
from portaflow.materializers import NotAnArtifactError, load_artifact, save_artifact


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _artifact_sha(folder: Path, files: list[str]) -> str:
    """The artifact sha256 as the module docstring defines it, computed independently."""
    lines = "".join(f"{_sha((folder / f).read_bytes())}  {f}\n" for f in files)
    return _sha(lines.encode())


def test_the_writer_hashes_exactly_what_it_writes(tmp_path: Path) -> None:
    import numpy as np

    parts: list[object] = [
        b"small",
        bytearray(b"x" * 10),
        os.urandom(_hashio.BLOCK + 17),  # a large block, passed on as it is
        memoryview(b"view"),
        np.arange(1000, dtype="float64").reshape(10, 100),  # not a byte format, 2-D
        b"",
    ]
    expected = b"".join(bytes(memoryview(p).cast("B")) for p in parts)  # type: ignore[arg-type]
    with _hashio.HashingWriter(tmp_path / "f") as fh:
        for p in parts:
            fh.write(p)
        assert fh.tell() == len(expected)
    assert (tmp_path / "f").read_bytes() == expected
    assert fh.sha256 == _sha(expected) and fh.size == len(expected)
    with pytest.raises(ValueError):
        fh.write(b"more")


def test_a_reused_buffer_is_copied_before_write_returns(tmp_path: Path) -> None:
    buf = bytearray(b"a" * (_hashio.BLOCK + 1))
    with _hashio.HashingWriter(tmp_path / "f") as fh:
        fh.write(buf)
        buf[:] = b"b" * len(buf)  # the caller reuses its buffer at once
        fh.write(buf)
    data = (tmp_path / "f").read_bytes()
    assert data == b"a" * len(buf) + b"b" * len(buf) and fh.sha256 == _sha(data)


def test_a_write_error_on_the_helper_thread_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_hashio.os, "write", full)
    fh = _hashio.HashingWriter(tmp_path / "f")
    fh.write(b"x" * (_hashio.BLOCK * 2))
    for _ in range(3000):  # the helper thread meets the error soon; no timing asserted
        if fh._error is not None:
            break
        time.sleep(0.01)
    with pytest.raises(OSError, match="No space left"):
        fh.write(b"late")  # after the failure: the writer says so at once
    with pytest.raises(OSError, match="No space left"):
        fh.close()  # and again when closed, which still closes it
    assert fh.closed
    with pytest.raises(ValueError):
        _ = fh.sha256


def test_read_hashed_and_read_whole(tmp_path: Path) -> None:
    data = os.urandom(3 * _hashio.BLOCK + 5)
    (tmp_path / "f").write_bytes(data)
    got, sha = _hashio.read_hashed(tmp_path / "f")
    assert got == data and sha == _sha(data)
    assert _hashio.read_whole(tmp_path / "f") == data
    (tmp_path / "e").write_bytes(b"")
    assert _hashio.read_hashed(tmp_path / "e") == (bytearray(), _sha(b""))


def _frame():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame({"a": range(50_000), "b": [f"row {i}" for i in range(50_000)]})


def test_a_streamed_dataframe_is_the_plain_parquet_file_and_its_sidecar_is_true(
    tmp_path: Path,
) -> None:
    df = _frame()
    info = save_artifact(df, tmp_path / "a")
    df.to_parquet(tmp_path / "plain.parquet", engine="pyarrow")
    written = (tmp_path / "a" / "data.parquet").read_bytes()
    assert written == (tmp_path / "plain.parquet").read_bytes()
    assert info.sha256 == _artifact_sha(tmp_path / "a", ["data.parquet"])
    assert info.size == len(written)
    assert load_artifact(tmp_path / "a").equals(df)


@pytest.mark.parametrize("value", ["numpy", "series", b"bytes"])
def test_streamed_builtins_round_trip(tmp_path: Path, value: object) -> None:
    if value == "numpy":
        import numpy as np

        value = np.arange(12.0).reshape(3, 4)
    elif value == "series":
        import pandas as pd

        value = pd.Series([1.5, 2.5], name=None)
    info = save_artifact(value, tmp_path / "a")
    assert info.sha256 == _artifact_sha(tmp_path / "a", list(info.files))
    back = load_artifact(tmp_path / "a")
    if isinstance(value, bytes):
        assert back == value
    elif hasattr(value, "equals"):
        assert back.equals(value) and back.name is None  # type: ignore[union-attr]
    else:
        assert (back == value).all()  # type: ignore[union-attr]


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("budget", [None, 0], ids=["in-memory", "streamed-check"])
def test_a_damaged_parquet_artifact_is_rejected_not_parsed_into_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int | None
) -> None:
    if budget is not None:  # the artifact is larger than a load may hold in memory
        monkeypatch.setattr(materializers, "memory_budget", lambda: budget)
    save_artifact(_frame(), tmp_path / "a")
    _flip_middle(tmp_path / "a" / "data.parquet")
    with pytest.raises(NotAnArtifactError, match="changed since it was written"):
        load_artifact(tmp_path / "a")


def test_damaged_bytes_that_break_the_parser_are_reported_as_damage(tmp_path: Path) -> None:
    save_artifact(_frame(), tmp_path / "a")
    data = tmp_path / "a" / "data.parquet"
    size = data.stat().st_size
    data.write_bytes(b"\0" * size)  # same size, not Parquet at all: pyarrow itself fails
    with pytest.raises(NotAnArtifactError, match="changed since it was written"):
        load_artifact(tmp_path / "a")


class _Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.mkdir, (_Boom.target,))

    target = Path()


def test_a_changed_pickle_is_never_unpickled(tmp_path: Path) -> None:
    save_artifact(set(range(200)), tmp_path / "a", using=materializers._PICKLE)
    data = tmp_path / "a" / "data.pkl"
    _Boom.target = tmp_path / "unpickled"
    evil = pickle.dumps(_Boom(), protocol=5)
    size = data.stat().st_size
    assert len(evil) < size
    # The recorded size, so only the sha256 tells (pickle never reads past its STOP opcode).
    data.write_bytes(evil + b"\0" * (size - len(evil)))
    with pytest.raises(NotAnArtifactError, match="changed since it was written"):
        load_artifact(tmp_path / "a")
    assert not _Boom.target.exists()
    load_artifact(tmp_path / "a", verify=False)  # unchecked, the payload would have run
    assert _Boom.target.exists()


def test_a_saved_data_file_is_on_disk_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/stores.md: the file is fsynced before the artifact's rename."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(f"fsync {os.readlink(f'/proc/self/fd/{fd}').rsplit('/', 1)[-1]}")
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        events.append(f"rename {Path(str(dst)).name}")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(_hashio.os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save_artifact(b"x" * 1000, tmp_path / "a")
    assert "fsync data.bin" in events and events.index("fsync data.bin") < events.index("rename a")


def test_the_memory_budget_is_a_quarter_of_the_container_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/stores.md: a quarter of the memory the process may use, its cgroup limit included."""
    monkeypatch.setattr(_hashio.os, "sysconf", lambda name: 1 << 20 if "PAGES" in name else 4096)
    limits = {"/sys/fs/cgroup/memory.max": "2147483648\n"}

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if str(self) in limits:
            return limits[str(self)]
        raise FileNotFoundError(str(self))

    monkeypatch.setattr(_hashio.Path, "read_text", read_text)
    assert _hashio.memory_budget() == (2 << 30) // 4  # 4 GiB of RAM, a 2 GiB container
    limits["/sys/fs/cgroup/memory.max"] = "max\n"
    assert _hashio.memory_budget() == (4 << 30) // 4
