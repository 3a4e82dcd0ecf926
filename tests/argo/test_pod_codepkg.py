"""The Argo pod test of issue 14: a compiled package-mode manifest runs in a bare Python.

`portaflow publish` writes the code package to the moto S3 server; each container of
the compiled Workflow then runs exactly as its pod would: the S3 input artifact is
fetched to the path the manifest names (tests/podkit.py), the template tags are
substituted the way Argo would, and the argv runs in a venv holding only s3fs (the
quickstart example needs no other library): no portaflow, no project code. Every
output equals `portaflow run`'s, and a tampered archive fails with the bootstrap's
one-line error.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from podkit import (
    bare_pod_python,
    container_env,
    deliver_s3,
    local_outputs,
    pod_argv,
    run_pod,
)
from portaflow.backends.argo.codeinput import ARTIFACT
from portaflow.compiler.cli import main
from s3kit import S3Server

REPO = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, store: str, server: S3Server) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "examples" / "quickstart" / "pipeline.py", root / "pipeline.py")
    options = json.dumps({"endpoint_url": server.endpoint})
    (root / "pyproject.toml").write_text(
        '[project]\nname = "quickstart"\nversion = "0"\n\n'
        f'[tool.portaflow.stacks.prod]\ntarget = "argo"\nstore = "{store}"\n'
        f"store_options = '{options}'\n"
    )
    return root


def _compile(root: Path) -> dict[str, Any]:
    out = CliRunner().invoke(main, ["compile", str(root / "pipeline.py"), "--stack", "prod"])
    assert out.exit_code == 0, out.output
    return dict(yaml.safe_load(out.stdout))


def _template(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in doc["spec"]["templates"] if t["name"] == name)


@pytest.fixture(scope="module")
def python() -> Path:
    return bare_pod_python()


class Pod:
    """Runs one template of the compiled Workflow as Argo's pod for it would."""

    def __init__(
        self, doc: dict[str, Any], tmp: Path, server: S3Server, python: Path, run_id: str
    ) -> None:
        self.doc, self.tmp, self.server, self.python, self.run_id = doc, tmp, server, python, run_id
        self.count = 0

    def run(self, name: str, task: str, params: dict[str, str]) -> tuple[int, str, Any]:
        self.count += 1
        pod = self.tmp / f"pod-{self.count}-{name}"
        t = _template(self.doc, name)
        arts = {a["name"]: a for a in t["inputs"].get("artifacts", [])}
        deliver_s3(arts[ARTIFACT], pod, self.server)  # Argo's executor, before the main container
        values = {f"inputs.parameters.{k}": v for k, v in params.items()}
        values |= {"inputs.parameters.portaflow-task": task, "workflow.uid": self.run_id}
        argv = pod_argv(t["container"]["command"], values, pod)
        done = run_pod(
            argv,
            python=self.python,
            pod=pod,
            env=container_env(t),
            server=self.server,
        )
        out = pod / "out" / "output.json"
        value = json.loads(out.read_text()) if out.exists() else None
        return done.returncode, done.stderr, value


def test_the_manifest_runs_in_a_bare_python_with_the_published_package(
    s3_server: S3Server, s3_store: str, tmp_path: Path, python: Path
) -> None:
    root = _project(tmp_path, s3_store, s3_server)
    published = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=s3_server.env()
    )
    assert published.exit_code == 0, published.output
    digest, uri = published.stdout.split()
    assert uri == f"{s3_store}/code/{digest}.tar"
    again = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=s3_server.env()
    )
    assert again.exit_code == 0 and again.stdout == published.stdout
    assert "already published" in again.stderr

    doc = _compile(root)
    make = _template(doc, "make-numbers")["container"]["command"]
    assert make[make.index("--code-sha256") + 1] == digest

    want = {k: v["value"] for k, v in local_outputs(root).items()}

    pods = Pod(doc, tmp_path, s3_server, python, str(uuid.uuid4()))
    got: dict[str, Any] = {}
    code, err, got["make_numbers"] = pods.run("make-numbers", "make_numbers", {"count": "5"})
    assert code == 0, err
    squares = []
    for i, x in enumerate(got["make_numbers"]):
        code, err, got[f"square[{i}]"] = pods.run("square", f"square[{i}]", {"x": json.dumps(x)})
        assert code == 0, err
        squares.append(got[f"square[{i}]"])
    code, err, got["total"] = pods.run("total", "total", {"values": json.dumps(squares)})
    assert code == 0, err
    code, err, got["report"] = pods.run(
        "report", "report", {"result": json.dumps(got["total"]), "label": "sum of squares"}
    )
    assert code == 0, err
    assert got == want
    # Every pod of the run unpacked the same digest once, in its own cache.
    assert all(
        [p.name for p in (d / "code-cache").iterdir()] == [digest] for d in tmp_path.glob("pod-*")
    )


def test_a_tampered_archive_fails_the_pod_with_one_clear_line(
    s3_server: S3Server, s3_store: str, tmp_path: Path, python: Path
) -> None:
    import s3fs

    root = _project(tmp_path, s3_store, s3_server)
    published = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=s3_server.env()
    )
    assert published.exit_code == 0, published.output
    digest, uri = published.stdout.split()
    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": s3_server.endpoint}
    )
    data = bytearray(fs.cat_file(uri))
    data[data.index(b"def square") + 4] ^= 0x20  # `def Square`: one byte of the step's code
    fs.pipe_file(uri, bytes(data))

    pods = Pod(_compile(root), tmp_path, s3_server, python, "r1")
    code, err, value = pods.run("square", "square[0]", {"x": "3"})
    assert code == 2 and value is None
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("portaflow bootstrap: error: code archive ")
    assert f"which does not match the manifest's {digest}; run portaflow publish" in lines[0]
