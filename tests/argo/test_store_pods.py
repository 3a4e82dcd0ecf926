"""A stack with a store: the Argo manifest names the store and the secret (never a credential),
and the runtime, run the way the pod runs it, writes records that `portaflow runs list` shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from podkit import deliver_s3, pod_argv
from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.argo.codeinput import ARTIFACT
from portaflow.backends.argo.emit import emit
from portaflow.backends.local.cli import runs_group
from portaflow.compiler.cli import main
from portaflow.compiler.codepkg import code_package
from portaflow.compiler.frontend import analyze
from s3kit import S3Server

from .checks import check_result

PIPELINE = """
from portaflow import pipeline, step


@step
def make(n: int) -> bytes:
    return bytes(range(n))


@step
def size(data: bytes) -> int:
    return len(data)


@pipeline
def demo(n: int = 5):
    size(make(n))
"""

STACK = """
[project]
name = "demo"
version = "0"

[tool.portaflow.stacks.prod]
target = "argo"
store = "{store}"
{secret}
"""


def _project(tmp_path: Path, store: str, secret: str = "ml-store-creds") -> Path:
    line = f'store_secret = "{secret}"' if secret else ""
    (tmp_path / "pyproject.toml").write_text(STACK.format(store=store, secret=line))
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    return tmp_path


def _compile(root: Path, *extra: str) -> dict[str, Any]:
    out = root / "deploy"
    result = CliRunner().invoke(
        main,
        ["compile", str(root / "pipeline.py"), "--target", "argo", "-o", str(out), *extra],
    )
    assert result.exit_code == 0, result.output
    return dict(yaml.safe_load((out / "demo.yaml").read_text()))


def _template(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in doc["spec"]["templates"] if t["name"] == name)


def _run_like_the_pod(
    root: Path,
    template: dict[str, Any],
    values: dict[str, str],
    pod: Path,
    server: S3Server,
    fields: dict[str, str] | None = None,
    ok: bool = True,
) -> None:
    """The container's command with Argo's substitutions done and its paths moved under `pod`;
    `fields`: what Kubernetes' downward API gives the `fieldRef` variables; `values["retries"]`:
    Argo's retry number, substituted in env values too. `ok`: the task must succeed (else fail)."""
    argv = pod_argv(template["container"]["command"], values, pod)
    # A store URL makes the code travel as a package (issue 14): Argo's executor fetches the
    # published archive to the path the input artifact names, then the bootstrap runs the task.
    assert argv[:2] == ["python", "-c"]
    (code,) = [a for a in template["inputs"]["artifacts"] if a["name"] == ARTIFACT]
    deliver_s3(code, pod, server)
    pod_env = {
        e["name"]: e["value"].replace("{{retries}}", values.get("retries", "{{retries}}"))
        if "value" in e
        else (fields or {})[e["valueFrom"]["fieldRef"]["fieldPath"]]
        for e in template["container"].get("env", [])
    }
    done = subprocess.run(
        [sys.executable, *argv[1:]],
        cwd=root,
        env={
            **os.environ,
            **pod_env,
            **server.env(),
            "PORTAFLOW_ROOT": str(root),
            "PORTAFLOW_CODE_CACHE": str(pod / "code-cache"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode == 0) == ok, done.stderr


def test_a_manifest_with_a_store_names_it_and_its_secret_and_no_credential(
    s3_server: S3Server, s3_store: str, tmp_path: Path
) -> None:
    root = _project(tmp_path, s3_store)
    doc = _compile(root, "--stack", "prod")
    text = (root / "deploy" / "demo.yaml").read_text()
    for name in ("make", "size"):
        container = _template(doc, name)["container"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env == {"PORTAFLOW_PIPELINE": "demo", "PORTAFLOW_STORE_URI": s3_store}
        assert container["envFrom"] == [{"secretRef": {"name": "ml-store-creds"}}]
    # The credentials the tasks will use are nowhere in the manifest; their names appear only
    # where the code package's S3 input artifact names the keys of the secret to read.
    selectors = [
        a["s3"][which]
        for t in doc["spec"]["templates"]
        for a in t.get("inputs", {}).get("artifacts", [])
        if "s3" in a
        for which in ("accessKeySecret", "secretKeySecret")
    ]
    assert selectors and all(s["name"] == "ml-store-creds" for s in selectors)
    named = {s["key"] for s in selectors}
    assert named == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    for key, value in s3_server.env().items():
        if key.startswith("AWS_"):
            assert text.count(key) == text.count(f"key: {key}")
        if "SECRET" in key or "KEY" in key:
            assert value not in text
    published = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=s3_server.env()
    )
    assert published.exit_code == 0, published.output

    # The pods, one after the other, with Argo passing the artifact between them.
    run_id = str(uuid.uuid4())
    make_pod, size_pod = tmp_path / "pod-make", tmp_path / "pod-size"
    _run_like_the_pod(
        root,
        _template(doc, "make"),
        {
            "inputs.parameters.n": "5",
            "inputs.parameters.portaflow-task": "make",
            "workflow.uid": run_id,
        },
        make_pod,
        s3_server,
    )
    shutil.copytree(make_pod / "out" / "output", size_pod / "in" / "data")
    _run_like_the_pod(
        root,
        _template(doc, "size"),
        {"inputs.parameters.portaflow-task": "size", "workflow.uid": run_id},
        size_pod,
        s3_server,
    )

    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    listed = CliRunner().invoke(
        runs_group, ["list", "--json", "--store", s3_store, "--root", str(elsewhere)]
    )
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.output)
    assert [(r["id"], r["pipeline"], r["status"]) for r in runs] == [(run_id, "demo", "succeeded")]
    shown = CliRunner().invoke(
        runs_group, ["show", run_id, "--json", "--store", s3_store, "--root", str(elsewhere)]
    )
    doc_run = json.loads(shown.output)
    states = {e["key"]: e["state"] for e in doc_run["executions"]}
    assert states == {"make": "succeeded", "size": "succeeded"}
    size_exec = next(e for e in doc_run["executions"] if e["key"] == "size")
    assert size_exec["outputs"]["output"]["value"] == 5
    assert (
        size_exec["metadata"]["code_hash"]
        == _template(doc, "size")["metadata"]["annotations"]["portaflow.dev/code-hash"]
    )
    # The stack's store is what `runs list --stack prod` reads, too.
    by_stack = CliRunner().invoke(runs_group, ["list", "--stack", "prod", "--root", str(root)])
    assert by_stack.exit_code == 0 and run_id in by_stack.output, by_stack.output
    made = next(a for a in doc_run["artifacts"] if a["execution"] == "make")
    assert made["uri"].startswith(s3_store + "/artifacts/")
    consumed = [li for li in doc_run["lineage"] if li["direction"] == "input"]
    assert [(li["execution"], li["sha256"]) for li in consumed] == [("size", made["sha256"])]


def test_without_a_store_the_manifest_is_unchanged(tmp_path: Path) -> None:
    # A plain path is the local runner's folder, not the pods': nothing changes.
    root = _project(tmp_path, "local-folder", secret="")
    with_path = _compile(root, "--stack", "prod")
    plain = _compile(root)
    assert with_path == plain
    assert "env" not in _template(plain, "make")["container"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"store": "s3://{{workflow.name}}/x"}, "PF400"),
        ({"store": "s3://"}, "PF400"),
        ({"store": "s3://b/p", "store_secret": "Not_A_Name"}, "PF401"),
        ({"store_secret": "creds"}, "PF402"),
        ({"store": "s3://b/p", "store_options": '{"secret": "abc"}'}, "PF403"),
        ({"store": "s3://b/p", "store_options": "[1]"}, "PF403"),
    ],
)
def test_store_settings_the_tasks_cannot_use_are_errors(
    tmp_path: Path, extra: dict[str, str], code: str
) -> None:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    result = analyze(tmp_path / "pipeline.py", root=tmp_path)
    assert result.pipeline is not None
    with pytest.raises(BackendError) as err:
        emit(result.pipeline, options=EmitOptions(extra=extra))
    assert [m.code for m in err.value.messages] == [code]
    assert err.value.messages[0].hint or code in ("PF403",)


def test_a_store_the_pod_cannot_write_fails_the_task_in_one_line(
    s3_server: S3Server, tmp_path: Path
) -> None:
    root = _project(tmp_path, "s3://no-such-bucket/team")
    doc = _compile(root, "--stack", "prod")
    template = _template(doc, "make")
    values = {
        "inputs.parameters.n": "3",
        "inputs.parameters.portaflow-task": "make",
        "workflow.uid": "r1",
    }
    argv = pod_argv(template["container"]["command"], values, tmp_path / "pod")
    # The bucket does not exist, so nothing could be published there: the archive is the
    # one `portaflow publish` would write, put where Argo's executor would put it.
    code_path = Path(argv[argv.index("--code-path") + 1])
    code_path.parent.mkdir(parents=True)
    code_path.write_bytes(
        code_package(analyze(root / "pipeline.py", root=root).pipeline, root).archive()
    )
    env = {e["name"]: e["value"] for e in template["container"]["env"]}
    done = subprocess.run(
        [sys.executable, *argv[1:]],
        cwd=root,
        env={
            **os.environ,
            **env,
            **s3_server.env(),
            "PORTAFLOW_ROOT": str(root),
            "PORTAFLOW_CODE_CACHE": str(tmp_path / "code-cache"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot write this task's record to the store s3://no-such-bucket/team" in done.stderr


def test_every_iteration_of_a_loop_writes_its_own_record(
    s3_server: S3Server, s3_store: str, tmp_path: Path
) -> None:
    # Issue 11's store with a fan-out: every iteration of `train_region` gets the same
    # `portaflow-task`, so each pod adds its own name (downward API) to its record's task id;
    # put-if-absent would otherwise keep only the first iteration's record.
    example = Path(__file__).parents[2] / "examples" / "static_fanout" / "pipeline.py"
    (tmp_path / "pyproject.toml").write_text(
        STACK.format(store=s3_store, secret='store_secret = "ml-store-creds"')
    )
    shutil.copy(example, tmp_path / "pipeline.py")
    out = tmp_path / "deploy"
    result = CliRunner().invoke(
        main,
        ["compile", str(tmp_path / "pipeline.py"), "--target", "argo", "-o", str(out)]
        + ["--stack", "prod"],
    )
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load((out / "static-fanout.yaml").read_text())
    in_loop = _template(doc, "train-region")
    env = {e["name"]: e for e in in_loop["container"]["env"]}
    assert env["PORTAFLOW_ITERATION"] == {
        "name": "PORTAFLOW_ITERATION",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
    }
    for t in doc["spec"]["templates"]:  # only the tasks inside a loop
        if "container" in t and "--step" in t["container"]["command"]:
            names = {e["name"] for e in t["container"].get("env", [])}
            assert ("PORTAFLOW_ITERATION" in names) == (
                t["name"] != "best" and t["name"] != "report"
            )
    published = CliRunner().invoke(
        main, ["publish", str(tmp_path / "pipeline.py"), "--stack", "prod"], env=s3_server.env()
    )
    assert published.exit_code == 0, published.output

    run_id = str(uuid.uuid4())
    pods = [f"static-fanout-x7k2p-train-region-{n}" for n in (1234, 5678, 9012)]
    for pod, region in zip(pods, ["eu", "us", "apac"], strict=True):
        values = {
            "inputs.parameters.region": region,
            "inputs.parameters.epochs": "2",
            "inputs.parameters.portaflow-task": "train_region",
            "workflow.uid": run_id,
        }
        fields = {"metadata.name": pod}
        _run_like_the_pod(tmp_path, in_loop, values, tmp_path / pod, s3_server, fields)

    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    listed = CliRunner().invoke(
        runs_group, ["list", "--json", "--store", s3_store, "--root", str(elsewhere)]
    )
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.output)] == [run_id]
    shown = CliRunner().invoke(
        runs_group, ["show", run_id, "--json", "--store", s3_store, "--root", str(elsewhere)]
    )
    assert shown.exit_code == 0, shown.output
    execs = json.loads(shown.output)["executions"]
    by_key = {e["key"]: e for e in execs}
    assert sorted(by_key) == sorted(f"train_region[{p}]" for p in pods)
    assert {e["state"] for e in execs} == {"succeeded"}
    scores = sorted(e["outputs"]["output"]["value"] for e in execs)
    assert scores == [4.0, 4.0, 8.0]
    table = CliRunner().invoke(runs_group, ["show", run_id, "--store", s3_store])
    assert table.exit_code == 0, table.output
    assert all(f"train_region[{p}]" in table.output for p in pods), table.output


@pytest.mark.parametrize(
    "example", ["static_fanout", "dynamic_fanout", "nested_loops", "bounded_fanout"]
)
def test_loop_tasks_name_their_pod_and_stay_valid_argo(example: str) -> None:
    # The downward-API variable is valid per Argo's schema, hera's models and our lint, and
    # exactly the templates of tasks inside a loop have it.
    root = Path(__file__).parents[2] / "examples" / example
    found = analyze(root / "pipeline.py", root=root)
    assert found.pipeline is not None
    p = found.pipeline
    extra = {"store": "s3://ml-store/team", "store_secret": "ml-store-creds"}
    (doc,) = check_result(emit(p, options=EmitOptions(extra=extra)))
    in_loop = {p.step(t.step).name for t in p.tasks if t.loop is not None}
    assert in_loop
    for t in doc["spec"]["templates"]:
        if "container" not in t or "--step" not in t["container"]["command"]:
            continue
        fields = [e for e in t["container"].get("env", []) if "valueFrom" in e]
        step = t["metadata"]["annotations"]["portaflow.dev/step"].rsplit(":", 1)[-1]
        want = [
            {
                "name": "PORTAFLOW_ITERATION",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
            }
        ]
        assert fields == (want if step in in_loop else []), t["name"]


FLAKY = """
import os

from portaflow import pipeline, step


@step(retries=2)
def make(n: int) -> bytes:
    if os.environ.get("PORTAFLOW_RETRY") == "0":  # the first attempt fails, the retry succeeds
        raise RuntimeError("transient")
    return bytes(range(n))


@pipeline
def demo(n: int = 5):
    make(n)
"""


def test_each_retry_of_a_task_keeps_its_own_record(
    s3_server: S3Server, s3_store: str, tmp_path: Path
) -> None:
    # Every attempt of a retried template gets the same arguments; Argo's `{{retries}}` (defined
    # only in a template with a retryStrategy) numbers them, so the record of the retry that
    # succeeded is `-a2` beside the failed `-a1`, not dropped by put-if-absent.
    root = _project(tmp_path, s3_store)
    (root / "pipeline.py").write_text(textwrap.dedent(FLAKY))
    doc = _compile(root, "--stack", "prod")
    template = _template(doc, "make")
    assert template["retryStrategy"]["limit"] == 2
    env = {e["name"]: e.get("value") for e in template["container"]["env"]}
    assert env["PORTAFLOW_RETRY"] == "{{retries}}"
    found = analyze(root / "pipeline.py", root=root)
    assert found.pipeline is not None  # schema, hera's models and our lint accept `{{retries}}`
    check_result(emit(found.pipeline, options=EmitOptions(extra={"store": s3_store})))
    published = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=s3_server.env()
    )
    assert published.exit_code == 0, published.output
    run_id = str(uuid.uuid4())
    for retries, ok in (("0", False), ("1", True)):
        values = {
            "inputs.parameters.n": "5",
            "inputs.parameters.portaflow-task": "make",
            "workflow.uid": run_id,
            "retries": retries,
        }
        _run_like_the_pod(root, template, values, tmp_path / f"pod-{retries}", s3_server, ok=ok)
    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    shown = CliRunner().invoke(
        runs_group, ["show", run_id, "--json", "--store", s3_store, "--root", str(elsewhere)]
    )
    assert shown.exit_code == 0, shown.output
    (made,) = json.loads(shown.output)["executions"]
    assert (made["key"], made["attempt"], made["state"]) == ("make", 2, "succeeded")


def test_templates_without_a_retry_strategy_get_no_retry_number(
    s3_store: str, tmp_path: Path
) -> None:
    doc = _compile(_project(tmp_path, s3_store), "--stack", "prod")
    for name in ("make", "size"):
        assert "retryStrategy" not in _template(doc, name)
        names = {e["name"] for e in _template(doc, name)["container"]["env"]}
        assert "PORTAFLOW_RETRY" not in names
