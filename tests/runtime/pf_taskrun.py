"""Running `python -m portaflow.task` in a throwaway project, for the runtime tests."""

from __future__ import annotations

import contextlib
import io
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

    def run_in_process(self, *args: str) -> Result:
        """`portaflow.task.main` in this interpreter: the same code path without a start-up.

        For fast checks of invocation errors; the project's modules and sys.path are
        restored afterwards so cases do not see each other's imports.
        """
        from portaflow import task

        # Modules of the same names imported earlier (another test's `steps`) must
        # not stand in for this project's: hide them for the call, then put them back.
        ours = {p.stem for p in self.root.glob("*.py")} | {
            p.name for p in self.root.iterdir() if (p / "__init__.py").exists()
        }
        hidden = {k: m for k, m in sys.modules.items() if k.split(".")[0] in ours}
        for name in hidden:
            del sys.modules[name]
        saved_path = list(sys.path)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = task.main(["--root", str(self.root), *args])
        finally:
            sys.path[:] = saved_path
            for name in [k for k in sys.modules if k.split(".")[0] in ours]:
                del sys.modules[name]
            sys.modules.update(hidden)
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self.run(*args, env=env)
        assert result.code == 0, result.stderr
        return result
