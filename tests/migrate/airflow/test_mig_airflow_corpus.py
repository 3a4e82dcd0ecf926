"""The Airflow TaskFlow dialect over a corpus written the way Airflow's docs and example DAGs are.

Each corpus file's migration is compared byte for byte with its golden file
(`pytest --update-golden tests/migrate/airflow` rewrites them), keeps every
comment of the input, and — when it is complete — passes `portaflow check`.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from pathlib import Path

import pytest

from pfhelpers import Golden
from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.frontend import analyze
from portaflow.compiler.migrate.airflow import RULES, migrate

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
GOLDEN = HERE / "golden"
NAMES = sorted(p.stem for p in CORPUS.glob("*.py"))
#: Corpus files that hold constructs on purpose that no rule translates.
INCOMPLETE = {"unsupported"}


def _migrated(name: str) -> tuple[str, str, bool]:
    path = CORPUS / f"{name}.py"
    result = migrate(path.read_text(encoding="utf-8"), f"{name}.py")
    diagnostics = "".join(d.render() + "\n" for d in result.diagnostics)
    return result.code, diagnostics, result.complete


def _comments(source: str) -> Counter[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return Counter(t.string for t in tokens if t.type == tokenize.COMMENT)


def test_the_corpus_is_big_enough() -> None:
    assert len(NAMES) >= 10


@pytest.mark.parametrize("name", NAMES)
def test_migration_matches_golden(name: str, golden: Golden) -> None:
    code, diagnostics, _complete = _migrated(name)
    golden.check(GOLDEN / f"{name}.py", code)
    golden.check(GOLDEN / f"{name}.diagnostics.txt", diagnostics)
    assert _migrated(name)[:2] == (code, diagnostics)  # deterministic


@pytest.mark.parametrize("name", NAMES)
def test_every_comment_survives(name: str) -> None:
    source = (CORPUS / f"{name}.py").read_text(encoding="utf-8")
    code, _d, _c = _migrated(name)
    missing = _comments(source) - _comments(code)
    assert not missing, missing


@pytest.mark.parametrize("name", NAMES)
def test_migrated_file_passes_portaflow_check(name: str, tmp_path: Path) -> None:
    code, diagnostics, complete = _migrated(name)
    assert complete == (name not in INCOMPLETE), diagnostics
    (tmp_path / "pipeline.py").write_text(code, encoding="utf-8")
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    errors = [d.render() for d in result.errors]
    if name in INCOMPLETE:
        # What is left for a person is located, and only that stops the check.
        assert all(
            line.split(":")[1].isdigit() for line in diagnostics.splitlines() if " PF8" in line
        )
        return
    assert errors == []
    assert result.pipeline is not None


def test_every_rule_has_a_before_and_after() -> None:
    assert len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        assert "->" in rule.doc, rule.name


BAD_INPUTS = [
    ("def broken(:\n", "PF860"),
    ("", "PF861"),
    ("import os\nprint(os.sep)\n", "PF861"),
    ("from airflow.sdk import task\n\n@task\ndef t() -> int:\n    return 1\n", "PF861"),
    (
        "from airflow import DAG\nfrom airflow.sdk import dag\nwith DAG('x') as d:\n    pass\n",
        "PF870",
    ),
    ("from airflow.sdk import dag\n@dag\ndef d(): return 1\n", "PF866"),
    (
        "from airflow.sdk import dag, task\n@dag\ndef d():\n    while True:\n        pass\n",
        "PF866",
    ),
    ("from airflow.sdk import dag, task\n@dag(params=P)\ndef d():\n    pass\n", "PF867"),
    (
        "from airflow.sdk import dag, task\n@dag(schedule=timedelta(days=1))\ndef d():\n    pass\n",
        "PF862",
    ),
    (
        "from airflow.sdk import dag, task\n@task\ndef a(): return 1\n@task\ndef b(): return 1\n"
        "@dag\ndef d():\n    x = a()\n    y = b()\n    y >> x\n",
        "PF866",
    ),
    (
        "from airflow.sdk import dag, task\n@task\ndef a(): return 1\n"
        "@dag\ndef d():\n    x = a()\n    nope >> x\n",
        "PF866",
    ),
    (
        "from airflow.sdk import dag, task\n@task\ndef a(): return [1]\n@task\ndef b(v): return 1\n"
        "@dag\ndef d():\n    x = a()\n    b(x['k'])\n",
        "PF869",
    ),
    (
        "from airflow.sdk import dag, task\n@task\ndef a(x, y, z): return 1\n"
        "@dag\ndef d():\n    a.expand(x=[1], y=[2], z=[3])\n",
        "PF866",
    ),
]


@pytest.mark.parametrize(("source", "code"), BAD_INPUTS)
def test_bad_input_gives_a_located_diagnostic_not_a_traceback(source: str, code: str) -> None:
    result = migrate(source, "dag.py")
    codes = [d.code for d in result.diagnostics]
    assert code in codes, [d.render() for d in result.diagnostics]
    assert not result.complete or code in ("PF868",)
    for d in result.diagnostics:
        assert d.path == "dag.py" and d.hint


def test_every_airflow_code_is_exercised() -> None:
    """Each PF86x/PF87x code of CODES is given by a corpus file or a bad input above."""
    mine = {c for c in CODES if "PF860" <= c <= "PF889"}
    seen = {code for _source, code in BAD_INPUTS}
    for path in GOLDEN.glob("*.diagnostics.txt"):
        seen |= {
            w.rstrip(":") for w in path.read_text(encoding="utf-8").split() if w.startswith("PF8")
        }
    assert mine <= seen, sorted(mine - seen)


def test_the_docs_before_and_after_is_what_migrate_gives() -> None:
    doc = (HERE.parents[2] / "docs" / "migrate" / "airflow.md").read_text(encoding="utf-8")
    before, after = re.findall(r"```python\n(.*?)```", doc, re.S)[:2]
    result = migrate(before, "etl.py")
    assert result.code == after
    assert [d.code for d in result.diagnostics] == ["PF868"]
    table = doc.split("## Rules", 1)[1].split("##", 1)[0]
    assert [r.name for r in RULES] == re.findall(r"(?m)^\| ([a-z][a-z-]*) \| (?!before)", table)
    listed = re.findall(r"(?m)^\| (PF8\d\d) \|", doc)
    assert listed == sorted(c for c in CODES if "PF860" <= c <= "PF889")
