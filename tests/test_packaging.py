"""Packaging and architecture: the wheel installs under the right names; the dependency rule holds."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from pfhelpers import REPO

STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(absolute module imported, at module top level?) for every import in a file."""
    return _imports_text(path.read_text(encoding="utf-8"), path)


def _imports_text(text: str, path: Path) -> list[tuple[str, bool]]:
    """`_imports` of `text` as if it were the file at `path`."""
    tree = ast.parse(text)
    top_level = {id(n) for n in tree.body}
    # imports under `if TYPE_CHECKING:` are for the type checker only
    type_only: set[int] = set()
    for n in tree.body:
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            type_only.update(id(x) for x in ast.walk(n))
        if isinstance(n, ast.If) and "version_info" in ast.unparse(n.test):
            top_level.update(id(x) for x in n.body + n.orelse)
    out: list[tuple[str, bool]] = []
    package = _package_of(path)
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod in ("portaflow", "portaflow.compiler", "portaflow.backends"):
                # `from portaflow.compiler import ir` imports the submodule ir
                out += [(f"{mod}.{a.name}", id(node) in top_level) for a in node.names]
            else:
                out.append((mod, id(node) in top_level))
    return out


def _package_of(path: Path) -> str:
    rel = path.relative_to(REPO)
    mapping = {
        "runtime": "portaflow",
        "compiler": "portaflow.compiler",
        "backends": "portaflow.backends",
    }
    parts = [mapping[rel.parts[0]], *rel.parts[1:-1]]
    return ".".join(parts)


def _files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def test_runtime_imports_only_the_standard_library_at_import_time() -> None:
    for f in _files("runtime"):
        for mod, top in _imports(f):
            assert not mod.startswith(("portaflow.compiler", "portaflow.backends")), (
                f"{f}: the runtime must not import {mod}"
            )
            if top and not mod.startswith("portaflow"):
                assert mod.split(".")[0] in STDLIB, f"{f}: top-level import of non-stdlib {mod}"


def test_compiler_does_not_depend_on_backends() -> None:
    for f in _files("compiler"):
        for mod, top in _imports(f):
            if mod.startswith("portaflow.backends"):
                # Only the CLI driver and its shared helpers dispatch to backends, by name,
                # inside functions.
                assert f.name in ("cli.py", "clikit.py") and not top, f"{f}: compiler imports {mod}"


#: What a backend may import from the compiler anywhere: the IR side.
IR_SIDE = {"portaflow.compiler.ir", "portaflow.compiler.irjson", "portaflow.compiler.graph"}
#: What a backend's command module (`cli.py`) may also import (it is cheap: click only).
CLI_SIDE = {"portaflow.compiler.clikit"}


def _backend_violations() -> list[str]:
    bad = []
    for f in _files("backends"):
        rel = f.relative_to(REPO).as_posix()
        for mod, top in _imports(f):
            if not mod.startswith("portaflow.compiler"):
                continue
            if mod in IR_SIDE or (mod in CLI_SIDE and f.name == "cli.py"):
                continue
            where = "at module level" if top else "inside a function"
            bad.append(f"{rel}: imports {mod} {where}")
    return bad


def test_backends_use_only_the_ir_side_of_the_compiler() -> None:
    """compiler -> IR <- backends: never compiler.cli, compiler.frontend or other internals."""
    assert _backend_violations() == []


def test_clikit_imports_only_click_and_the_standard_library_at_import_time() -> None:
    # Backend command modules import it at module level, and `portaflow --help` too.
    for mod, top in _imports(REPO / "compiler" / "clikit.py"):
        if top:
            assert mod == "click" or mod.split(".")[0] in STDLIB, mod


def test_the_import_rule_catches_a_backend_reaching_into_the_front_end() -> None:
    # The rule is only as good as its import reader: prove it sees lazy and aliased forms.
    sample = REPO / "backends" / "argo" / "cli.py"
    text = (
        "def f():\n"
        "    from portaflow.compiler.cli import front\n"
        "    import portaflow.compiler.frontend as fe\n"
        "    from portaflow.compiler import frontend\n"
        "    from ...compiler import cli\n"
    )
    found = {m for m, _ in _imports_text(text, sample)}
    assert found == {"portaflow.compiler.cli", "portaflow.compiler.frontend"}, found
    assert not found & (IR_SIDE | CLI_SIDE)


def test_import_portaflow_pulls_only_the_standard_library() -> None:
    code = (
        "import json, sys, portaflow, portaflow.dsl\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names"
        " and m.split('.')[0] not in ('portaflow', '__editable___portaflow_0_1_0_finder')"
        " and not m.startswith('_'))\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=_env()
    )
    if out.returncode != 0:  # -S hides site-packages; fall back to a normal interpreter
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    leaked = [m for m in json.loads(out.stdout) if not m.startswith(("certifi", "sitecustomize"))]
    assert leaked == [], leaked


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": ""}


@pytest.mark.slow
def test_wheel_builds_installs_and_imports(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("portaflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "portaflow/__init__.py" in names
    assert "portaflow/compiler/cli.py" in names
    assert "portaflow/backends/__init__.py" in names
    assert "portaflow/py.typed" in names
    assert not [n for n in names if n.split("/")[0] in ("compiler", "runtime", "backends", "tests")]
    # Every package folder in the source tree made it into the wheel.
    for folder, pkg in (
        ("runtime", "portaflow"),
        ("compiler", "portaflow/compiler"),
        ("backends", "portaflow/backends"),
    ):
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.relative_to(REPO / folder).as_posix()
            assert f"{pkg}/{rel}" in names, f"{pkg}/{rel} missing from the wheel"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # The dependencies come from this test's own environment, listed after the venv's
    # site-packages (a plain path: the editable install's finder there is not loaded).
    child_site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(child_site, "portaflow-test-deps.pth").write_text(
        "".join(f"{d}\n" for d in sorted(parent))
    )
    subprocess.run(
        [py, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, capture_output=True
    )
    out = subprocess.run(
        [
            py,
            "-c",
            "import portaflow, portaflow.compiler, portaflow.backends, portaflow.compiler.cli;"
            "print(portaflow.__file__); print(portaflow.compiler.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    for line in out.stdout.splitlines():
        assert str(venv) in line, f"imported from outside the venv: {line}"
    version = subprocess.run(
        [venv / "bin" / "portaflow", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert "portaflow" in version.stdout
