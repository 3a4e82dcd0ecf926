"""Run `mypy --strict` over the three packages under their import names.

The folders (runtime/, compiler/, backends/) become `portaflow`,
`portaflow.compiler` and `portaflow.backends` only through the build config,
which mypy cannot read; this lays out a tree of symlinks with the import names
and checks that. Usage: python tools/typecheck.py [extra mypy args]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_tree(dest: Path) -> Path:
    pkg = dest / "portaflow"
    pkg.mkdir(parents=True)
    for entry in (ROOT / "runtime").iterdir():
        if entry.name == "__pycache__":
            continue
        (pkg / entry.name).symlink_to(entry)
    (pkg / "compiler").symlink_to(ROOT / "compiler")
    (pkg / "backends").symlink_to(ROOT / "backends")
    return pkg


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="portaflow-typecheck-") as tmp:
        build_tree(Path(tmp))
        cmd = [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "-p",
            "portaflow",
            *argv,
        ]
        env = dict(os.environ, MYPYPATH=tmp)
        return subprocess.run(cmd, cwd=tmp, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
