"""docs/deploy-image.md says only what is true: each test pins one of its claims."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from pfhelpers import EXAMPLES, REPO, check_cli_output
from portaflow.compiler.cli import main
from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.imagefile import USER, project_requirements, render_dockerfile

DOC = REPO / "docs" / "deploy-image.md"
TEXT = DOC.read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TEXT, re.S)


def _project(tmp_path: Path, example: str = "ml") -> Path:
    root = tmp_path / example
    shutil.copytree(EXAMPLES / example, root, ignore=shutil.ignore_patterns("expected"))
    stack = _blocks("toml")[0]
    with (root / "pyproject.toml").open("a") as fh:
        fh.write("\n" + stack)
    return root


def _run(root: Path, *args: str) -> Result:
    old = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(main, list(args), prog_name="portaflow")
    finally:
        os.chdir(old)
    check_cli_output(result.exit_code, result.stdout, result.stderr, " ".join(args))
    return result


def test_the_documented_dockerfile_is_what_image_writes_for_examples_ml(tmp_path: Path) -> None:
    documented = _blocks("dockerfile")[0]
    assert documented == (REPO / "tests" / "image_golden" / "ml" / "Dockerfile").read_text()
    root = _project(tmp_path)
    assert (
        _run(root, "image", "pipeline.py", "--stack", "release", "-o", "build/image").exit_code == 0
    )
    assert (root / "build" / "image" / "Dockerfile").read_text() == documented


def test_the_documented_stack_compiles_to_the_printed_tag(tmp_path: Path) -> None:
    stack = tomllib.loads(_blocks("toml")[0])["tool"]["portaflow"]["stacks"]["release"]
    assert stack["code"] == "image" and stack["base_image"] == "python:3.11-slim"
    root = _project(tmp_path)
    out = _run(root, "image", "pipeline.py", "--stack", "release", "-o", "build/image").stdout
    # The printed lines have the documented shape.
    sample = re.search(r"prints, for example,\n\n```\n(.*?)```", TEXT, re.S)
    assert sample
    shape = re.escape(sample.group(1)).replace("6ce3250fbe3c5f7b", "[0-9a-f]{16}")
    assert re.fullmatch(shape, out), (shape, out)
    tag = out.split()[1]
    compiled = _run(root, "compile", "pipeline.py", "--stack", "release", "-o", "deploy")
    assert compiled.exit_code == 0
    doc = yaml.safe_load(next((root / "deploy").glob("*.yaml")).read_text())
    spec = doc["spec"].get("workflowSpec", doc["spec"])  # the ml example is a CronWorkflow
    images = {t["container"]["image"] for t in spec["templates"] if "container" in t}
    assert images == {tag}
    assert "docker build -t TAG DIR && docker push TAG" in TEXT


def test_reordering_dependencies_changes_the_tag_and_kfp_adds_kfp(tmp_path: Path) -> None:
    a = render_dockerfile(base_image="python:3.11-slim", requirements=["a==1", "b==2"])
    b = render_dockerfile(base_image="python:3.11-slim", requirements=["b==2", "a==1"])
    assert a != b  # "reordering them costs one rebuild"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = []\n')
    assert project_requirements(tmp_path, {"target": "kfp"})[0][0].startswith("kfp==")


def test_a_comment_in_a_reached_file_changes_the_tag(tmp_path: Path) -> None:
    root = _project(tmp_path, "quickstart")

    def tag() -> str:
        out = _run(root, "image", "pipeline.py", "--stack", "release", "-o", "b").stdout
        return out.split()[1]

    before = tag()
    pipeline = root / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "# a comment\n")
    assert tag() != before
    py = root / "pyproject.toml"
    py.write_text(py.read_text().replace('namespace = "ml"', 'namespace = "other"'))
    after = tag()
    py.write_text(py.read_text().replace('target = "argo"', 'target = "airflow"', 1))
    assert tag() == after  # a stack key other than base_image, image_repository, kfp's


def test_the_pipelines_image_wins_and_airflow_local_does_not_use_the_tag(tmp_path: Path) -> None:
    root = _project(tmp_path, "quickstart")
    tag = _run(root, "image", "pipeline.py", "--stack", "release", "-o", "b").stdout.split()[1]
    local = _run(
        root,
        "compile",
        "pipeline.py",
        "--stack",
        "prod",
        "-t",
        "airflow",
        "--airflow-operator",
        "local",
    )
    assert local.exit_code == 0 and tag not in local.stdout
    pipeline = root / "pipeline.py"
    pipeline.write_text(pipeline.read_text().replace("@pipeline\n", '@pipeline(image="x/own:1")\n'))
    argo = _run(root, "compile", "pipeline.py", "--stack", "release", "-t", "argo")
    assert "x/own:1" in argo.stdout and "pf-" not in argo.stdout


def test_the_user_is_numeric_and_not_root() -> None:
    uid, gid = USER.split(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit()
    assert f"USER {USER}" in TEXT and "HOME=/tmp" in TEXT


def test_the_diagnostics_table_is_complete() -> None:
    table = dict(re.findall(r"^\| (PF4\d\d) \| (.+) \|$", TEXT, re.M))
    assert set(table) == {c for c in CODES if "PF440" <= c <= "PF449"}
    for code, text in table.items():
        assert text.startswith("warning") == CODES[code].startswith("warning"), code
