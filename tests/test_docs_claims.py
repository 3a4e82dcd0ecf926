"""The README, docs/*.md and every `--help` say only what is true.

Each test pins one kind of claim, so a change that makes a document wrong
fails here: paths the docs name exist, every option a documented command line
uses is in that command's `--help`, every target `--help` names compiles an
example (and no available target is left out), the README's commands run and
its diagnostic sample is what the compiler prints, the examples table lists
every example, and `expected/` holds exactly what a compile reproduces.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from pfhelpers import EXAMPLES, REPO, check_cli_output
from portaflow.backends import available
from portaflow.compiler.cli import main

DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
README = (REPO / "README.md").read_text(encoding="utf-8")
# Folders a document may name that only exist once something ran, or outside the repository.
RUNTIME_PATHS = (".portaflow", "../shared/", "deploy/", "dags/")
REPO_ROOTS = ("examples/", "docs/", "tests/", "backends/", "compiler/", "runtime/", "tools/")
#: Orchestrator names a help text might claim as a target.
TARGET_WORDS = {"ir", "argo", "kfp", "kubeflow", "airflow", "tekton", "dagster", "prefect", "flyte"}


def _doc_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def _help(*command: str) -> str:
    result = CliRunner().invoke(
        main, [*command, "--help"], prog_name="portaflow", terminal_width=200
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
    return out


ALL_COMMANDS = _commands(main)


# ---------------------------------------------------------------- paths


def _named_paths(doc: Path) -> list[tuple[str, Path]]:
    """(as written, resolved) for each repository path a document names."""
    text = doc.read_text(encoding="utf-8")
    out = []
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if not link.startswith(("http://", "https://", "#", "mailto:")):
            out.append((link, doc.parent / link.split("#")[0]))
    for code in re.findall(r"`([^`\s]+)`", text):
        if code.startswith(REPO_ROOTS) or code in ("pyproject.toml", ".ci/run"):
            out.append((code, REPO / code))
    return [(w, p) for w, p in out if not any(r in w for r in RUNTIME_PATHS)]


@pytest.mark.parametrize("doc", DOCS, ids=_doc_id)
def test_every_path_a_document_names_exists(doc: Path) -> None:
    missing = []
    for written, path in _named_paths(doc):
        if "*" in written:
            if not list(REPO.glob(written)):
                missing.append(written)
        elif "<" not in written and not path.exists():
            missing.append(written)
    assert missing == [], f"{_doc_id(doc)} names paths that do not exist: {missing}"


def test_layout_block_names_real_folders() -> None:
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
    for line in block.splitlines()[1:]:
        for word in line.split("->")[0].split():
            if word.endswith("/") or word.endswith(".toml"):
                assert (REPO / word).exists(), word


# ---------------------------------------------------------------- command lines in the docs


def _documented_command_lines(doc: Path) -> list[str]:
    """`portaflow ...` lines from code blocks and inline code, comments dropped."""
    text = doc.read_text(encoding="utf-8")
    found = re.findall(r"(?m)^\s*(?:\.venv/bin/)?(portaflow [^\n`]*)", text)
    found += re.findall(r"&&\s*(?:\.venv/bin/)?(portaflow [^\n`&]*)", text)
    found += re.findall(r"`(portaflow [^`]+)`", text)
    lines = []
    for line in found:
        if re.match(r"portaflow [\w.-]+: ", line):
            continue  # a message quoted from a log ("portaflow bootstrap: error: ..."), not a command
        line = re.split(r"\s{2,}#|\s#\s", line)[0].strip()
        parts = line.split(" | ")
        lines.append(parts[0])
        lines += [p if p.startswith("portaflow ") else f"portaflow {p}" for p in parts[1:]]
    return lines


def _command_of(line: str) -> tuple[str, ...]:
    words = line.split()[1:]
    path: tuple[str, ...] = ()
    for w in words:
        if (*path, w) in ALL_COMMANDS:
            path = (*path, w)
        else:
            break
    return path


@pytest.mark.parametrize("doc", DOCS, ids=_doc_id)
def test_documented_options_exist(doc: Path) -> None:
    """Every `--option` (and every listed choice) in a documented command is in its --help."""
    problems = []
    for line in _documented_command_lines(doc):
        command = _command_of(line)
        if not command:
            if line.split()[1:2] and not line.split()[1].startswith("-"):
                problems.append(f"{line!r}: no such command")
            continue
        text = _help(*command)
        for opt, choices in re.findall(
            r"(--[a-z][a-z-]*)(?:[ =]([a-z0-9_-]+(?:\|[a-z0-9_-]+)+))?", line
        ):
            if not re.search(rf"(^|[\s,]){re.escape(opt)}\b", text):
                problems.append(f"{line!r}: `portaflow {' '.join(command)}` has no {opt}")
            if choices and opt == "--target":
                unknown = set(choices.split("|")) - {"ir", *available()}
                if unknown:
                    problems.append(f"{line!r}: no target(s) {sorted(unknown)}")
            elif choices:
                listed = re.search(rf"{re.escape(opt)} \[([^\]]+)\]", text)
                assert listed, f"{opt} lists no choices in the help of {command}"
                unknown = set(choices.split("|")) - set(listed.group(1).split("|"))
                if unknown:
                    problems.append(f"{line!r}: {opt} has no choice(s) {sorted(unknown)}")
    assert problems == []


def test_readme_synopsis_lists_every_target() -> None:
    synopsis = README.split("## Commands", 1)[1].split("```", 2)[1]
    m = re.search(r"portaflow compile \S+ --target ([\w|]+)", synopsis)
    assert m, synopsis
    assert set(m.group(1).split("|")) == {"ir", *available()}


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=" ".join)
def test_every_command_and_subcommand_has_help(command: tuple[str, ...]) -> None:
    text = _help(*command)
    assert text.startswith(f"Usage: portaflow {' '.join(command)}")
    assert len(text.splitlines()) > 3


# ---------------------------------------------------------------- targets


def _targets_in_compile_help() -> set[str]:
    text = _help("compile")
    block = text.split("--target", 1)[1].split("\n  -", 1)[0]
    return {w for w in re.findall(r"[a-z]+", block) if w in TARGET_WORDS}


def test_compile_help_names_exactly_the_available_targets() -> None:
    assert _targets_in_compile_help() == {"ir", *available()}


@pytest.mark.parametrize("target", sorted({"ir", *available()}))
@pytest.mark.parametrize("example", sorted(p.parent.name for p in EXAMPLES.glob("*/pipeline.py")))
def test_every_target_compiles_the_examples(target: str, example: str, tmp_path: Path) -> None:
    """Every target compiles the quickstart; any example either compiles or is refused with
    located errors (a target may lack a construct, as Argo lacks run-time artifact fan-in)."""
    pipeline = EXAMPLES / example / "pipeline.py"
    result = CliRunner().invoke(
        main, ["compile", str(pipeline), "--target", target, "-o", str(tmp_path)]
    )
    check_cli_output(result.exit_code, result.stdout, result.stderr, f"{target} {example}")
    if example == "quickstart" or target in ("ir", "argo"):  # these two take every example
        assert result.exit_code == 0, result.output
    if result.exit_code == 0:
        written = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert written and all(p.stat().st_size > 0 for p in written)
    else:
        assert result.exit_code == 1 and re.search(r":\d+:\d+: error PF\d{3}: ", result.stderr)


# ---------------------------------------------------------------- what expected/ holds

_TARGET_OF = {".json": "ir", ".yaml": "argo"}


@pytest.mark.parametrize(
    "example", sorted(p.parent for p in EXAMPLES.glob("*/pipeline.py")), ids=lambda p: p.name
)
def test_expected_holds_exactly_compiled_output(example: Path, tmp_path: Path) -> None:
    """README: each example has its compiled output committed beside it (`expected/`)."""
    expected = sorted(p for p in (example / "expected").iterdir())
    assert (example / "expected" / "ir.json") in expected
    for path in expected:
        target = _TARGET_OF[path.suffix]
        out = tmp_path / target
        result = CliRunner().invoke(
            main, ["compile", str(example / "pipeline.py"), "--target", target, "-o", str(out)]
        )
        assert result.exit_code == 0, result.output
        produced = {
            p.name.split(".", 1)[-1] if target == "ir" else p.name: p for p in out.iterdir()
        }
        key = path.name
        assert key in produced, f"{path} is not what --target {target} writes: {sorted(produced)}"
        assert produced[key].read_bytes() == path.read_bytes(), f"{path} is stale"


def test_examples_table_lists_every_example() -> None:
    table = README.split("## Examples", 1)[1].split("\n\n", 2)[1]
    listed = set(re.findall(r"^\| `examples/([\w-]+)` \|", table, re.M))
    assert listed == {p.parent.name for p in EXAMPLES.glob("*/pipeline.py")}


# ---------------------------------------------------------------- the README's samples run


def test_readme_diagnostic_sample_is_what_the_compiler_prints(tmp_path: Path) -> None:
    block = README.split("Anything else is an error", 1)[1].split("```", 2)[1]
    sample = "\n".join(line[2:] for line in block.strip("\n").splitlines()).strip("\n")
    first = sample.splitlines()[0]
    m = re.match(r"pipeline\.py:(\d+):(\d+): error (PF\d+): ", first)
    assert m, first
    line, col = int(m.group(1)), int(m.group(2))
    src = ["from portaflow import pipeline", "", "", "@pipeline", "def p(x: int = 1):"]
    src += ["    pass"] * (line - len(src) - 1)
    src += [" " * (col - 1) + "while x:", " " * (col + 3) + "pass"]
    (tmp_path / "pipeline.py").write_text("\n".join(src) + "\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["check", "pipeline.py"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1
    assert sample in result.stderr, result.stderr


def _readme_shell_commands() -> list[str]:
    blocks = [b.split("```", 1)[0] for b in README.split("```bash\n")[1:]]
    commands = []
    for block in blocks:
        for line in block.splitlines():
            commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def test_readme_setup_commands_name_real_extras() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    for command in _readme_shell_commands():
        for extra in re.findall(r'pip install -e "\.\[(\w+)\]"', command):
            assert re.search(rf"^{extra} = \[", pyproject, re.M), extra


@pytest.mark.slow
def test_readme_portaflow_commands_run(tmp_path: Path) -> None:
    """The quickstart and look-around commands, as written, in a copy of the examples."""
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns(".portaflow"))
    script = Path(sys.executable).parent / "portaflow"
    launcher = (
        [str(script)] if script.exists() else [sys.executable, "-m", "portaflow.compiler.cli"]
    )
    ran = []
    for command in _readme_shell_commands():
        if not command.startswith(".venv/bin/portaflow "):
            continue
        argv = launcher + command.split()[1:]
        proc = subprocess.run(
            argv, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        ran.append((command, proc.stdout))
    assert [c.split()[1] for c, _ in ran] == ["run", "runs", "models", "compile", "graph"]
    outputs = dict(ran)
    runs = next(o for c, o in outputs.items() if " runs list" in c)
    assert re.search(r"(?m)^ml.pipeline-\S+ +ml.pipeline +succeeded ", runs), runs
    models = next(o for c, o in outputs.items() if " models list" in c)
    assert "regressor" in models, models
    assert list((tmp_path / "deploy").glob("*.yaml"))
    graph = next(o for c, o in outputs.items() if " graph " in c)
    assert graph.startswith("flowchart")


# ---------------------------------------------------------------- what the hash and cache keys cover


@pytest.mark.parametrize("example", ["quickstart", "ml", "multi_module"])
def test_argo_memoize_key_covers_what_the_doc_says(example: str) -> None:
    """docs/backends/argo.md: the memoize key follows the step's code hash, its image and
    its parameter inputs; steps with artifact inputs are not memoized."""
    import dataclasses

    import yaml

    from portaflow.backends import EmitOptions
    from portaflow.backends.argo import emit
    from portaflow.compiler import compile_file

    path = EXAMPLES / example / "pipeline.py"
    p = compile_file(path, root=path.parent)

    def keys(pipeline: object, **options: object) -> dict[str, tuple[str, dict[str, Any]]]:
        text = emit(pipeline, options=EmitOptions(**options)).files[0].text  # type: ignore[arg-type]
        wf = yaml.safe_load(text)
        spec = wf["spec"].get("workflowSpec", wf["spec"])
        return {t["name"]: (t["memoize"]["key"], t) for t in spec["templates"] if "memoize" in t}

    base = keys(p)
    assert base
    rehashed = dataclasses.replace(
        p, steps=tuple(dataclasses.replace(s, code_hash="f" * 64) for s in p.steps)
    )
    for name, (key, _t) in keys(rehashed).items():
        assert key != base[name][0], f"{name}: the memoize key ignores the code hash"
    for name, (key, _t) in keys(p, image="example.org/other:2").items():
        assert key != base[name][0], f"{name}: the memoize key ignores the image"
    for name, (key, template) in base.items():
        params = [i["name"] for i in template["inputs"].get("parameters", [])]
        for param in params:
            if param != "portaflow-task":
                assert f"inputs.parameters.{param}" in key, (name, param, key)
        assert not template["inputs"].get("artifacts"), f"{name} has artifact inputs"


def test_readme_hash_claim_helpers_count_comments_do_not(tmp_path: Path) -> None:
    """README: the code hash covers the step and the local helpers it reaches, not comments."""
    from portaflow.compiler import compile_file

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(
        "from helpers import double\nfrom portaflow import pipeline, step\n\n\n"
        "@step\ndef s(x: int) -> int:\n    return double(x)\n\n\n"
        "@pipeline\ndef p(x: int = 1):\n    s(x)\n"
    )

    def code_hash() -> str:
        return compile_file(pipeline, root=tmp_path).steps[0].code_hash

    first = code_hash()
    (tmp_path / "helpers.py").write_text(
        '"""Helpers."""\n\n\ndef double(x):  # twice\n    """Twice x."""\n    return 2 * x\n'
    )
    pipeline.write_text(pipeline.read_text().replace("return double(x)", "return double(x)  # !"))
    assert code_hash() == first, "a comment or docstring changed the code hash"
    (tmp_path / "helpers.py").write_text("def double(x):\n    return x + x + 0\n")
    assert code_hash() != first, "changing a helper the step reaches kept the code hash"
