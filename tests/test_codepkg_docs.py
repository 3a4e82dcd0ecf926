"""docs/deploy.md says only what is true (its other claims are tested where the code is:
test_codepkg*.py, tests/argo/test_codepkg_argo.py, tests/argo/test_pod_codepkg.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from hashkit import write
from portaflow.backends.argo import codes as argo_codes
from portaflow.backends.argo.codeinput import ARTIFACT, CODE_PATH
from portaflow.bootstrap import BOOTSTRAP_SOURCE, bootstrap_command
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main
from portaflow.compiler.codepkg import code_package, code_uri
from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.stacks import Stack, code_mode

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
FLAT = " ".join(DOC.split())


def test_the_default_mode_is_package_with_a_store_url_only() -> None:
    assert "| default | yes, when the stack's `store` is a URL | no |" in DOC
    assert code_mode(Stack("s", {"store": "s3://b/p"})) == "package"
    assert code_mode(Stack("s", {"store": "gs://b/p"})) == "package"
    assert code_mode(Stack("s", {"store": "/data/portaflow"})) is None
    assert code_mode(Stack("s", {})) is None
    assert code_mode(Stack("s", {"store": "s3://b/p", "code": "image"})) == "image"


def test_the_store_layout_and_the_pod_command() -> None:
    assert "`{store}/code/{digest}.tar`" in DOC
    assert code_uri("s3://b/p", "d") == "s3://b/p/code/d.tar"
    synopsis = re.search(r"python -c <bootstrap> (.*?) -- --step", FLAT)
    assert synopsis is not None
    flags = [w.strip("[]") for w in synopsis.group(1).split() if w.lstrip("[").startswith("--")]
    cmd = bootstrap_command(
        digest="d", uri="u", code_path=CODE_PATH, packages=["p"], task_args=["--step", "m:f"]
    )
    assert flags == [a for a in cmd[3 : cmd.index("--")] if a.startswith("--")]
    assert f"[--code-path {CODE_PATH}]" in FLAT
    assert f"named `{ARTIFACT}` at `{CODE_PATH}`" in FLAT


def test_the_documented_error_line_is_the_bootstraps(tmp_path: Path) -> None:
    (line,) = [ln.strip() for ln in DOC.splitlines() if ln.strip().startswith("portaflow boot")]
    pattern = re.escape(line).replace(re.escape("<got>"), "[0-9a-f]{64}")
    pattern = pattern.replace(re.escape("<digest>"), "[0-9a-f]{64}")
    pattern = pattern.replace(re.escape(CODE_PATH), ".*code\\.tar")
    write(tmp_path / "p", {"pipeline.py": "\n@step\ndef a(x: int) -> int:\n    return x\n"})
    root = tmp_path / "p"
    pkg = code_package(compile_file(root / "pipeline.py", root=root), root)
    archive = tmp_path / "code.tar"
    archive.write_bytes(pkg.archive()[:-1] + b"\1")
    cmd = bootstrap_command(digest=pkg.digest, uri="", code_path=str(archive), task_args=[])
    done = subprocess.run(
        [sys.executable, "-S", *cmd[1:]],
        capture_output=True,
        text=True,
        env={"PORTAFLOW_CODE_CACHE": str(tmp_path / "c")},
        check=False,
    )
    assert done.returncode == 2  # "stops the task with exit status 2 and one line"
    assert len(done.stderr.splitlines()) == 1
    assert re.fullmatch(pattern, done.stderr.strip()), (pattern, done.stderr)


def test_the_cache_folder_default(tmp_path: Path) -> None:
    assert (
        "`$PORTAFLOW_CODE_CACHE/<digest>` (default: the temporary folder's `portaflow-code`)"
        in (FLAT)
    )
    write(tmp_path / "p", {"pipeline.py": "\n@step\ndef a(x: int) -> int:\n    return x\n"})
    root = tmp_path / "p"
    pkg = code_package(compile_file(root / "pipeline.py", root=root), root)
    archive = tmp_path / "code.tar"
    archive.write_bytes(pkg.archive())
    out = tmp_path / "out.json"
    cmd = bootstrap_command(
        digest=pkg.digest,
        uri="",
        code_path=str(archive),
        task_args=["--step", "pipeline:a", "--param", "x=1", "--output-param", f"output={out}"],
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    done = subprocess.run(
        [sys.executable, "-S", *cmd[1:]],
        capture_output=True,
        text=True,
        env={"TMPDIR": str(tmp)},
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp / "portaflow-code" / pkg.digest / "pipeline.py").is_file()
    assert tempfile.gettempdir() != str(tmp)  # the child's temporary folder, not ours


def test_the_codes_and_keys_it_names() -> None:
    for code in ("PF920", "PF302"):
        assert code in DOC and code in CODES
    assert "(PF532)" in DOC and argo_codes.PACKAGES_IGNORED == "PF532"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "useSDKCreds", "s3.amazonaws.com"):
        assert key in DOC
    assert "refusing absolute, `..`, link and device members" in FLAT
    assert "unsafe member" in BOOTSTRAP_SOURCE and "link or device" in BOOTSTRAP_SOURCE


def test_the_three_commands_parse() -> None:
    for command in ("compile", "publish", "submit"):
        line = next(ln for ln in DOC.splitlines() if ln.startswith(f"portaflow {command} "))
        args = line.split()[2:]
        assert "--stack" in args
        helped = CliRunner().invoke(main, [command, "--help"])
        assert helped.exit_code == 0
        for flag in (a for a in args if a.startswith("-")):
            assert flag in helped.output, (command, flag)


def test_upgrading_portaflow_changes_the_digest_and_check_says_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "after upgrading portaflow, compile and publish again (`compile --check`" in FLAT
    import portaflow.compiler.codepkg as codepkg

    root = tmp_path / "p"
    write(root, {"pipeline.py": "\n@step\ndef a(x: int) -> int:\n    return x\n"})
    (root / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\n\n[tool.portaflow.stacks.prod]\n'
        'target = "argo"\nstore = "s3://b/p"\n'
    )
    deploy = tmp_path / "deploy"
    args = ["compile", str(root / "pipeline.py"), "--stack", "prod", "-o", str(deploy)]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--check"]).exit_code == 0
    upgraded = tmp_path / "runtime"
    upgraded.mkdir()
    for path in codepkg.runtime_files().values():
        (upgraded / path.name).write_bytes(path.read_bytes())
    (upgraded / "task.py").write_bytes((upgraded / "task.py").read_bytes() + b"\n# 9.9\n")
    monkeypatch.setattr(
        codepkg,
        "runtime_files",
        lambda: {f"portaflow/{p.name}": p for p in sorted(upgraded.glob("*.py"))},
    )
    stale = CliRunner().invoke(main, [*args, "--check"])
    assert stale.exit_code == 1
    assert "--code-sha256" in stale.output and "stale:" in stale.output
