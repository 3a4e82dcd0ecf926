"""Diagnostics: every case file in tests/diagnostics/ states its expected codes inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.frontend import analyze

CASES = Path(__file__).parent / "diagnostics"
_EXPECT = re.compile(r"#\s*([EW]):\s*((?:PF\d{3}\s*)+)$")
_FILE = re.compile(r"^#\s*E-FILE:\s*((?:PF\d{3}\s*)+)$")
_PIPELINE = re.compile(r"^#\s*pipeline:\s*(\S+)")


def expectations(path: Path) -> tuple[dict[int, list[str]], list[str], str | None]:
    per_line: dict[int, list[str]] = {}
    file_level: list[str] = []
    chosen = None
    for no, line in enumerate(path.read_text().splitlines(), start=1):
        if m := _FILE.match(line):
            file_level += m.group(1).split()
        elif m := _PIPELINE.match(line):
            chosen = m.group(1)
        elif m := _EXPECT.search(line):
            per_line[no] = sorted(m.group(2).split())
    return per_line, sorted(file_level), chosen


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("*.py")))
def test_inline_expectations(case: str) -> None:
    path = CASES / case
    expected, expected_file, chosen = expectations(path)
    result = analyze(path, root=CASES, pipeline=chosen)
    got: dict[int, list[str]] = {}
    got_file: list[str] = []
    for d in result.diagnostics:
        assert d.code != "PF001", d.render()
        if d.line == 0:
            got_file.append(d.code)
        else:
            got.setdefault(d.line, []).append(d.code)
    got = {k: sorted(v) for k, v in got.items()}
    rendered = "\n".join(d.render() for d in result.diagnostics)
    assert got == expected, rendered
    assert sorted(got_file) == expected_file, rendered


def test_every_code_is_documented_and_tested() -> None:
    used: set[str] = set()
    for path in CASES.glob("*.py"):
        per_line, file_level, _ = expectations(path)
        used.update(c for codes in per_line.values() for c in codes)
        used.update(file_level)
    docs = (Path(__file__).parent.parent / "docs" / "diagnostics.md").read_text()
    for code in CODES:
        assert f"| {code} |" in docs, f"{code} missing from docs/diagnostics.md"
    # PF400-PF403 are about a stack's store settings, not a pipeline file: each has a case
    # in tests/argo/test_store_pods.py.
    stack_codes = {"PF400", "PF401", "PF402", "PF403"}
    # PF440-PF447 are about image mode's stack keys and pyproject.toml's dependencies: each
    # has a case in tests/test_imagefile_settings.py or tests/test_imagefile_cli.py.
    stack_codes |= {"PF440", "PF441", "PF442", "PF443", "PF444", "PF445", "PF446", "PF447"}
    # PF920 is `portaflow run`'s warning about a step's packages=, not the compiler's: its case
    # is in tests/test_codepkg_packages.py.
    run_codes = {"PF920"}
    untested = set(CODES) - used - {"PF001", "PF101", "PF102", "PF110", "PF112"} - stack_codes
    untested -= run_codes
    # `portaflow migrate` codes (PF800-PF899) come from rewriting another tool's file, not
    # from compiling: each dialect's tests under tests/migrate/ produce every one of them.
    untested -= {c for c in CODES if "PF800" <= c <= "PF899"}
    assert not untested, f"codes without a case in tests/diagnostics: {sorted(untested)}"


def test_rendering_has_location_caret_and_hint() -> None:
    result = analyze(CASES / "statements.py", root=CASES)
    first = next(d for d in result.diagnostics if d.code == "PF200")
    text = first.render()
    lines = text.splitlines()
    assert re.match(
        rf"^\S*statements\.py:{first.line}:5: error PF200: 'while' is not allowed", lines[0]
    ), lines[0]
    assert lines[1].strip().startswith(f"{first.line} |")
    assert "while x:" in lines[1]
    # The caret sits under the statement's first column and spans its first line.
    gutter = lines[1].index("|") + 2
    caret = lines[2][gutter:]
    assert caret.startswith(" " * (first.col - 1) + "^"), text
    assert set(caret.strip()) == {"^"}, text
    assert lines[3].strip().startswith("= hint:")


def test_all_errors_of_a_file_in_one_pass() -> None:
    result = analyze(CASES / "arguments.py", root=CASES)
    assert len(result.errors) >= 10
    assert result.pipeline is None


def test_file_level_errors(tmp_path: Path) -> None:
    missing = analyze(tmp_path / "nope.py")
    assert [d.code for d in missing.diagnostics] == ["PF101"]
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert [d.code for d in analyze(empty).diagnostics] == ["PF110"]
    two = tmp_path / "two.py"
    two.write_text(
        "from portaflow import pipeline\n@pipeline\ndef a():\n    pass\n@pipeline\ndef b():\n    pass\n"
    )
    assert [d.code for d in analyze(two, pipeline="c").diagnostics] == ["PF112"]
    assert analyze(two, pipeline="b").pipeline is not None
    binary = tmp_path / "bin.py"
    binary.write_bytes(b"\xff\xfe\x00bad")
    found = analyze(binary).diagnostics
    assert [(d.code, d.line, d.col) for d in found] == [("PF104", 1, 1)], found


def test_very_long_expression_never_tracebacks(tmp_path: Path) -> None:
    # libcst's visitors overflow the stack near 350 terms; ast does not, and
    # our own recursion is guarded.
    terms = " + ".join(f"x{i}" for i in range(5000))
    src = (
        "from portaflow import pipeline, step\n@step\ndef s(v: int) -> int:\n    return v\n"
        f"@pipeline\ndef p(x0: int = 1):\n    y = s(x0)\n    z = {terms}\n"
    )
    f = tmp_path / "long.py"
    f.write_text(src)
    codes = {d.code for d in analyze(f).diagnostics}
    assert codes and "PF001" not in codes
    nested = "(" * 300 + "1" + ")" * 300
    f.write_text(f"from portaflow import pipeline\n@pipeline\ndef p():\n    x = {nested}\n")
    codes = {d.code for d in analyze(f).diagnostics}
    assert codes and "PF001" not in codes


def test_diagnostics_doc_is_current() -> None:
    import importlib.util

    tool = Path(__file__).parent.parent / "tools" / "gen_diagnostics_doc.py"
    spec = importlib.util.spec_from_file_location("gen_diagnostics_doc", tool)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    doc = Path(__file__).parent.parent / "docs" / "diagnostics.md"
    assert doc.read_text(encoding="utf-8") == mod.render(), (
        "docs/diagnostics.md is stale: run python tools/gen_diagnostics_doc.py"
    )
