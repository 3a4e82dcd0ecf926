"""Test helpers shared by several test files: the example corpus and golden comparison."""

from __future__ import annotations

import difflib
import os
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
