"""The ZenML corpus: each pipeline migrates to its golden file, byte for byte, and stays itself.

For every file in corpus/ (written the way ZenML's docs and tutorials write pipelines,
the project's seed pipeline among them): the migrated text and its rendered diagnostics
equal golden/<name>.py and golden/<name>.txt; a second migration gives the same bytes;
every comment of the input is in the output; `portaflow check` accepts the output.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import pytest

from pfhelpers import Golden
from portaflow.compiler.frontend import analyze
from portaflow.compiler.migrate.zenml import migrate

HERE = Path(__file__).resolve().parent
CORPUS = sorted((HERE / "corpus").glob("*.py"))


def comments(text: str) -> list[str]:
    """Every comment token of a Python source, in order."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [t.string for t in tokens if t.type == tokenize.COMMENT]


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 10
    assert (HERE / "corpus" / "seed.py").is_file()


@pytest.mark.parametrize("case", CORPUS, ids=lambda p: p.stem)
def test_golden(case: Path, golden: Golden) -> None:
    result = migrate(case.read_text(encoding="utf-8"), case.name)
    golden.check(HERE / "golden" / case.name, result.code)
    report = "".join(d.render() + "\n" for d in result.diagnostics)
    golden.check(HERE / "golden" / f"{case.stem}.txt", report)
    again = migrate(case.read_text(encoding="utf-8"), case.name)
    assert again.code == result.code and again.diagnostics == result.diagnostics


@pytest.mark.parametrize("case", CORPUS, ids=lambda p: p.stem)
def test_every_comment_survives(case: Path) -> None:
    source = case.read_text(encoding="utf-8")
    out = migrate(source, case.name).code
    left = comments(out)
    for comment in comments(source):
        assert comment in left, f"{case.name}: comment {comment!r} was lost"
        left.remove(comment)


@pytest.mark.parametrize("case", CORPUS, ids=lambda p: p.stem)
def test_portaflow_check_accepts_it(case: Path, tmp_path: Path) -> None:
    out = tmp_path / case.name
    out.write_text(migrate(case.read_text(encoding="utf-8"), case.name).code, encoding="utf-8")
    result = analyze(out, root=tmp_path)
    errors = [d.render() for d in result.errors]
    assert not errors, "\n".join(errors)
    assert result.pipeline is not None


@pytest.mark.parametrize("case", CORPUS, ids=lambda p: p.stem)
def test_no_zenml_decorator_is_left(case: Path) -> None:
    out = migrate(case.read_text(encoding="utf-8"), case.name).code
    assert "from portaflow import" in out
    assert "from zenml import pipeline" not in out and "from zenml import step" not in out
