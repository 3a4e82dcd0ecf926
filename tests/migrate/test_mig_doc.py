"""docs/migrate.md is what tools/gen_migrate_doc.py writes from the dialects' RULES and CODES."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.migrate.kfp import RULES

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "migrate.md"


def _render() -> str:
    script = "import sys; sys.path.insert(0, 'tools'); import gen_migrate_doc as g; print(g.render(), end='')"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def test_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == _render(), (
        "docs/migrate.md is stale: run `python tools/gen_migrate_doc.py`"
    )


def test_doc_lists_every_kfp_rule_and_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| `{rule.name}` |" in text
    for code in CODES:
        if "PF800" <= code <= "PF829":
            assert f"| {code} |" in text
