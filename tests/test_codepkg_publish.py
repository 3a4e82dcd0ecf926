"""`portaflow publish` and the publishing `portaflow submit` does first (issue 14).

Every claim of `portaflow publish --help` is tested here, but that submit publishes
first (tests/argo/test_codepkg_argo.py); the S3 round trip (moto) is in
tests/argo/test_pod_codepkg.py.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from portaflow.compiler import compile_file
from portaflow.compiler.cli import main
from portaflow.compiler.codepkg import code_package

REPO = Path(__file__).resolve().parents[1]


def _project(tmp_path: Path, stack: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "examples" / "quickstart" / "pipeline.py", root / "pipeline.py")
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "q"\nversion = "0"\n\n[tool.portaflow.stacks.prod]\n{stack}'
    )
    return root


def _publish(root: Path) -> object:
    return CliRunner().invoke(main, ["publish", str(root / "pipeline.py"), "--stack", "prod"])


def test_publish_writes_the_archive_under_its_digest_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    root = _project(tmp_path, f'store = "file://{store}"\n')
    first = CliRunner().invoke(main, ["publish", str(root / "pipeline.py"), "--stack", "prod"])
    assert first.exit_code == 0, first.output
    # Claim: prints the digest and the URL on stdout.
    digest, uri = first.stdout.split()
    # Claim: it goes to {store}/code/{sha256}.tar, the digest a compiled manifest checks.
    assert uri == f"file://{store}/code/{digest}.tar"
    data = (store / "code" / f"{digest}.tar").read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest
    pkg = code_package(compile_file(root / "pipeline.py", root=root), root)
    assert pkg.digest == digest and pkg.archive() == data
    assert f"published: {uri}" in first.stderr
    compiled = CliRunner().invoke(
        main, ["compile", str(root / "pipeline.py"), "--stack", "prod", "--target", "argo"]
    )
    assert compiled.exit_code == 0, compiled.output
    doc = yaml.safe_load(compiled.stdout)
    cmd = next(t for t in doc["spec"]["templates"] if "container" in t)["container"]["command"]
    assert cmd[cmd.index("--code-sha256") + 1] == digest
    # Claim: an archive already there is left alone (idempotent).
    stamp = (store / "code" / f"{digest}.tar").stat().st_mtime_ns
    again = CliRunner().invoke(main, ["publish", str(root / "pipeline.py"), "--stack", "prod"])
    assert again.exit_code == 0 and again.stdout == first.stdout
    assert f"already published: {uri}" in again.stderr
    assert (store / "code" / f"{digest}.tar").stat().st_mtime_ns == stamp
    # Claim: the package holds the files the steps reach and portaflow's runtime.
    assert [a for a, _ in pkg.files if not a.startswith("portaflow/")] == ["pipeline.py"]
    assert "portaflow/task.py" in [a for a, _ in pkg.files]


def test_a_different_file_under_the_digest_is_an_error(tmp_path: Path) -> None:
    store = tmp_path / "store"
    root = _project(tmp_path, f'store = "file://{store}"\n')
    digest = _publish_digest(root)
    (store / "code" / f"{digest}.tar").write_bytes(b"not it")
    out = CliRunner().invoke(main, ["publish", str(root / "pipeline.py"), "--stack", "prod"])
    assert out.exit_code == 1
    assert "exists but does not hold the archive of digest" in out.output
    assert "Traceback" not in out.output


def _publish_digest(root: Path) -> str:
    out = CliRunner().invoke(main, ["publish", str(root / "pipeline.py"), "--stack", "prod"])
    assert out.exit_code == 0, out.output
    return str(out.stdout.split()[0])


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ('target = "argo"\n', "does not ship a code package"),
        ('store = "local-folder"\n', "does not ship a code package"),
        ('store = "s3://b/p"\ncode = "image"\n', "does not ship a code package"),
        ('code = "package"\n', 'code = "package" needs a store URL'),
        ('store = "s3://b/p"\ncode = "zip"\n', '`code` must be "package" or "image"'),
    ],
)
def test_a_stack_without_a_package_is_a_usage_error(
    tmp_path: Path, stack: str, message: str
) -> None:
    root = _project(tmp_path, stack)
    out = CliRunner().invoke(main, ["publish", str(root / "pipeline.py"), "--stack", "prod"])
    assert out.exit_code == 2, out.output
    assert message in out.output


def test_a_store_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    root = _project(tmp_path, f'store = "file://{blocker}/store"\n')
    out = CliRunner().invoke(main, ["publish", str(root / "pipeline.py"), "--stack", "prod"])
    assert out.exit_code == 1
    assert out.output.startswith(f"error: cannot publish the code package to file://{blocker}")
    assert "Traceback" not in out.output


def test_the_help_states_what_is_tested_here() -> None:
    out = CliRunner().invoke(main, ["publish", "--help"])
    assert out.exit_code == 0
    text = " ".join(out.output.split())
    for claim in (
        "{store}/code/{sha256}.tar, the digest a compiled manifest checks",
        "An archive already there is left alone (idempotent)",
        "Prints the digest and the URL on stdout",
        "`portaflow submit` publishes first by itself",
        "the project files the pipeline's steps reach and portaflow's runtime",
    ):
        assert claim in text, claim
    listing = CliRunner().invoke(main, ["--help"])
    assert "publish" in listing.output and "code package" in listing.output
