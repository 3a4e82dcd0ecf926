"""The portaflow command line: help everywhere, exit codes, compile -o/--check, graph."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pfhelpers import EXAMPLES
from portaflow.compiler.cli import main

QUICKSTART = EXAMPLES / "quickstart" / "pipeline.py"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "command", ["", "compile", "check", "graph", "run", "runs", "models", "submit"]
)
def test_every_command_has_help(command: str) -> None:
    args = [command, "--help"] if command else ["--help"]
    code, out, _ = run(*args)
    assert code == 0, out
    assert "Usage:" in out
    assert len(out.splitlines()) > 3


def test_version() -> None:
    from portaflow import __version__

    code, out, _ = run("--version")
    assert code == 0 and __version__ in out


def test_compile_ir_to_stdout_matches_golden() -> None:
    code, out, _ = run("compile", str(QUICKSTART), "--target", "ir")
    assert code == 0
    assert out == (QUICKSTART.parent / "expected" / "ir.json").read_text()


def test_compile_writes_and_checks(tmp_path: Path) -> None:
    code, _, err = run("compile", str(QUICKSTART), "--target", "ir", "-o", str(tmp_path))
    assert code == 0, err
    written = tmp_path / "quickstart.ir.json"
    assert written.read_bytes() == (QUICKSTART.parent / "expected" / "ir.json").read_bytes()
    code, _, err = run("compile", str(QUICKSTART), "--target", "ir", "-o", str(tmp_path), "--check")
    assert code == 0, err
    written.write_text(written.read_text().replace('"count"', '"kount"', 1))
    code, _, err = run("compile", str(QUICKSTART), "--target", "ir", "-o", str(tmp_path), "--check")
    assert code == 1
    assert "stale" in err and "quickstart.ir.json" in err and "@@" in err


def test_compile_errors_exit_1_with_located_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from portaflow import pipeline\n@pipeline\ndef p():\n    while True:\n        pass\n"
    )
    code, out, err = run("compile", str(bad), "--target", "ir")
    assert code == 1
    assert "bad.py:4:5: error PF200: 'while' is not allowed" in err
    assert "Traceback" not in err + out
    code, out, _ = run("check", str(bad), "--format", "json")
    assert code == 1
    [diag] = json.loads(out)
    assert diag["code"] == "PF200" and diag["line"] == 4 and diag["col"] == 5 and diag["hint"]


@pytest.mark.parametrize(
    "args",
    [
        ["compile"],
        ["compile", "x.py", "--target"],
        ["compile", "x.py", "--bogus"],
        ["graph", "x.py", "--format", "jpeg"],
        ["nosuchcommand"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert "Traceback" not in err


def test_unknown_target_suggests(tmp_path: Path) -> None:
    code, _, err = run("compile", str(QUICKSTART), "--target", "agro")
    assert code == 2
    assert "did you mean 'argo'" in err


def test_check_reports_warnings_and_strict(tmp_path: Path) -> None:
    f = tmp_path / "p.py"
    f.write_text(
        "from portaflow import pipeline, step\n@step\ndef a() -> int:\n    return 1\n"
        "@pipeline\ndef p(unused: int = 1):\n    a()\n"
    )
    code, _, err = run("check", str(f))
    assert code == 0 and "PF902" in err
    code, _, _ = run("check", str(f), "--strict")
    assert code == 1


def test_graph_mermaid_and_dot() -> None:
    code, out, _ = run("graph", str(EXAMPLES / "static_fanout" / "pipeline.py"))
    assert code == 0
    assert out.startswith("flowchart TD")
    assert "subgraph" in out and "for r in regions" in out
    code, out, _ = run("graph", str(EXAMPLES / "conditions" / "pipeline.py"), "--format", "dot")
    assert code == 0
    assert out.startswith('digraph "conditions" {') and "if " in out


def test_graph_labels_cannot_break_syntax(tmp_path: Path) -> None:
    f = tmp_path / "p.py"
    f.write_text(
        "from portaflow import pipeline, step\n"
        '@step(name="evil\\" ] ; x -> y [label=\\"")\ndef a() -> int:\n    return 1\n'
        "@pipeline\ndef p():\n    a()\n"
    )
    code, out, _ = run("graph", str(f), "--format", "dot")
    assert code == 0
    assert '"a" [label="a (evil\\" ] ; x -> y [label=\\")"];' in out
    code, out, _ = run("graph", str(f), "--format", "mermaid")
    node = next(line for line in out.splitlines() if "evil" in line)
    assert node.count('"') == 2 and "#quot;" in node


def test_graph_svg_without_graphviz_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    code, _, err = run("graph", str(QUICKSTART), "--format", "svg")
    assert code == 1
    assert "Graphviz" in err and "Traceback" not in err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is optional and not installed")
def test_graph_svg_with_graphviz(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    code, _, err = run("graph", str(QUICKSTART), "--format", "svg", "-o", str(out))
    assert code == 0, err
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_stack_selects_target_and_settings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.portaflow]\ndefault_stack = "dev"\n[tool.portaflow.stacks.dev]\ntarget = "ir"\n'
        '[tool.portaflow.stacks.bad]\ntarjet = "argo"\n'
    )
    shutil.copy(QUICKSTART, tmp_path / "pipeline.py")
    code, out, _ = run("compile", str(tmp_path / "pipeline.py"))
    assert code == 0 and '"name": "quickstart"' in out
    code, _, err = run("compile", str(tmp_path / "pipeline.py"), "--stack", "bad")
    assert code == 2 and "tarjet" in err
    code, _, err = run("compile", str(tmp_path / "pipeline.py"), "--stack", "nope")
    assert code == 2 and "no stack named 'nope'" in err


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "portaflow.compiler.cli",
            "compile",
            str(QUICKSTART),
            "--target",
            "ir",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (QUICKSTART.parent / "expected" / "ir.json").read_text()
