"""Odd paths, unwritable outputs, broken config and broken IR files: one clear line and the
README's exit status (0 ok, 1 errors in the input, 2 usage errors), never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pfhelpers import EXAMPLES
from portaflow.compiler import irjson
from portaflow.compiler.cli import main

QUICKSTART = EXAMPLES / "quickstart" / "pipeline.py"
COMMANDS = ("compile", "check", "graph", "submit")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


def _args(command: str, path: str) -> list[str]:
    return (
        [command, path, "--host", "http://127.0.0.1:9"] if command == "submit" else [command, path]
    )


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(QUICKSTART.parent, tmp_path / "qs")
    return tmp_path / "qs"


# ---------------------------------------------------------------- the pipeline path


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_pipeline_file_is_a_usage_error(command: str, tmp_path: Path) -> None:
    code, _, err = run(*_args(command, str(tmp_path / "nope.py")))
    assert code == 2
    assert "no such file" in _error_line(err)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_directory_as_the_pipeline_is_a_usage_error(command: str, tmp_path: Path) -> None:
    code, _, err = run(*_args(command, str(tmp_path)))
    assert code == 2
    assert "is a directory" in _error_line(err)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX-only")
@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_as_the_pipeline_is_refused_without_reading_it(command: str, tmp_path: Path) -> None:
    fifo = tmp_path / "pipeline.py"
    os.mkfifo(fifo)
    code, _, err = run(*_args(command, str(fifo)))  # reading it would block forever
    assert code == 2
    assert "FIFO" in _error_line(err)


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
@pytest.mark.parametrize("command", COMMANDS)
def test_a_device_as_the_pipeline_is_a_usage_error(command: str) -> None:
    code, _, err = run(*_args(command, "/dev/null"))
    assert code == 2
    assert "device" in _error_line(err)


def test_a_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("check", str(QUICKSTART), "--root", str(tmp_path / "nope"))
    assert code == 2
    assert "does not exist" in _error_line(err)


def test_analyze_names_a_path_that_is_not_a_regular_file(tmp_path: Path) -> None:
    from portaflow.compiler.frontend import analyze

    [d] = analyze(tmp_path).diagnostics
    assert d.code == "PF101" and "not a regular file" in d.message


# ---------------------------------------------------------------- -o paths


def test_compile_into_an_output_folder_that_cannot_be_created(project: Path) -> None:
    blocker = project / "blocker"
    blocker.write_text("a file where a folder is needed")
    code, _, err = run(
        "compile", str(project / "pipeline.py"), "-t", "ir", "-o", str(blocker / "deploy")
    )
    assert code == 2
    line = _error_line(err)
    assert "cannot write" in line and "deploy" in line


def test_compile_when_an_output_file_is_a_directory(project: Path) -> None:
    out = project / "deploy"
    (out / "quickstart.ir.json").mkdir(parents=True)
    code, _, err = run("compile", str(project / "pipeline.py"), "-t", "ir", "-o", str(out))
    assert code == 2
    assert "cannot write" in _error_line(err)
    assert not list(out.glob("*.tmp"))
    code, _, err = run(
        "compile", str(project / "pipeline.py"), "-t", "ir", "-o", str(out), "--check"
    )
    assert code == 2
    assert "cannot read" in _error_line(err)


def test_compile_into_a_folder_that_refuses_writes(project: Path) -> None:
    if IS_ROOT:
        # Root writes through file modes; a procfs folder refuses new files for everyone.
        out, restore = Path("/proc/self"), None
    else:
        out = project / "deploy"
        out.mkdir()
        out.chmod(stat.S_IRUSR | stat.S_IXUSR)
        restore = out
    try:
        code, _, err = run("compile", str(project / "pipeline.py"), "-t", "ir", "-o", str(out))
    finally:
        if restore is not None:
            restore.chmod(stat.S_IRWXU)
    assert code == 2
    line = _error_line(err)
    assert line.startswith(f"Error: cannot write {out}/"), line
    if not IS_ROOT:
        assert "Permission denied" in line


def test_compile_into_an_existing_file_is_a_usage_error(project: Path) -> None:
    code, _, err = run(
        "compile", str(project / "pipeline.py"), "-t", "ir", "-o", str(project / "pipeline.py")
    )
    assert code == 2 and "is a file" in err


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_into_a_path_that_cannot_be_written(project: Path, fmt: str) -> None:
    blocker = project / "blocker"
    blocker.write_text("x")
    code, _, err = run(
        "graph", str(project / "pipeline.py"), "--format", fmt, "-o", str(blocker / "g.txt")
    )
    assert code == 2
    assert "cannot write" in _error_line(err)


def test_graph_writes_into_a_new_folder(project: Path) -> None:
    dest = project / "docs" / "graph.mmd"
    code, _, err = run("graph", str(project / "pipeline.py"), "-o", str(dest))
    assert code == 0, err
    assert dest.read_text().startswith("flowchart") or dest.read_text().startswith("graph")


# ---------------------------------------------------------------- stack config


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (b"\xff\xfe[tool.portaflow]\n", "cannot read"),
        (b"tool = 3\n", None),
        (
            b'[tool.portaflow]\ndefault_stack = "a"\n[tool.portaflow.stacks.a]\nlabels = "x"\n',
            "table",
        ),
        (
            b'[tool.portaflow]\ndefault_stack = "a"\n[tool.portaflow.stacks.a]\nimage = 3\n',
            "string",
        ),
    ],
)
def test_a_broken_pyproject_is_one_line_not_a_traceback(
    project: Path, config: bytes, words: str | None
) -> None:
    (project / "pyproject.toml").write_bytes(config)
    code, _, err = run("compile", str(project / "pipeline.py"), "--target", "argo")
    if words is None:  # a `tool` that is not a table just has no portaflow settings
        assert code == 0, err
        return
    assert code == 2
    assert words in _error_line(err)


# ---------------------------------------------------------------- IR files


def _ir() -> dict[str, object]:
    return json.loads((QUICKSTART.parent / "expected" / "ir.json").read_text())  # type: ignore[no-any-return]


def _broken(change: str) -> str:
    data = _ir()
    tasks = data["tasks"]
    assert isinstance(tasks, list)
    if change == "unknown step":
        tasks[0]["step"] = "nowhere:nothing"
    elif change == "unknown input task":
        tasks[-1]["inputs"][0]["binding"] = {"kind": "task_output", "task": "ghost", "output": "x"}
    elif change == "unknown output":
        binding = next(i["binding"] for t in tasks for i in t["inputs"] if "task" in i["binding"])
        binding["output"] = "no_such_output"
    elif change == "unknown param":
        tasks[0]["inputs"] = [
            {**tasks[-1]["inputs"][0], "binding": {"kind": "param", "param": "ghost"}}
        ]
    elif change == "edge order":
        edges = data["edges"]
        assert isinstance(edges, list) and edges
        edges[0]["source"], edges[0]["target"] = edges[0]["target"], edges[0]["source"]
    elif change == "duplicate task":
        tasks.append(tasks[0])
    elif change == "unknown loop":
        tasks[0]["loop"] = "loop_9"
    elif change == "bad kind":
        tasks[0]["hook"] = "sometimes"
    elif change == "missing field":
        del tasks[0]["span"]
    elif change == "wrong type":
        data["tasks"] = 5
    elif change == "version":
        data["version"] = "99"
    return json.dumps(data)


@pytest.mark.parametrize(
    "change",
    [
        "unknown step",
        "unknown input task",
        "unknown output",
        "unknown param",
        "edge order",
        "duplicate task",
        "unknown loop",
        "bad kind",
        "missing field",
        "wrong type",
        "version",
    ],
)
def test_a_malformed_or_inconsistent_ir_file_is_refused_in_one_line(change: str) -> None:
    with pytest.raises(irjson.IRError) as info:
        irjson.loads(_broken(change))
    message = str(info.value)
    assert "\n" not in message and len(message) < 800, message


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[]", '{"name": "x"}', "NaN", '{"tasks": [], "name": "x", "version": NaN}'],
)
def test_text_that_is_not_ir_is_refused(text: str) -> None:
    with pytest.raises(irjson.IRError):
        irjson.loads(text)


def test_deeply_nested_json_is_refused_not_a_recursion_error() -> None:
    deep = '{"name": "x", "version": "1", "tasks": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(irjson.IRError):
        irjson.loads(deep)


def test_every_committed_ir_file_still_loads() -> None:
    files = sorted(EXAMPLES.rglob("ir.json"))
    assert files
    for f in files:
        text = f.read_text()
        assert irjson.dumps(irjson.loads(text)) == text, f


@pytest.mark.parametrize("change", ["unknown step", "edge order", "version", "wrong type"])
def test_run_refuses_a_broken_ir_file_in_one_line(tmp_path: Path, change: str) -> None:
    ir_file = tmp_path / "broken.ir.json"
    ir_file.write_text(_broken(change))
    result = CliRunner().invoke(
        main, ["run", str(ir_file), "--store", str(tmp_path / "store"), "--root", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
    assert "IR" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ["compile", str(QUICKSTART), "--target", "ir"],
        ["check", str(QUICKSTART), "--format", "json"],
        ["graph", str(QUICKSTART)],
    ],
)
def test_a_full_disk_on_stdout_is_one_line(args: list[str]) -> None:
    import subprocess

    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "portaflow.compiler.cli", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "Error: cannot write to standard output: No space left on device"


# ---------------------------------------------------------------- clikit for backend commands


def test_clikit_compile_or_exit_gives_the_ir_or_exits_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import click

    from portaflow.compiler.clikit import compile_or_exit, load_stack_or_exit

    p = compile_or_exit(project / "pipeline.py", root=None, pipeline=None)
    assert p.name == "quickstart"
    bad = project / "bad.py"
    bad.write_text("def f(a, a):\n    pass\n")
    with pytest.raises(SystemExit) as info:
        compile_or_exit(bad, root=project, pipeline=None)
    assert info.value.code == 1
    assert "PF103" in capsys.readouterr().err
    assert load_stack_or_exit(project, None).name == "local"
    with pytest.raises(click.UsageError):
        load_stack_or_exit(project, "nope")
    with pytest.raises(SystemExit) as info:
        load_stack_or_exit(project, "nope", usage_error=False)
    assert info.value.code == 1
    assert "no stack named 'nope'" in capsys.readouterr().err
