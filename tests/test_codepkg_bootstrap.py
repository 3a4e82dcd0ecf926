"""The bootstrap (runtime/bootstrap.py): checks, unpacks and runs a code package.

Each test runs it the way a pod does, `python -c BOOTSTRAP_SOURCE ...`, in a
Python started with `-S` (no site-packages: no installed portaflow), from a
folder holding nothing of the project, so the task can only come from the archive.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from hashkit import write
from portaflow.bootstrap import BOOTSTRAP_SOURCE, bootstrap_command
from portaflow.compiler import compile_file
from portaflow.compiler.codepkg import CodePackage, code_package

FILES = {
    "pipeline.py": "from helpers import shift\n\n\n@step\ndef a(x: int) -> int:\n"
    "    return shift(x)\n",
    "helpers.py": "def shift(v):\n    return v + 10\n",
}


def make_package(root: Path) -> CodePackage:
    write(root, FILES)
    return code_package(compile_file(root / "pipeline.py", root=root), root)


def run(
    cmd: list[str], cwd: Path, cache: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert cmd[0] == "python"
    return subprocess.run(
        [sys.executable, "-S", *cmd[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PORTAFLOW_CODE_CACHE": str(cache), "PATH": "/usr/bin:/bin", **(env or {})},
        timeout=120,
    )


def task_args(out: Path) -> list[str]:
    return ["--step", "pipeline:a", "--param", "x=5", "--output-param", f"output={out}"]


@pytest.fixture
def pkg(tmp_path: Path) -> CodePackage:
    return make_package(tmp_path / "project")


def test_the_command_is_an_argv_list_with_the_source_inline() -> None:
    cmd = bootstrap_command(
        digest="ab" * 32,
        uri="s3://b/code/x.tar",
        code_path="/portaflow/code.tar",
        packages=["tiny==1.0", "--index-url=evil"],
        task_args=["--step", "m:f"],
    )
    assert cmd[:3] == ["python", "-c", BOOTSTRAP_SOURCE]
    assert cmd[3:] == [
        "--code-sha256",
        "ab" * 32,
        "--code-uri",
        "s3://b/code/x.tar",
        "--code-path",
        "/portaflow/code.tar",
        "--package",
        "tiny==1.0",
        "--package",
        "--index-url=evil",
        "--",
        "--step",
        "m:f",
    ]
    compile(BOOTSTRAP_SOURCE, "<bootstrap>", "exec")  # a whole program, standard library only
    assert len(BOOTSTRAP_SOURCE) < 8000  # it travels in every container of the manifest


def test_the_inline_source_is_the_boot_module_without_comments() -> None:
    import ast

    import portaflow._boot as boot

    text = Path(boot.__file__).read_text(encoding="utf-8")
    tree = ast.parse(text)
    tree.body = tree.body[1:]  # the docstring
    assert ast.dump(ast.parse(BOOTSTRAP_SOURCE)) == ast.dump(tree)
    # Nothing an engine would substitute: Argo/KFP template tags, Kubernetes $(VAR) expansion.
    for marker in ("{{", "}}", "$(", "{%"):
        assert marker not in BOOTSTRAP_SOURCE
    imported = {
        n.names[0].name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
    } | {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert imported - {"fsspec", "portaflow"} <= set(sys.stdlib_module_names)


def test_a_delivered_archive_runs_the_task_with_no_portaflow_installed(
    tmp_path: Path, pkg: CodePackage
) -> None:
    archive = tmp_path / "code.tar"
    archive.write_bytes(pkg.archive())
    out = tmp_path / "out.json"
    cmd = bootstrap_command(
        digest=pkg.digest,
        uri="s3://nowhere/x.tar",
        code_path=str(archive),
        task_args=task_args(out),
    )
    empty = tmp_path / "pod"
    empty.mkdir()
    done = run(cmd, empty, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == 15
    # The second task of the pod (same digest) reuses the unpacked folder: no archive needed.
    archive.unlink()
    out.unlink()
    done = run(cmd, empty, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == 15
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [pkg.digest]


def test_a_tampered_archive_is_one_clear_line_and_exit_2(tmp_path: Path, pkg: CodePackage) -> None:
    data = bytearray(pkg.archive())
    data[600] ^= 1  # inside the first member's content
    archive = tmp_path / "code.tar"
    archive.write_bytes(bytes(data))
    out = tmp_path / "out.json"
    cmd = bootstrap_command(
        digest=pkg.digest, uri="s3://b/c.tar", code_path=str(archive), task_args=task_args(out)
    )
    done = run(cmd, tmp_path, tmp_path / "cache")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"portaflow bootstrap: error: code archive {archive} has sha256 ")
    assert f"does not match the manifest's {pkg.digest}; run portaflow publish" in lines[0]
    assert not out.exists()
    assert not (tmp_path / "cache" / pkg.digest).exists()


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("../escape.py", tarfile.REGTYPE),
        ("/abs.py", tarfile.REGTYPE),
        ("ok/../../escape.py", tarfile.REGTYPE),
        ("link.py", tarfile.SYMTYPE),
    ],
)
def test_a_member_escaping_the_cache_is_refused(tmp_path: Path, name: str, kind: bytes) -> None:
    import hashlib

    info = tarfile.TarInfo(name)
    info.type = kind
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    data = _tar([(info, b"" if kind == tarfile.SYMTYPE else b"X = 1\n")])
    archive = tmp_path / "code.tar"
    archive.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    cmd = bootstrap_command(
        digest=digest, uri="", code_path=str(archive), task_args=["--step", "m:f"]
    )
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    done = run(cmd, work, tmp_path / "a" / "cache")
    assert done.returncode == 2, done.stderr
    assert "portaflow bootstrap: error: the code archive holds" in done.stderr
    assert repr(name) in done.stderr
    assert not (tmp_path / "a" / "escape.py").exists() and not (tmp_path / "escape.py").exists()
    assert list((tmp_path / "a" / "cache").iterdir()) == []  # no half-unpacked folder left


def test_a_task_that_loses_the_unpack_race_keeps_the_winners_folder(tmp_path: Path) -> None:
    from portaflow import _boot

    dest = tmp_path / "digest"
    dest.mkdir()
    (dest / "m.py").write_text("X = 1\n")
    loser = tmp_path / ".unpack-x"
    loser.mkdir()
    (loser / "m.py").write_text("X = 1\n")
    _boot.place(str(loser), str(dest))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digest"]
    assert (dest / "m.py").read_text() == "X = 1\n"


def test_no_archive_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    cmd = bootstrap_command(
        digest="0" * 64, uri="", code_path=str(tmp_path / "missing.tar"), task_args=[]
    )
    done = run(cmd, tmp_path, tmp_path / "cache")
    assert done.returncode == 2
    assert done.stderr.startswith("portaflow bootstrap: error: no code archive at --code-path")


def test_bad_flags_are_a_clear_error(tmp_path: Path) -> None:
    cmd = ["python", "-c", BOOTSTRAP_SOURCE, "--code-sha256", "xyz", "--", "--step", "m:f"]
    done = run(cmd, tmp_path, tmp_path / "cache")
    assert done.returncode == 2
    assert "--code-sha256 'xyz' is not a hex sha256" in done.stderr
    done = run(["python", "-c", BOOTSTRAP_SOURCE, "--shell", "rm"], tmp_path, tmp_path / "c")
    assert done.returncode == 2
    assert "portaflow bootstrap: error: bad arguments" in done.stderr


def test_fetching_needs_fsspec_and_says_so(tmp_path: Path, pkg: CodePackage) -> None:
    cmd = bootstrap_command(digest=pkg.digest, uri="s3://b/code/x.tar", task_args=[])
    done = run(cmd, tmp_path, tmp_path / "cache")  # -S: no fsspec
    assert done.returncode == 2
    assert "cannot fetch s3://b/code/x.tar: install fsspec" in done.stderr
