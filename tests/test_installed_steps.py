"""`@step` functions from installed packages: found on sys.path, read statically, never imported."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from portaflow.backends import EmitOptions, load
from portaflow.backends.local import run_pipeline
from portaflow.compiler import CompileError, compile_file

PACKAGE = {
    "textkit/__init__.py": '"""Reusable steps."""\nfrom .steps import count_words\n',
    "textkit/steps.py": '''
        """Steps shipped in an installed package."""
        from portaflow import step

        from ._util import split


        @step(retries=2)
        def count_words(text: str) -> int:
            """Count the words of a text."""
            return len(split(text))


        def plain(text: str) -> int:
            return 1
        ''',
    "textkit/_util.py": "def split(text: str) -> list[str]:\n    return text.split()\n",
}

PIPELINE = """
from portaflow import pipeline, step
from textkit import count_words
import textkit.steps as ts


@step
def shout(n: int) -> str:
    return f"{n} words"


@pipeline
def words(text: str = "a b c d"):
    shout(count_words(text))
    ts.count_words(text)
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site-packages"
    for rel, text in PACKAGE.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "textkit", raising=False)
    return site


def _project(tmp_path: Path, body: str = PIPELINE) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pipeline.py").write_text(textwrap.dedent(body))
    (root / "pyproject.toml").write_text('[project]\nname = "words"\nversion = "0"\n')
    return root / "pipeline.py"


def test_an_installed_step_compiles_without_being_imported(site: Path, tmp_path: Path) -> None:
    path = _project(tmp_path)
    p = compile_file(path)
    assert "textkit" not in sys.modules  # read from its file, never imported
    step = p.step("textkit.steps:count_words")
    assert step.span.path == "<installed>/textkit/steps.py" and step.config.retry is not None
    assert step.doc == "Count the words of a text."
    assert [t.step for t in p.tasks if t.id.startswith("count_words")] == [step.ref] * 2
    assert compile_file(path) == p
    # The code hash covers the package code the step reaches (its sibling module too).
    (site / "textkit" / "_util.py").write_text(
        "def split(text: str) -> list[str]:\n    return text.split(' ')\n"
    )
    assert compile_file(path).step(step.ref).code_hash != step.code_hash


@pytest.mark.parametrize("target", ["argo", "kfp", "airflow"])
def test_backends_run_the_installed_step_by_reference(
    site: Path, tmp_path: Path, target: str
) -> None:
    p = compile_file(_project(tmp_path))
    text = "".join(f.text for f in load(target)(p, options=EmitOptions()).files)
    assert "textkit.steps:count_words" in text and str(site) not in text


def test_the_local_runner_runs_it(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    path = _project(tmp_path)
    result = run_pipeline(compile_file(path), root=path.parent, store=tmp_path / "store")
    assert result.ok
    outputs = {e.key: e.outputs["output"]["param"] for e in result.executions}
    assert outputs == {"count_words": 4, "count_words_2": 4, "shout": "4 words"}


def test_a_plain_function_of_an_installed_package_is_not_a_step(site: Path, tmp_path: Path) -> None:
    path = _project(tmp_path, PIPELINE.replace("ts.count_words(text)", "ts.plain(text)"))
    with pytest.raises(CompileError) as info:
        compile_file(path)
    (d,) = info.value.diagnostics
    # textkit is open (count_words is a step of it): its modules resolve like project ones.
    assert d.code == "PF204" and d.message == "`ts.plain` is not a @step or @pipeline function"


def test_a_package_not_on_sys_path_says_so(tmp_path: Path) -> None:
    path = _project(tmp_path)
    with pytest.raises(CompileError) as info:
        compile_file(path)
    assert info.value.diagnostics[0].code == "PF204"
    assert "installed where portaflow runs" in info.value.diagnostics[0].hint
