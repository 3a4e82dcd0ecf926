"""Test helpers shared by several test files: the example corpus, golden comparison, CLI output rules."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
GOLDEN_CASES = REPO / "tests" / "golden"


def example_files() -> list[Path]:
    """Every example and golden-case pipeline file, in a stable order."""
    return sorted(EXAMPLES.glob("*/pipeline.py")) + sorted(GOLDEN_CASES.glob("*/pipeline.py"))


def case_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}"


class Golden:
    """Compares text with a committed file, byte for byte."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, path: Path, text: str) -> None:
        data = text.encode("utf-8")
        if self.update:
            if os.environ.get("CI"):
                pytest.fail(
                    "--update-golden is refused under CI: golden files are reviewed, not regenerated"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        if not path.is_file():
            pytest.fail(f"missing golden file {path}; run pytest --update-golden and review it")
        expected = path.read_bytes()
        if expected != data:
            diff = "".join(
                difflib.unified_diff(
                    expected.decode("utf-8", "replace").splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    str(path),
                    "(compiled now)",
                )
            )
            pytest.fail(f"output differs from {path}:\n{diff[:6000]}")


_LOCATED = re.compile(r"^\S.*:\d+:\d+: (error|warning) PF\d{3}: ")
_DIAG = re.compile(r"(error|warning) (PF\d{3}): ")
_SUMMARY = re.compile(r"^\d+ error\(s\), \d+ warning\(s\)$")


def check_cli_output(code: int, out: str, err: str, what: str) -> None:
    """The CLI's contract for any input: exit 0/1/2, no traceback, every error located."""
    text = out + err
    assert code in (0, 1, 2), f"{what}: exit code {code}\n{text[-3000:]}"
    assert "Traceback" not in text, f"{what}: traceback\n{text[-3000:]}"
    assert "PF001" not in text, f"{what}: internal compiler error\n{text[-3000:]}"
    for line in err.splitlines():
        if not line.strip() or line.startswith((" ", "\t")) or _SUMMARY.match(line):
            continue  # a diagnostic's source line, caret or hint; the closing count
        m = _DIAG.search(line)
        if m is not None and m.group(2) == "PF110":  # no pipeline in this file: the whole file
            continue
        if code == 0 and m is None:
            continue  # a success's own lines ("ok: pipeline ..."); its warnings are still checked
        assert _LOCATED.match(line), (
            f"{what}: an error without file:line:col: {line!r}\n{err[-3000:]}"
        )
    if code == 1:
        located = [ln for ln in err.splitlines() if _LOCATED.match(ln) or "PF110" in ln]
        assert located, f"{what}: exit 1 without a located error\n{text[-3000:]}"
