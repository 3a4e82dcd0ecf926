"""Running `python -m portaflow.task` in a throwaway project, for the runtime tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self, path: Path) -> Any:
        return json.loads(path.read_text())


@dataclass
class Project:
    """A project root on disk holding step modules, and a runner for `python -m portaflow.task`."""

    root: Path
    import_root: Path

    def module(self, name: str, source: str) -> None:
        path = self.root / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAFLOW_")}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.import_root), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        env.update(extra)
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "portaflow.task", "--root", str(self.root), *args]

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            env=self.env(**(env or {})),
            cwd=self.root,
            timeout=60,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self.run(*args, env=env)
        assert result.code == 0, result.stderr
        return result
