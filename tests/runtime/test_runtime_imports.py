"""`import portaflow` and `portaflow.task` pull only the standard library: they run in every container."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pf_taskrun import Project

HEAVY = [
    "pandas",
    "numpy",
    "pyarrow",
    "sklearn",
    "joblib",
    "yaml",
    "libcst",
    "networkx",
    "click",
    "rich",
]

PROBE = """
import json, sys
import portaflow, portaflow.task, portaflow.materializers, portaflow.metadata, portaflow.registry, portaflow.protocol
print(json.dumps({
    "loaded": sorted({m.split(".")[0] for m in sys.modules}),
    "compiler": [m for m in sys.modules if m.startswith(("portaflow.compiler", "portaflow.backends"))],
    "stdlib": sorted(sys.stdlib_module_names),
}))
"""


def test_runtime_imports_only_the_standard_library(project: Project) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=project.env(),
        cwd=project.root,
        check=True,
    )
    report = json.loads(done.stdout)
    loaded = set(report["loaded"])
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert report["compiler"] == []
    # Whatever else is loaded is the standard library, portaflow, or site's own start-up hooks.
    foreign = {
        m
        for m in loaded - set(report["stdlib"]) - {"portaflow", "__main__"}
        if not m.startswith("_")
    }
    assert foreign <= _site_startup_modules(project), foreign


def _site_startup_modules(project: Project) -> set[str]:
    """Modules an empty interpreter already has here (.pth hooks of the environment)."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        env=project.env(),
        check=True,
    )
    return {m.split(".")[0] for m in json.loads(done.stdout)}


def test_help_lists_the_protocol_flags(project: Project) -> None:
    result = project.run("--help")
    assert result.code == 0
    for flag in (
        "--step",
        "--root",
        "--input",
        "--input-list",
        "--param",
        "--output",
        "--output-param",
        "--metadata",
        "--code-hash",
        "--task-id",
        "--run-id",
    ):
        assert flag in result.stdout


def test_runtime_does_not_import_compiler_or_backends() -> None:
    runtime = Path(__file__).resolve().parents[2] / "runtime"
    for module in runtime.glob("*.py"):
        text = module.read_text()
        assert "portaflow.compiler" not in text and "portaflow.backends" not in text, module
