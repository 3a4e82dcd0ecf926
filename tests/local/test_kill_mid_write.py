"""`portaflow run` SIGKILLed while a large artifact is half written: the store stays
trustworthy, `runs list` says `interrupted`, and `--resume` finishes the run, leaves no
temporary behind, and every artifact matches its checksum."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from irkit import Builder, lit, out, step
from localkit import counts
from portaflow.compiler import irjson
from portaflow.materializers import SIDECAR, verify_artifact

#: Size of the artifact being written when the runner is killed.
BIG_MIB = 64

BIG_STEPS = '''
import os
import time
from pathlib import Path

import portaflow

ROOT = Path(os.environ["PORTAFLOW_ROOT"])


class Big:
    def __init__(self, mib):
        self.mib = mib


@portaflow.materializer(Big)
class BigMaterializer:
    """Writes `mib` MiB; half way, while the file `gate` exists, says so and waits."""

    name = "tests.big"

    def save(self, obj, dir):
        chunk = os.urandom(1 << 20)
        with open(dir / "data.bin", "wb") as fh:
            for i in range(obj.mib):
                fh.write(chunk)
                if i == obj.mib // 2 and (ROOT / "gate").exists():
                    fh.flush()
                    (ROOT / "half-written").write_text(str(os.getpid()))
                    deadline = time.time() + 120
                    while (ROOT / "gate").exists() and time.time() < deadline:
                        time.sleep(0.05)

    def load(self, dir):
        return Big((dir / "data.bin").stat().st_size >> 20)


def _count(name):
    with open(ROOT / "counts" / name, "a") as fh:
        fh.write("x")


def small() -> bytes:
    _count("small")
    return b"written before the kill" * 1000


def big(mib: int) -> Big:
    _count("big")
    return Big(mib)


def size_of(data: Big, before: bytes) -> int:
    return data.mib * len(before)
'''

SMALL = step("bigsteps:small", {}, {"output": "bytes"})
BIG = step("bigsteps:big", {"mib": "int"}, {"output": "bigsteps.Big"})
SIZE_OF = step("bigsteps:size_of", {"data": "bigsteps.Big", "before": "bytes"}, {"output": "int"})


def _pipeline():
    b = Builder()
    b.task("small", SMALL)
    b.task("big", BIG, {"mib": lit(BIG_MIB)}, after=["small"])
    b.task("size_of", SIZE_OF, {"data": out("big"), "before": out("small")})
    return b.build()


def _cli(project: Path, store: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "portaflow.backends.local",
        *args,
        "--root",
        str(project),
        "--store",
        str(store),
    ]


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp-" in p.name]


@pytest.mark.slow
def test_kill_while_writing_a_large_artifact_then_resume(project: Path, isolation: str) -> None:
    (project / "bigsteps.py").write_text(BIG_STEPS)
    (project / "counts").mkdir()
    (project / "gate").write_text("")
    ir_file = project / "pipeline.ir.json"
    ir_file.write_text(irjson.dumps(_pipeline()))
    store = project / ".portaflow"
    runner = subprocess.Popen(
        [*_cli(project, store, "run", str(ir_file)), "--plain", "--isolation", isolation],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: (project / "half-written").exists(), "the big write to start")
        writer = int((project / "half-written").read_text())
        os.kill(runner.pid, signal.SIGKILL)
        assert runner.wait() == -signal.SIGKILL
    finally:
        runner.kill()
    _wait_for(lambda: _gone(writer), "the writer to die with its runner", 30)

    # The kill left a half-written temporary, never an artifact under the output's name.
    listed = subprocess.run(
        [*_cli(project, store, "runs", "list"), "--json"], capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "interrupted"
    big_dir = store / "artifacts" / run["id"] / "big"
    assert [p.name.split(".tmp-")[0] for p in _temporaries(big_dir)] == [".output"]
    assert not (big_dir / "output").exists()

    (project / "gate").unlink()
    resumed = subprocess.run(
        [*_cli(project, store, "run"), "--resume", run["id"], "--plain", "--isolation", isolation],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert counts(project, "small") == 1 and counts(project, "big") == 2

    assert _temporaries(store) == []
    db = sqlite3.connect(store / "portaflow.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT status FROM runs").fetchall() == [("succeeded",)]
        recorded = dict(db.execute("SELECT uri, sha256 FROM artifacts").fetchall())
        (size,) = db.execute("SELECT outputs FROM executions WHERE key = 'size_of'").fetchone()
    finally:
        db.close()
    on_disk = sorted(str(p.parent) for p in (store / "artifacts").rglob(SIDECAR))
    assert sorted(recorded) == on_disk and len(on_disk) == 2
    for uri, sha256 in recorded.items():
        info = verify_artifact(Path(uri))  # every byte matches the sidecar's checksum...
        assert info.sha256 == sha256  # ...and the sidecar is the one the store recorded
    assert verify_artifact(big_dir / "output").size == BIG_MIB << 20
    assert json.loads(size)["output"]["value"] == BIG_MIB * len(b"written before the kill") * 1000
