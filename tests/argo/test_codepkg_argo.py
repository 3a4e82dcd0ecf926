"""Package mode on Argo (issue 14): the bootstrap command, the S3 input artifact, golden bytes.

The golden cases use a fixed CodeRef, so they change when the bootstrap or the
backend changes, not whenever a runtime file does (the digest itself is tested in
tests/test_codepkg.py). `pytest --update-golden` rewrites them; it refuses under CI.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from portaflow.backends import CodeRef, EmitOptions
from portaflow.backends.argo import emit
from portaflow.backends.argo.codeinput import ARTIFACT, CODE_PATH
from portaflow.bootstrap import BOOTSTRAP_SOURCE
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main

from . import test_submit
from .checks import check_result
from .test_submit import _Recorder

#: The recording Argo server of test_submit.py, as the fixture `server`.
recording_server = test_submit.server

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
DIGEST = "0123456789abcdef" * 4

#: (case, example, store options): S3 with an endpoint and a secret, and gs:// (no artifact).
CASES = [
    (
        "package-quickstart-s3",
        "quickstart",
        {
            "store": "s3://ml-store/team-a",
            "store_secret": "ml-store-creds",
            "store_options": '{"endpoint_url": "http://minio.minio:9000"}',
        },
    ),
    ("package-multi_module-gs", "multi_module", {"store": "gs://ml-store/team-a"}),
]


def _options(extra: dict[str, str]) -> EmitOptions:
    uri = f"{extra['store']}/code/{DIGEST}.tar"
    return EmitOptions(extra=extra, code=CodeRef(mode="package", digest=DIGEST, uri=uri))


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in doc["spec"]["templates"] if "container" in t]


@pytest.mark.parametrize(("case", "example", "extra"), CASES, ids=[c[0] for c in CASES])
def test_package_mode_golden(
    case: str, example: str, extra: dict[str, str], request: pytest.FixtureRequest
) -> None:
    path = REPO / "examples" / example / "pipeline.py"
    pipeline = compile_file(path, root=path.parent)
    result = emit(pipeline, options=_options(extra))
    assert emit(compile_file(path, root=path.parent), options=_options(extra)) == result
    docs = check_result(result)  # Argo's schema, hera's models, our lint, the round trip
    text = "".join(f"# file: {f.path}\n{f.text}" for f in result.files)
    golden = GOLDEN / f"{case}.yaml"
    if request.config.getoption("--update-golden"):
        if os.environ.get("CI"):
            pytest.fail("--update-golden is refused under CI")
        golden.write_text(text, newline="\n")
    assert golden.exists(), f"no golden file {golden}; run pytest --update-golden"
    want = golden.read_text()
    if want != text:
        diff = difflib.unified_diff(
            want.splitlines(True), text.splitlines(True), str(golden), "new"
        )
        pytest.fail("".join(diff))
    python_steps = [s for s in pipeline.steps if s.container is None]
    templates = _containers(docs[0])
    assert templates
    for t in templates:
        cmd = t["container"]["command"]
        if cmd[:2] != ["python", "-c"]:
            continue  # a container_step runs its own command
        assert cmd[2] == BOOTSTRAP_SOURCE
        assert cmd[cmd.index("--code-sha256") + 1] == DIGEST
        assert cmd[cmd.index("--code-uri") + 1] == f"{extra['store']}/code/{DIGEST}.tar"
        task_args = cmd[cmd.index("--") + 1 :]
        assert task_args[0] == "--step"
        arts = {a["name"]: a for a in t["inputs"].get("artifacts", [])}
        if extra["store"].startswith("s3://"):
            assert cmd[cmd.index("--code-path") + 1] == CODE_PATH
            assert arts[ARTIFACT]["path"] == CODE_PATH
        else:
            assert "--code-path" not in cmd and ARTIFACT not in arts
    assert sum(t["container"]["command"][:2] == ["python", "-c"] for t in templates) >= len(
        python_steps
    )


def test_the_s3_artifact_names_the_secret_never_a_credential() -> None:
    path = REPO / "examples" / "quickstart" / "pipeline.py"
    extra = dict(CASES[0][2])
    doc = check_result(emit(compile_file(path, root=path.parent), options=_options(extra)))[0]
    t = _containers(doc)[0]
    (art,) = [a for a in t["inputs"]["artifacts"] if a["name"] == ARTIFACT]
    assert art["s3"] == {
        "accessKeySecret": {"name": "ml-store-creds", "key": "AWS_ACCESS_KEY_ID"},
        "bucket": "ml-store",
        "endpoint": "minio.minio:9000",
        "insecure": True,
        "key": f"team-a/code/{DIGEST}.tar",
        "secretKeySecret": {"name": "ml-store-creds", "key": "AWS_SECRET_ACCESS_KEY"},
    }
    # Without a secret the pod's own identity reads the bucket (IRSA, workload identity).
    no_secret = {"store": "s3://b/p"}
    doc = check_result(emit(compile_file(path, root=path.parent), options=_options(no_secret)))[0]
    (art,) = [a for a in _containers(doc)[0]["inputs"]["artifacts"] if a["name"] == ARTIFACT]
    assert art["s3"] == {
        "bucket": "b",
        "endpoint": "s3.amazonaws.com",
        "key": f"p/code/{DIGEST}.tar",
        "useSDKCreds": True,
    }


def test_memoization_is_kept_beside_the_code_artifact() -> None:
    path = REPO / "examples" / "quickstart" / "pipeline.py"
    doc = check_result(
        emit(compile_file(path, root=path.parent), options=_options(dict(CASES[0][2])))
    )[0]
    plain = check_result(emit(compile_file(path, root=path.parent), options=EmitOptions()))[0]
    memo = {t["name"]: "memoize" in t for t in _containers(doc)}
    assert memo == {t["name"]: "memoize" in t for t in _containers(plain)}
    assert any(memo.values())


def test_compile_with_a_store_stack_is_package_mode_by_default(tmp_path: Path) -> None:
    (tmp_path / "pipeline.py").write_text(
        (REPO / "examples" / "quickstart" / "pipeline.py").read_text()
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "q"\nversion = "0"\n\n[tool.portaflow.stacks.prod]\n'
        'target = "argo"\nstore = "s3://ml-store/q"\n\n[tool.portaflow.stacks.img]\n'
        'target = "argo"\nstore = "s3://ml-store/q"\ncode = "image"\n'
    )
    out = CliRunner().invoke(main, ["compile", str(tmp_path / "pipeline.py"), "--stack", "prod"])
    assert out.exit_code == 0, out.output
    doc = yaml.safe_load(out.stdout)
    cmd = _containers(doc)[0]["container"]["command"]
    assert cmd[:3] == ["python", "-c", BOOTSTRAP_SOURCE]
    digest = cmd[cmd.index("--code-sha256") + 1]
    assert cmd[cmd.index("--code-uri") + 1] == f"s3://ml-store/q/code/{digest}.tar"
    out = CliRunner().invoke(main, ["compile", str(tmp_path / "pipeline.py"), "--stack", "img"])
    assert out.exit_code == 0, out.output
    cmd = _containers(yaml.safe_load(out.stdout))[0]["container"]["command"]
    assert cmd[:3] == ["python", "-m", "portaflow.task"]


def test_submit_publishes_first(tmp_path: Path, recording_server: str) -> None:
    # `portaflow publish --help`: "`portaflow submit` publishes first by itself".
    from portaflow.backends.argo.cli import submit_cmd
    from portaflow.compiler.codepkg import code_package

    store = tmp_path / "store"
    (tmp_path / "pipeline.py").write_text(
        (REPO / "examples" / "quickstart" / "pipeline.py").read_text()
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "q"\nversion = "0"\n\n[tool.portaflow.stacks.prod]\n'
        f'store = "file://{store}"\n'
    )
    out = CliRunner().invoke(
        submit_cmd, [str(tmp_path / "pipeline.py"), "--stack", "prod", "--host", recording_server]
    )
    assert out.exit_code == 0, out.output
    digest = code_package(compile_file(tmp_path / "pipeline.py", root=tmp_path), tmp_path).digest
    assert [p.name for p in (store / "code").iterdir()] == [f"{digest}.tar"]
    assert f"published: file://{store}/code/{digest}.tar" in out.output
    (req,) = _Recorder.requests
    cmd = _containers(req["body"]["workflow"])[0]["container"]["command"]
    assert cmd[cmd.index("--code-sha256") + 1] == digest
