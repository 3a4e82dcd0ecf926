"""An interrupted step never leaves an artifact that a later step or a cache would trust."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pf_taskrun import Project
from portaflow import _atomic
from portaflow.materializers import (
    SIDECAR,
    NotAnArtifactError,
    is_artifact,
    load_artifact,
    read_artifact,
    save_artifact,
    verify_artifact,
)

STEPS = """
import os
import time
from pathlib import Path

import portaflow
from portaflow import step


class Slow:
    pass


@portaflow.materializer(Slow)
class SlowMaterializer:
    name = "tests.slow"

    def save(self, obj, dir):
        (dir / "part1.bin").write_bytes(b"x" * 100_000)
        Path(os.environ["MARKER"]).write_text("half written")
        time.sleep(60)
        (dir / "part2.bin").write_bytes(b"y")

    def load(self, dir):
        return Slow()


@step
def slow() -> Slow:
    return Slow()


@step
def quick() -> str:
    return "new"


@step
def size(data: str) -> int:
    return len(data)
"""


def _kill_mid_write(project: Project, target: Path, marker: Path) -> None:
    proc = subprocess.Popen(
        project.argv("--step=steps:slow", f"--output=output={target}"),
        env=project.env(MARKER=str(marker)),
        cwd=project.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "the step ended before it was killed"
            assert time.monotonic() < deadline, "the step never started writing"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_sigkill_mid_write_leaves_no_artifact(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    target = tmp_path / "out" / "slow"
    _kill_mid_write(project, target, tmp_path / "marker")

    assert not target.exists()
    assert not is_artifact(target)
    (half,) = _leftovers(target.parent)  # hidden, and never under the target's name
    assert half.name.startswith(".slow.tmp-")
    assert (half / "part1.bin").exists() and not (half / SIDECAR).exists()
    assert not is_artifact(half)

    # A later step handed the half-written folder refuses it...
    result = project.run("--step=steps:size", f"--input=data={half}")
    assert result.code == 2 and "has no portaflow-artifact.json" in result.stderr
    # ...and the next write of the same output cleans it up.
    project.ok("--step=steps:quick", f"--output=output={target}")
    assert load_artifact(target) == "new"
    assert _leftovers(target.parent) == []


def test_sigkill_while_replacing_keeps_the_old_artifact(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    target = tmp_path / "slow"
    old = save_artifact({"version": 1}, target)
    _kill_mid_write(project, target, tmp_path / "marker")

    assert verify_artifact(target).sha256 == old.sha256
    assert load_artifact(target) == {"version": 1}


def test_sidecar_is_the_commit_record(tmp_path: Path) -> None:
    info = save_artifact(b"payload", tmp_path / "a")
    assert read_artifact(tmp_path / "a") == info
    (tmp_path / "a" / "data.bin").write_bytes(b"payl")  # truncated: sizes disagree
    with pytest.raises(NotAnArtifactError, match="hold 4 bytes, the sidecar says 7"):
        read_artifact(tmp_path / "a")
    (tmp_path / "a" / "data.bin").write_bytes(b"PAYLOAD")  # same size, other bytes
    assert is_artifact(tmp_path / "a")
    with pytest.raises(NotAnArtifactError, match="changed since it was written"):
        verify_artifact(tmp_path / "a")
    (tmp_path / "a" / SIDECAR).write_text("{not json")
    assert not is_artifact(tmp_path / "a")
    (tmp_path / "a" / SIDECAR).write_text(json.dumps({"type": "bytes"}))
    with pytest.raises(NotAnArtifactError, match="malformed"):
        read_artifact(tmp_path / "a")


def test_failing_materializer_leaves_target_untouched(tmp_path: Path) -> None:
    class Broken:
        name = "tests.broken"

        def save(self, obj: object, dir: Path) -> None:
            (dir / "partial").write_text("x")
            raise OSError("disk full")

        def load(self, dir: Path) -> object:
            raise AssertionError

    target = tmp_path / "t"
    save_artifact("old", target)
    with pytest.raises(OSError, match="disk full"):
        save_artifact("new", target, using=Broken())
    assert load_artifact(target) == "old"
    assert _leftovers(tmp_path) == []


def test_failed_swap_restores_the_old_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t"
    save_artifact("old", target)
    real_rename = os.rename
    calls = []

    def flaky_rename(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        calls.append((src, dst))
        if len(calls) == 2:  # moving the new directory in
            raise OSError("interrupted")
        real_rename(src, dst)

    monkeypatch.setattr(_atomic.os, "rename", flaky_rename)
    with pytest.raises(OSError, match="interrupted"):
        save_artifact("new", target)
    monkeypatch.undo()
    assert load_artifact(target) == "old"
    assert _leftovers(tmp_path) == []


def test_atomic_file_write_keeps_old_content_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "value.json"
    _atomic.atomic_write_text(path, "1")

    def no_replace(src: object, dst: object) -> None:
        raise OSError("killed")

    monkeypatch.setattr(_atomic.os, "replace", no_replace)
    with pytest.raises(OSError):
        _atomic.atomic_write_text(path, "2")
    monkeypatch.undo()
    assert path.read_text() == "1"
    assert _leftovers(tmp_path) == []


def test_stale_temporaries_of_live_writers_are_kept(tmp_path: Path) -> None:
    live = tmp_path / f".t.tmp-{os.getpid()}-abc"
    dead = tmp_path / ".t.tmp-999999999-abc"
    other = tmp_path / ".u.tmp-999999999-abc"
    for folder in (live, dead, other):
        folder.mkdir()
    save_artifact(1, tmp_path / "t")
    assert live.exists() and other.exists() and not dead.exists()


def test_sigterm_mid_write_cleans_up_and_records_termination(
    project: Project, tmp_path: Path
) -> None:
    project.module("steps", STEPS)
    target, marker, meta = tmp_path / "slow", tmp_path / "marker", tmp_path / "meta.json"
    proc = subprocess.Popen(
        project.argv("--step=steps:slow", f"--output=output={target}", f"--metadata={meta}"),
        env=project.env(MARKER=str(marker)),
        cwd=project.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "terminated by signal" in stderr
    record = json.loads(meta.read_text())
    assert record["state"] == "terminated" and record["exit_code"] == 143
    assert not target.exists() and _leftovers(tmp_path) == []


def test_an_artifact_whose_bytes_changed_is_never_loaded(tmp_path: Path) -> None:
    save_artifact(b"payload", tmp_path / "a")
    (tmp_path / "a" / "data.bin").write_bytes(b"PAYLOAD")  # same size: only the sha256 tells
    with pytest.raises(NotAnArtifactError, match="changed since it was written"):
        load_artifact(tmp_path / "a")
    assert load_artifact(tmp_path / "a", verify=False) == b"PAYLOAD"


def test_a_task_refuses_an_input_whose_bytes_changed(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    save_artifact("text", tmp_path / "in")
    assert project.ok("--step=steps:size", f"--input=data={tmp_path / 'in'}")
    (tmp_path / "in" / "data.json").write_text('"TEXT"')
    result = project.run("--step=steps:size", f"--input=data={tmp_path / 'in'}")
    assert result.code == 2, result.stderr
    assert "changed since it was written" in result.stderr
    assert "Traceback" not in result.stderr


def test_stale_temporaries_are_swept_from_a_folder(tmp_path: Path) -> None:
    zombie = subprocess.Popen(["true"])
    deadline = time.monotonic() + 30
    while Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never exited"
        time.sleep(0.02)
    live = tmp_path / f".out.tmp-{os.getpid()}-abc"
    dead = tmp_path / ".out.tmp-999999999-abc"
    killed = tmp_path / f".value.json.tmp-{zombie.pid}-x1"  # exited, not reaped yet
    keep = [tmp_path / "out", tmp_path / ".hidden", tmp_path / "a.tmp-1-x"]
    for folder in (live, dead, *keep):
        folder.mkdir()
    killed.write_text("half")
    removed = _atomic.remove_stale_temporaries(tmp_path)
    zombie.wait()
    assert sorted(removed) == sorted([dead, killed])
    assert live.exists() and all(p.exists() for p in keep)
