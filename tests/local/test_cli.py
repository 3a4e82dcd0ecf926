"""The commands, on real pipeline files compiled by the front end: run, runs, models."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from portaflow.backends.local.cli import models_group, run_cmd, runs_group

PIPELINE = """
import portaflow
from portaflow import Model, pipeline, step


@step
def make_numbers(count: int = 3) -> list[int]:
    return list(range(1, count + 1))


@step
def square(x: int) -> int:
    return x * x


@step
def total(values: list[int]) -> int:
    portaflow.log_metric("total", sum(values))
    return sum(values)


@step
def as_bytes(value: int) -> bytes:
    return str(value).encode()


@step
def fail_if(value: int, limit: int) -> int:
    if value > limit:
        raise ValueError(f"value {value} is over the limit {limit}")
    return value


@pipeline(model=Model(name="squares"))
def squares(count: int = 3, limit: int = 100, label: str = "sum"):
    numbers = make_numbers(count)
    parts = [square(x) for x in numbers]
    result = total(parts)
    blob = as_bytes(result)
    fail_if(result, limit)
"""


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PORTAFLOW_STORE", raising=False)
    return tmp_path


def _run(*args: str):
    return CliRunner().invoke(run_cmd, [*args, "--plain"])


def test_run_then_inspect_runs_and_models(proj: Path) -> None:
    first = _run("pipeline.py", "--param", "count=4")
    assert first.exit_code == 0, first.output
    assert "succeeded" in first.output and "model squares version 1 registered" in first.output
    second = _run("pipeline.py", "--param", "count=4")
    assert "8 cached" in second.output  # make_numbers, 4 squares, total, as_bytes, fail_if
    found = re.search(r"^run (\S+) succeeded in", second.output, re.M)
    assert found is not None
    run_id = found.group(1)

    listed = CliRunner().invoke(runs_group, ["list"])
    assert (
        listed.exit_code == 0 and run_id in listed.output and len(listed.output.splitlines()) == 3
    )

    shown = CliRunner().invoke(runs_group, ["show", run_id])
    assert shown.exit_code == 0, shown.output
    assert "square[3]" in shown.output and "cached" in shown.output
    assert "as_bytes.output" in shown.output and ".portaflow/artifacts/" in shown.output
    assert "total.total" in shown.output and "30" in shown.output  # the logged metric

    as_json = json.loads(CliRunner().invoke(runs_group, ["show", run_id[:-2], "--json"]).output)
    assert as_json["params"] == {"count": 4, "label": "sum", "limit": 100}
    assert {m["name"] for m in as_json["metrics"]} == {"total"}

    models = CliRunner().invoke(models_group, ["list"])
    assert "squares" in models.output and "2" in models.output
    promoted = CliRunner().invoke(
        models_group, ["promote", "squares", "2", "--stage", "production"]
    )
    assert promoted.exit_code == 0, promoted.output
    shown = CliRunner().invoke(models_group, ["show", "squares"])
    assert "version 2  stage: production" in shown.output
    assert (
        "artifact  as_bytes.output" in shown.output and "metric    total.total = 30" in shown.output
    )
    again = CliRunner().invoke(models_group, ["promote", "squares", "1"])
    assert again.exit_code == 0
    shown = CliRunner().invoke(models_group, ["show", "squares"])
    assert (
        "version 1  stage: production" in shown.output
        and "version 2  stage: archived" in shown.output
    )
    missing = CliRunner().invoke(models_group, ["promote", "squares", "9"])
    assert missing.exit_code == 1 and "no version 9" in missing.output


def test_failed_run_names_the_step_its_log_and_how_to_resume(proj: Path) -> None:
    result = _run("pipeline.py", "--param", "limit=5")
    assert result.exit_code == 1
    assert "failed" in result.output
    assert "✗ fail_if: exit code 1" in result.output
    assert "fail_if/step.log" in result.output
    assert "ValueError: value 14 is over the limit 5" in result.output  # the log's tail
    assert "--resume" in result.output


def test_param_errors_are_one_clear_line(proj: Path) -> None:
    # A wrong --param is an error in the command line: a usage error, exit 2.
    unknown = _run("pipeline.py", "--param", "cont=3")
    assert unknown.exit_code == 2
    assert "has no parameter 'cont'; did you mean 'count'?" in unknown.output
    typed = _run("pipeline.py", "--param", "count=three")
    assert typed.exit_code == 2 and "not valid JSON for type int" in typed.output
    typed = _run("pipeline.py", "--param", "count=[1]")
    assert "expected int, got a list" in typed.output
    text = _run("pipeline.py", "--param", "label=hello world", "--dry-run")
    assert text.exit_code == 0, text.output
    assert "Traceback" not in unknown.output + typed.output


def test_compile_errors_are_rendered(proj: Path) -> None:
    (proj / "bad.py").write_text(
        "from portaflow import pipeline, step\n\n@step\ndef a() -> int:\n    return 1\n\n"
        "@pipeline\ndef p():\n    while True:\n        a()\n"
    )
    result = _run("bad.py")
    assert result.exit_code == 1
    assert "bad.py:9:5: error PF" in result.output
    assert "Traceback" not in result.output


def test_dry_run_prints_the_plan(proj: Path) -> None:
    result = _run("pipeline.py", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing executed" in result.output
    assert "square[*]" in result.output and "list known only at run time" in result.output
    assert not (proj / ".portaflow" / "artifacts").exists()


def test_store_location_from_env_and_flag(
    proj: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("store")
    result = _run("pipeline.py", "--store", str(elsewhere))
    assert result.exit_code == 0, result.output
    assert (elsewhere / "portaflow.db").exists() and not (proj / ".portaflow").exists()
    monkeypatch.setenv("PORTAFLOW_STORE", str(elsewhere))
    listed = CliRunner().invoke(runs_group, ["list"])
    assert "squares" in listed.output


def test_help_texts(proj: Path) -> None:
    for group, args in ((run_cmd, []), (runs_group, ["show"]), (models_group, ["promote"])):
        out = CliRunner().invoke(group, [*args, "--help"]).output
        assert "Usage:" in out and len(out.splitlines()) > 5


def test_runs_without_a_store_says_so(proj: Path) -> None:
    result = CliRunner().invoke(runs_group, ["list"])
    assert result.exit_code == 1 and "nothing has run here yet" in result.output


def test_exit_codes_follow_the_readme(proj: Path) -> None:
    """0 ok; 1 errors in the input (file, store, run) or a failed run; 2 usage errors."""
    usage = [
        [],  # neither FILE nor --resume
        ["pipeline.py", "--workers", "0"],
        ["--resume", "some-run", "--param", "count=1"],
        ["pipeline.py", "--param", "count"],
        ["pipeline.py", "--stack", "no-such-stack"],
    ]
    for args in usage:
        result = _run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    missing = _run("no-such-file.py")
    assert missing.exit_code == 1 and "no such file: no-such-file.py" in missing.output
    assert _run("pipeline.py", "-q").exit_code == 0
    unknown_run = _run("--resume", "no-such-run")
    assert unknown_run.exit_code == 1 and "no run 'no-such-run'" in unknown_run.output
    for group, args, code in (
        (runs_group, ["show", "no-such-run"], 1),
        (runs_group, ["list", "--limit", "many"], 2),
        (models_group, ["show", "no-such-model"], 1),
        (models_group, ["promote", "squares", "first"], 2),
        (models_group, ["promote", "squares", "7"], 1),
    ):
        result = CliRunner().invoke(group, args)
        assert result.exit_code == code, (args, result.output)
        assert isinstance(result.exception, SystemExit)


def test_the_failure_summary_reads_only_the_end_of_a_huge_log(tmp_path: Path) -> None:
    import tracemalloc

    from portaflow.backends.local.report import LOG_LINE_CHARS, LOG_TAIL_BYTES, tail

    log = tmp_path / "step.log"
    with log.open("wb") as fh:
        fh.truncate(512 * 1024 * 1024)  # 512 MiB of (sparse) log before the end
        fh.seek(0, 2)
        fh.write(b"\nline one\n" + b"x" * 10_000 + b"\nRuntimeError: boom\n")
    tracemalloc.start()
    try:
        lines = tail(log, 15)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * LOG_TAIL_BYTES
    assert lines[-1] == "RuntimeError: boom"
    assert lines[-2] == "x" * LOG_LINE_CHARS + f"... ({10_000 - LOG_LINE_CHARS} more characters)"
    assert lines[-3] == "line one"
    assert tail(tmp_path / "no-such.log", 15) == []
