"""`python -m portaflow.xcom SPEC` (the pod flavour's entry point) runs the task and leaves its XCom file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STEPS = """
def count(words: list[str], blobs: list[bytes]) -> tuple[int, bytes]:
    return len(words) + len(blobs), b"".join(blobs)


def make(word: str) -> bytes:
    return word.encode()


def fail() -> int:
    raise RuntimeError("no")
"""


def _run(spec: dict[str, object], root: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "portaflow.xcom", json.dumps(spec)]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)


def test_outputs_land_in_the_xcom_file(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(STEPS)
    made = []
    for w in ("a", "bc"):
        out = tmp_path / "store" / w
        spec = {"argv": ["--step", "steps:make", "--root", str(tmp_path), "--param", f'word="{w}"',
                         "--output", f"output={out}"],
                "lists": {}, "outputs": {"output": str(out)}, "output_params": {},
                "return": str(tmp_path / f"x-{w}.json")}  # fmt: skip
        assert _run(spec, tmp_path).returncode == 0
        made.append(str(out))
    manifest = tmp_path / "in" / "blobs.json"
    spec = {
        "argv": ["--step", "steps:count", "--root", str(tmp_path), "--param", 'words=["x"]',
                 "--input-list", f"blobs={manifest}", "--output-param", f"output_0={tmp_path / 'p.json'}",
                 "--output", f"output_1={tmp_path / 'joined'}"],
        "lists": {str(manifest): made},
        "outputs": {"output_1": str(tmp_path / "joined")},
        "output_params": {"output_0": str(tmp_path / "p.json")},
        "return": str(tmp_path / "xcom" / "return.json"),
    }  # fmt: skip
    done = _run(spec, tmp_path)
    assert done.returncode == 0, done.stderr
    got = json.loads((tmp_path / "xcom" / "return.json").read_text())
    assert got == {"output_0": 3, "output_1": str(tmp_path / "joined")}


def test_a_failing_step_keeps_its_exit_status_and_writes_no_xcom(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(STEPS)
    spec = {"argv": ["--step", "steps:fail", "--root", str(tmp_path), "--output-param",
                     f"output={tmp_path / 'o.json'}"],
            "lists": {}, "outputs": {}, "output_params": {"output": str(tmp_path / "o.json")},
            "return": str(tmp_path / "return.json")}  # fmt: skip
    done = _run(spec, tmp_path)
    assert done.returncode == 1 and "RuntimeError: no" in done.stderr
    assert not (tmp_path / "return.json").exists()
