"""Where a step's reach cannot be known statically, the hash covers the whole module and PF910 says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashkit import UNRELATED, Case, edit, step_hash, write
from portaflow.compiler.frontend import analyze

DYNAMIC = {
    "getattr": ("import helpers\n", "getattr(helpers, name)(x)"),
    "importlib": ("import importlib\n", "importlib.import_module(name).scale(x)"),
    "exec": ("", 'exec("y = 1", {}) or x'),
    "globals": ("", 'globals()["hel" + "per"](x)'),
}


def _dynamic_files(kind: str) -> dict[str, str]:
    head, expr = DYNAMIC[kind]
    return {
        "pipeline.py": head
        + "\n\ndef helper(v):\n    return v\n\n\n@step\ndef a(x: int, name: str = 'scale') -> int:\n"
        f"    return {expr}\n",
        "helpers.py": "def scale(x):\n    return x * 2\n",
    }


@pytest.mark.parametrize("kind", sorted(DYNAMIC))
def test_dynamic_reach_widens_to_the_module_and_warns(tmp_path: Path, kind: str) -> None:
    files = _dynamic_files(kind)
    base = step_hash(tmp_path, files)
    # An edit anywhere in the step's module changes the hash: it is hashed whole.
    assert step_hash(tmp_path, edit(files, "pipeline.py", "return v\n", "return -v\n")) != base
    if kind == "getattr":  # ...and so is the module it reads a computed attribute of
        assert step_hash(tmp_path, edit(files, "helpers.py", "x * 2", "x * 3")) != base
    write(tmp_path, files)
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    warnings = [d for d in result.diagnostics if d.code == "PF910"]
    assert len(warnings) == 1, [d.render() for d in result.diagnostics]
    w = warnings[0]
    assert w.severity == "warning" and w.path.endswith("pipeline.py")
    # +2: 1-based, after the `from portaflow import ...` line `_write` puts first
    line = files["pipeline.py"].splitlines().index(f"    return {DYNAMIC[kind][1]}") + 2
    assert (w.line, w.col) == (line, 12)
    assert "covers all of pipeline.py" in w.message


@pytest.mark.parametrize(
    "call",
    ['importlib.import_module("helpers")', '__import__("helpers")'],
    ids=["importlib", "dunder"],
)
def test_a_literal_import_call_hashes_that_module_whole_without_a_warning(
    tmp_path: Path, call: str
) -> None:
    files = {
        "pipeline.py": f"import importlib\n\n\n@step\ndef a(x: int) -> int:\n    return {call}.scale(x)\n",
        "helpers.py": "def scale(x):\n    return x * 2\n" + UNRELATED[0],
    }
    base = step_hash(tmp_path, files)
    assert step_hash(tmp_path, edit(files, "helpers.py", "x * 2", "x * 3")) != base
    assert step_hash(tmp_path, edit(files, "helpers.py", *UNRELATED)) != base  # whole module
    assert step_hash(tmp_path, edit(files, "helpers.py", "def scale", "# c\ndef scale")) == base
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    assert result.pipeline is not None and not result.diagnostics


def test_a_module_getattr_makes_unknown_attributes_hash_the_module(tmp_path: Path) -> None:
    files = {
        "pipeline.py": "import helpers\n\n\n@step\ndef a(x: int) -> int:\n    return helpers.scale(x)\n",
        "helpers.py": "def __getattr__(name):\n    return lambda x: x * 2\n",
    }
    base = step_hash(tmp_path, files)
    assert step_hash(tmp_path, edit(files, "helpers.py", "x * 2", "x * 3")) != base


def test_a_getattr_with_a_literal_name_or_a_local_getattr_is_not_dynamic(tmp_path: Path) -> None:
    files = {
        "pipeline.py": "import helpers\n\n\n@step\ndef a(x: int) -> int:\n"
        '    return getattr(helpers, "scale")(x)\n',
        "helpers.py": "def scale(x):\n    return x * 2\n",
    }
    write(tmp_path, files)
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    assert result.pipeline is not None and not result.diagnostics
    shadowed = {
        "pipeline.py": "def getattr(o, n):\n    return o\n\n\n@step\ndef a(x: int, n: str = 'k') -> int:\n"
        "    return getattr(x, n)\n"
    }
    write(tmp_path, shadowed)
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    assert result.pipeline is not None and not result.diagnostics


@pytest.mark.parametrize(
    "binder",
    ['exec("def helper(v):\\n    return v + 1")', 'globals()["helper"] = lambda v: v + 1'],
    ids=["exec", "globals"],
)
def test_a_name_bound_only_by_module_level_exec_or_globals_widens_and_warns(
    tmp_path: Path, binder: str
) -> None:
    files = {"pipeline.py": f"\n{binder}\n\n\n@step\ndef a(x: int) -> int:\n    return helper(x)\n"}
    base = step_hash(tmp_path, files)
    assert step_hash(tmp_path, edit(files, "pipeline.py", "v + 1", "v + 2")) != base
    write(tmp_path, files)
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    (w,) = [d for d in result.diagnostics if d.code == "PF910"]
    assert w.line == 3 and "'helper'" in w.message


HELPER_MODULE = Case(
    "dynamic-reach-in-a-helper-module-widens-that-module",
    {
        "pipeline.py": """
from helpers import pick


@step
def a(x: int, name: str = "scale") -> int:
    return pick(name)(x)
""",
        "helpers.py": "def pick(name):\n    return getattr(OPS, name)\n\n\n"
        "class OPS:\n    scale = staticmethod(lambda x: x * 2)\n" + UNRELATED[0],
    },
    (("helpers.py", "x * 2", "x * 3"), ("helpers.py", *UNRELATED)),
    (("pipeline.py", "def a", "# the step\ndef a"),),
)


def test_dynamic_reach_in_a_helper_module_widens_that_module(tmp_path: Path) -> None:
    base = step_hash(tmp_path, HELPER_MODULE.files)
    for rel, old, new in HELPER_MODULE.changes:
        assert step_hash(tmp_path, edit(HELPER_MODULE.files, rel, old, new)) != base, (rel, old)
    for rel, old, new in HELPER_MODULE.keeps:
        assert step_hash(tmp_path, edit(HELPER_MODULE.files, rel, old, new)) == base, (rel, old)


def test_the_warning_names_the_line_in_the_helper_module(tmp_path: Path) -> None:
    write(tmp_path, HELPER_MODULE.files)
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    (w,) = [d for d in result.diagnostics if d.code == "PF910"]
    assert (w.path, w.line, w.col) == ("helpers.py", 2, 12), w.render()
    assert "getattr with a computed name" in w.message and "helpers.py" in w.message
