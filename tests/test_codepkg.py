"""The code package (issue 14): exactly the reached files, as deterministic archive bytes."""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_codehash_reach import CASES

from hashkit import Case, edit, write
from portaflow.compiler import compile_file
from portaflow.compiler.codepkg import (
    CodePackage,
    CodePackageError,
    build_archive,
    code_package,
    code_uri,
    runtime_files,
)

REPO = Path(__file__).resolve().parents[1]

#: A project whose step reaches a helper module, a package and a module imported at the top.
PROJECT = {
    "pipeline.py": (
        "import lib.util\n"
        "from helpers import shift\n"
        "\n\n@step\ndef a(x: int) -> int:\n    return shift(x)\n"
    ),
    "helpers.py": "import config\n\n\ndef shift(v):\n    return v + config.K\n",
    "config.py": "K = 1\n",
    "lib/__init__.py": "",
    "lib/util.py": "def unused():\n    return 0\n",
    "unrelated.py": "def z():\n    return 9\n",
    "notes/data.csv": "a,b\n",
}


def package(root: Path, files: dict[str, str]) -> CodePackage:
    write(root, files)
    return code_package(compile_file(root / "pipeline.py", root=root), root)


def project_names(pkg: CodePackage) -> list[str]:
    return [a for a, _ in pkg.files if not a.startswith("portaflow/")]


def test_the_package_holds_the_reached_files_what_importing_them_needs_and_the_runtime(
    tmp_path: Path,
) -> None:
    pkg = package(tmp_path, PROJECT)
    assert project_names(pkg) == [
        "config.py",
        "helpers.py",
        "lib/__init__.py",  # imported at the top of pipeline.py: importing the step runs it
        "lib/util.py",
        "pipeline.py",
    ]
    runtime = [a for a, _ in pkg.files if a.startswith("portaflow/")]
    assert "portaflow/task.py" in runtime and "portaflow/__init__.py" in runtime
    assert "portaflow/_boot.py" in runtime
    assert not any("compiler" in a or "backends" in a for a in runtime)
    assert [a for a, _ in pkg.files] == sorted(a for a, _ in pkg.files)


def test_the_archive_is_a_plain_tar_with_fixed_fields(tmp_path: Path) -> None:
    pkg = package(tmp_path, PROJECT)
    data = pkg.archive()
    assert hashlib.sha256(data).hexdigest() == pkg.digest
    assert not data.startswith(b"\x1f\x8b")  # not gzip: Argo hands it over as it is
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        for m in members:
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "")
            assert m.mode == (0o755 if m.isdir() else 0o644)
            assert m.isdir() or m.isfile()
        dirs = {m.name for m in members if m.isdir()}
        assert dirs == {"lib", "portaflow"}
        helper = tar.extractfile("helpers.py")
        assert helper is not None and helper.read() == PROJECT["helpers.py"].encode()


def test_the_archive_bytes_are_golden(tmp_path: Path) -> None:
    # Two files, fixed content: the same bytes on every run and machine. Python 3.10-3.13 write
    # the same headers (device fields left empty for plain files since bpo-18819/bpo-45863).
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_bytes(b"X = 1\n")
    (tmp_path / "top.py").write_bytes("print('h\u00e9')\n".encode())
    files = (("pkg/m.py", tmp_path / "pkg" / "m.py"), ("top.py", tmp_path / "top.py"))
    data = build_archive(files)
    assert build_archive(files) == data
    assert len(data) == 10240
    assert hashlib.sha256(data).hexdigest() == (
        "42d36f89d2bab51ed99d52bc1e80a0b35799fb52b5a86ea60a68f7a7a08c5e7c"
    )


def test_two_packages_of_the_same_project_are_identical(tmp_path: Path) -> None:
    a = package(tmp_path / "a", PROJECT)
    b = package(tmp_path / "b", PROJECT)
    assert a.digest == b.digest
    assert a.archive() == b.archive()


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        ("pipeline.py", "return shift(x)", "return shift(x)  # a comment is a byte change too"),
        ("helpers.py", "v + config.K", "v - config.K"),
        ("config.py", "K = 1", "K = 2"),
        ("lib/util.py", "return 0", "return 1"),
    ],
)
def test_a_change_in_a_packaged_file_changes_the_digest(
    tmp_path: Path, rel: str, old: str, new: str
) -> None:
    base = package(tmp_path, PROJECT).digest
    assert package(tmp_path, edit(PROJECT, rel, old, new)).digest != base


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [("unrelated.py", "return 9", "return 10"), ("notes/data.csv", "a,b", "a,b,c")],
)
def test_a_change_elsewhere_keeps_the_digest(tmp_path: Path, rel: str, old: str, new: str) -> None:
    base = package(tmp_path, PROJECT).digest
    assert package(tmp_path, edit(PROJECT, rel, old, new)).digest == base
    extra = {**PROJECT, "other/new.py": "Y = 2\n"}
    assert package(tmp_path, extra).digest == base


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_code_hash_change_changes_the_digest(tmp_path: Path, case: Case) -> None:
    # The code hash's cases (tests/test_codehash_reach.py): an edit that changes what step
    # `a` computes is in a file the package holds, so the archive changes with the hash;
    # a new module nothing imports changes neither.
    base = package(tmp_path, case.files).digest
    for rel, old, new in case.changes:
        assert package(tmp_path, edit(case.files, rel, old, new)).digest != base, (rel, old)
    assert package(tmp_path, {**case.files, "zz_unrelated.py": "Q = 1\n"}).digest == base


def test_the_archive_refuses_files_changed_after_packaging(tmp_path: Path) -> None:
    pkg = package(tmp_path, PROJECT)
    (tmp_path / "helpers.py").write_text("changed = 1\n")
    with pytest.raises(CodePackageError, match="changed since"):
        pkg.archive()


def test_a_project_file_named_like_the_runtime_is_refused(tmp_path: Path) -> None:
    files = {
        "pipeline.py": "import portaflow_x\nfrom portaflow import task\n\n\n@step\n"
        "def a(x: int) -> int:\n    return x\n",
    }
    write(tmp_path, files)
    (tmp_path / "portaflow").mkdir()
    (tmp_path / "portaflow" / "task.py").write_text("")
    pipeline = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    with pytest.raises(CodePackageError, match="named like portaflow's runtime"):
        code_package(pipeline, tmp_path)


def test_runtime_files_are_the_runtime_folder() -> None:
    files = runtime_files()
    assert {p.parent for p in files.values()} == {(REPO / "runtime").resolve()} or all(
        p.parent.name == "portaflow" for p in files.values()
    )
    assert set(files) == {f"portaflow/{p.name}" for p in (REPO / "runtime").glob("*.py")}


def test_code_uri() -> None:
    assert code_uri("s3://b/p/", "ab") == "s3://b/p/code/ab.tar"
    assert code_uri("memory://x", "cd") == "memory://x/code/cd.tar"


_NAME = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="/\\"
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: s not in (".", ".."))


@given(
    tree=st.dictionaries(
        st.lists(_NAME, min_size=1, max_size=3).map("/".join),
        st.binary(max_size=300),
        min_size=1,
        max_size=6,
    )
)
def test_any_file_tree_round_trips_through_the_archive_and_the_bootstrap(
    tree: dict[str, bytes],
) -> None:
    # Unicode and long names (PAX headers), empty files, nested folders: the archive is the
    # same bytes twice, and the bootstrap's unpack gives back exactly the files.
    from portaflow import _boot

    names = set(tree)
    tree = {k: v for k, v in tree.items() if not any(o.startswith(k + "/") for o in names)}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "src")
        files = []
        for i, (arcname, data) in enumerate(sorted(tree.items())):
            path = src / str(i)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files.append((arcname, path))
        archive = build_archive(tuple(files))
        assert build_archive(tuple(files)) == archive
        dest = Path(tmp, "cache", "d")
        dest.parent.mkdir()
        _boot.unpack(archive, str(dest))
        got = {
            p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()
        }
        assert got == tree
        assert sorted(p.name for p in dest.parent.iterdir()) == ["d"]
