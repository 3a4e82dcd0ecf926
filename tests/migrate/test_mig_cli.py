"""`portaflow migrate`: diff by default, -o / --in-place, exit codes, dialect detection, and
libcst kept off every other command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pfhelpers import EXAMPLES, check_cli_output
from portaflow.compiler.cli import main
from portaflow.compiler.migrate import driver

HERE = Path(__file__).resolve().parent
KFP_CASE = HERE / "kfp" / "corpus" / "hello_world.py"
KFP_LEFTOVERS = HERE / "kfp" / "cases" / "untranslatable.py"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    what = " ".join(map(str, args))
    assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output, result.output
    if result.exit_code != 2:  # usage errors are one line, not located diagnostics
        check_cli_output(result.exit_code, result.stdout, result.stderr, what)
    return result.exit_code, result.stdout, result.stderr


def copy(tmp_path: Path, src: Path = KFP_CASE, name: str = "old.py") -> Path:
    dest = tmp_path / name
    dest.write_bytes(src.read_bytes())
    return dest


def test_help() -> None:
    code, out, _ = run("migrate", "--help")
    assert code == 0 and "--from [airflow|kfp|zenml]" in out and "--in-place" in out
    code, out, _ = run("--help")
    assert code == 0 and "migrate" in out


def test_default_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    f = copy(tmp_path)
    before = f.read_bytes()
    code, out, err = run("migrate", f, "--from", "kfp")
    assert code == 0, err
    assert out.startswith(f"--- {f}\n+++ {f}\n@@")
    assert "-from kfp import compiler, dsl\n+from portaflow import pipeline, step\n" in out
    assert f.read_bytes() == before
    assert list(tmp_path.iterdir()) == [f]


def test_output_file_and_detection(tmp_path: Path) -> None:
    f = copy(tmp_path)
    out_file = tmp_path / "new" / "pipeline.py"
    code, out, err = run("migrate", f, "-o", out_file)  # --from detected from the imports
    assert code == 0 and out == "", err
    golden = HERE / "kfp" / "golden" / "hello_world.py"
    assert out_file.read_text() == golden.read_text().replace("hello_world.py", "old.py")
    assert f"wrote {out_file}" in err


def test_in_place_with_diff(tmp_path: Path) -> None:
    f = copy(tmp_path)
    code, out, _ = run("migrate", f, "--in-place", "--diff")
    assert code == 0 and out.startswith("---")
    assert "from portaflow import pipeline, step\n" in f.read_text()
    # A second run has nothing left to do: no kfp import, so no dialect to detect...
    code, _, err = run("migrate", f)
    assert code == 2 and "--from" in err
    # ...and with one named, an empty diff.
    code, out, err = run("migrate", f, "--from", "kfp")
    assert (code, out) == (0, "") and "nothing to migrate" in err


def test_crlf_and_encoding_kept(tmp_path: Path) -> None:
    f = tmp_path / "old.py"
    text = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + KFP_CASE.read_text()
    f.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    code, _, err = run("migrate", f, "--in-place")
    assert code == 0, err
    data = f.read_bytes()
    assert b"# caf\xe9\r\n" in data and b"from portaflow import pipeline, step\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_leftovers_exit_1_with_located_diagnostics(tmp_path: Path) -> None:
    f = copy(tmp_path, KFP_LEFTOVERS)
    code, _, err = run("migrate", f, "-o", tmp_path / "new.py")
    assert code == 1
    assert f"{f}:7:1: error PF800: " in err
    assert "warning PF801" in err and "= hint: " in err
    assert err.rstrip().endswith("12 error(s), 5 warning(s)")
    assert (tmp_path / "new.py").read_text().startswith('"""KFP constructs')


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "kfp", "-o", "x.py", "--in-place"], "not both"),
        (["--from", "cobol"], "Invalid value for '--from'"),
        (["-o", "{tmp}"], "is a directory"),
        (["-o", "/proc/portaflow-nowhere/new.py"], "cannot write"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    f = copy(tmp_path)
    code, _, err = run("migrate", f, *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2 and message in err, err


def test_missing_file_and_not_python(tmp_path: Path) -> None:
    code, _, err = run("migrate", tmp_path / "absent.py", "--from", "kfp")
    assert code == 2 and "absent.py" in err
    bad = tmp_path / "bad.py"
    bad.write_text("from kfp import dsl\ndef f(:\n")
    code, _, err = run("migrate", bad)
    assert code == 1 and f"{bad}:2:7: error PF100: " in err
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"from kfp import dsl\n# caf\xe9\n")
    code, _, err = run("migrate", latin)
    assert code == 1 and f"{latin}:2:6: error PF104: " in err


def test_a_dialect_this_installation_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(driver.DIALECTS, "ghost", "ghost")
    with pytest.raises(driver.DialectUnavailable, match="not available"):
        driver.load("ghost")
    with pytest.raises(driver.DialectUnavailable, match="unknown dialect"):
        driver.load("cobol")


def test_detect() -> None:
    assert driver.detect("import kfp.dsl as dsl\n") == "kfp"
    assert driver.detect("from zenml import step\n") == "zenml"
    assert driver.detect("from airflow.sdk import dag\n") == "airflow"
    assert driver.detect("import os\nfrom .kfp import x\n") is None
    assert driver.detect("def f(:\n") is None


def test_libcst_stays_off_every_other_command(tmp_path: Path) -> None:
    """`--help`, `compile` (every target) and `check` never import libcst; `migrate` does."""
    example = EXAMPLES / "quickstart" / "pipeline.py"
    script = f"""
import json, sys
from click.testing import CliRunner
from portaflow.compiler.cli import main
seen = {{}}
for args in (["--help"], ["compile", "--help"], ["check", {str(example)!r}],
             *[["compile", {str(example)!r}, "--target", t, "-o", {str(tmp_path)!r} + "/" + t]
               for t in ("ir", "argo", "kfp", "airflow")],
             ["migrate", {str(KFP_CASE)!r}]):
    code = CliRunner().invoke(main, args).exit_code
    seen[" ".join(args[:1] + args[2:4])] = [code, "libcst" in sys.modules]
print(json.dumps(seen))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    *others, migrate = seen.items()
    assert migrate[1] == [0, True], seen
    for name, (code, imported) in others:
        assert code == 0 and not imported, (name, seen)
