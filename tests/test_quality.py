"""The codebase stays clean: ruff lint and format, mypy --strict, and the README's two commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pfhelpers import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=REPO, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    proc = _run(sys.executable, "-m", "ruff", "check", "--output-format", "concise", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_mypy_strict() -> None:
    proc = _run(sys.executable, "tools/typecheck.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```bash\n")[1:]]
    test_cmd = next(b for b in blocks if "pytest" in b)
    run_cmd = blocks[0]
    assert "portaflow run examples/" in run_cmd
    assert test_cmd in ci.splitlines()
