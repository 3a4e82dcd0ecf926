"""The KFP corpus: pipelines written the way KFP's docs and samples write them, migrated.

Each `corpus/<case>.py` migrates to the bytes of `golden/<case>.py` (`pytest
--update-golden tests/migrate/kfp` rewrites them; refused under CI), twice to the same
bytes, with every comment of the input still in the output, to a file `portaflow check`
accepts without errors, and with only the diagnostics listed in CODES.
"""

from __future__ import annotations

import io
import tokenize
from collections import Counter
from pathlib import Path

import pytest

from pfhelpers import Golden
from portaflow.compiler.frontend import analyze
from portaflow.compiler.migrate.kfp import migrate

HERE = Path(__file__).resolve().parent
CORPUS = sorted((HERE / "corpus").glob("*.py"))
IDS = [p.stem for p in CORPUS]
#: The diagnostics each case gives (all warnings: every case migrates completely).
CODES = {
    "addition": ["PF806"],
    "ml_train": ["PF801", "PF806"],
}


def comments(source: str) -> Counter[str]:
    toks = tokenize.generate_tokens(io.StringIO(source).readline)
    return Counter(t.string for t in toks if t.type == tokenize.COMMENT)


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 10


@pytest.mark.parametrize("path", CORPUS, ids=IDS)
def test_migrates_to_golden(path: Path, golden: Golden) -> None:
    source = path.read_text(encoding="utf-8")
    result = migrate(source, path.name)
    assert migrate(source, path.name) == result
    assert [d.code for d in result.diagnostics] == CODES.get(path.stem, [])
    assert result.complete
    for d in result.diagnostics:
        assert d.line > 0 and d.col > 0 and d.hint, d
    golden.check(HERE / "golden" / path.name, result.code)


@pytest.mark.parametrize("path", CORPUS, ids=IDS)
def test_every_comment_survives(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    missing = comments(source) - comments(migrate(source, path.name).code)
    assert not missing, missing


@pytest.mark.parametrize("path", CORPUS, ids=IDS)
def test_migrated_file_passes_check(path: Path, tmp_path: Path) -> None:
    out = tmp_path / path.name
    out.write_text(migrate(path.read_text(encoding="utf-8"), path.name).code, encoding="utf-8")
    result = analyze(out, root=tmp_path)
    assert not result.errors, "\n".join(d.render() for d in result.diagnostics)
    assert not result.diagnostics, "\n".join(d.render() for d in result.diagnostics)


@pytest.mark.parametrize("path", CORPUS, ids=IDS)
def test_migrating_twice_changes_nothing(path: Path) -> None:
    once = migrate(path.read_text(encoding="utf-8"), path.name).code
    assert migrate(once, path.name).code == once
