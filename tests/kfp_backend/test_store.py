"""A stack with a store: the KFP spec names the store and its secret (never a credential), and the
runtime, run the way a KFP pod runs it, writes records that `portaflow runs list` shows.

Both executor flavours: `container` is run here as the pod runs it (the executor's command and
args with KFP's placeholders substituted, the env of the container and of the platform spec's
`fieldPathAsEnv`); `python` is run by kfp.local, which builds the executor input and runs the
executor's command as KFP's launcher does.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from pfhelpers import REPO, Golden
from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.kfp import emit
from portaflow.backends.local.cli import runs_group
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main
from s3kit import S3Server

from .checks import check_result, parse

GOLDEN = Path(__file__).parent / "golden"

PIPELINE = """
from portaflow import pipeline, step


@step
def make(n: int) -> bytes:
    return bytes(range(n))


@step
def size(data: bytes) -> int:
    return len(data)


@step
def parts(n: int) -> list[str]:
    return [f"p{i}" for i in range(n)]


@step
def shout(part: str) -> str:
    return part.upper()


@pipeline
def demo(n: int = 3):
    size(make(n))
    for p in parts(n):
        shout(p)
"""

STACK = """
[project]
name = "demo"
version = "0"

[tool.portaflow.stacks.prod]
target = "kfp"
store = "{store}"
store_secret = "ml-store-creds"
"""

STORE = {"store": "s3://ml-store/team-a", "store_secret": "ml-store-creds"}


def _project(tmp_path: Path, store: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(STACK.format(store=store))
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    return tmp_path


def _compile(root: Path, *extra: str) -> str:
    out = root / "deploy"
    result = CliRunner().invoke(
        main,
        ["compile", str(root / "pipeline.py"), "--target", "kfp", "-o", str(out), *extra],
    )
    assert result.exit_code == 0, result.output
    return (out / "demo.yaml").read_text()


def _kfp_platform(secret: str, loop: bool, tmp_path: Path) -> dict[str, Any]:
    """What kfp-kubernetes itself writes for the store's secret and the pod's fields."""
    from kfp import compiler, dsl, kubernetes

    @dsl.container_component
    def comp():  # type: ignore[no-untyped-def]
        return dsl.ContainerSpec(image="python:3.11-slim", command=["true"])

    @dsl.pipeline(name="p")
    def p():  # type: ignore[no-untyped-def]
        task = comp()
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        kubernetes.use_secret_as_env(task, secret, {k: k for k in keys})
        kubernetes.use_secret_as_env(
            task, secret, {"AWS_SESSION_TOKEN": "AWS_SESSION_TOKEN"}, optional=True
        )
        kubernetes.use_field_path_as_env(
            task, "PORTAFLOW_RUN_ID", "metadata.labels['pipeline/runid']"
        )
        if loop:
            kubernetes.use_field_path_as_env(task, "PORTAFLOW_KFP_POD", "metadata.name")

    out = tmp_path / f"kfp-{loop}.yaml"
    compiler.Compiler().compile(p, str(out))
    platform = list(yaml.safe_load_all(out.read_text()))[1]
    return dict(platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-comp"])


@pytest.mark.parametrize("flavour", ["python", "container"])
def test_the_spec_names_the_store_and_its_secret_and_no_credential(
    tmp_path: Path, flavour: str
) -> None:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    pipeline = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    result = emit(pipeline, options=EmitOptions(extra={**STORE, "kfp_executor": flavour}))
    check_result(result)  # strict protobuf parse, kfp-kubernetes' schema, references
    spec, platform = parse(result.files[0].text)
    assert platform is not None
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name, exe in spec["deploymentSpec"]["executors"].items():
        env = {e["name"]: e["value"] for e in exe["container"]["env"]}
        assert env == {"PORTAFLOW_PIPELINE": "demo", "PORTAFLOW_STORE_URI": STORE["store"]}
        # Exactly what kfp.kubernetes.use_secret_as_env / use_field_path_as_env write.
        kfp_own = _kfp_platform("ml-store-creds", name == "exec-shout", tmp_path)
        assert executors[name] == kfp_own
    # Caching is untouched: the run id is an env variable from the pod's label, not an input.
    assert "pipeline_job_uuid" not in result.files[0].text
    assert "AWS_SECRET_ACCESS_KEY=" not in result.files[0].text


def test_without_a_store_url_the_spec_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    pipeline = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    plain = emit(pipeline, options=EmitOptions())
    assert "PORTAFLOW_STORE_URI" not in plain.files[0].text
    assert len(list(yaml.safe_load_all(plain.files[0].text))) == 1


def test_store_options_travel_and_the_steps_env_wins(tmp_path: Path) -> None:
    source = PIPELINE.replace(
        "@step\ndef make", '@step(env={"PORTAFLOW_PIPELINE": "mine"})\ndef make'
    )
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(source))
    pipeline = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    options = '{"client_kwargs": {"endpoint_url": "http://minio:9000"}}'
    result = emit(pipeline, options=EmitOptions(extra={**STORE, "store_options": options}))
    spec, _ = parse(result.files[0].text)
    env = [e for e in spec["deploymentSpec"]["executors"]["exec-make"]["container"]["env"]]
    assert env == [
        {"name": "PORTAFLOW_PIPELINE", "value": "mine"},
        {
            "name": "PORTAFLOW_STORE_OPTIONS",
            "value": '{"client_kwargs":{"endpoint_url":"http://minio:9000"}}',
        },
        {"name": "PORTAFLOW_STORE_URI", "value": STORE["store"]},
    ]


def test_a_container_step_gets_no_store_settings() -> None:
    path = REPO / "examples" / "container_step" / "pipeline.py"
    result = emit(compile_file(path, root=path.parent), options=EmitOptions(extra=STORE))
    spec, platform = parse(result.files[0].text)
    assert platform is not None
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    commands = 0
    for name, exe in spec["deploymentSpec"]["executors"].items():
        env = {e["name"] for e in exe["container"].get("env", [])}
        ours = (
            exe["container"]["command"][0] == "sh"
            and "program_path" in exe["container"]["command"][2]
        )
        if ours:
            assert "PORTAFLOW_STORE_URI" in env and "fieldPathAsEnv" in k8s[name]
        else:
            commands += 1
            assert "PORTAFLOW_STORE_URI" not in env and "fieldPathAsEnv" not in k8s.get(name, {})
    assert commands >= 1


def test_an_iteration_without_a_pod_name_gets_a_random_suffix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from portaflow import kfp_task

    monkeypatch.delenv("PORTAFLOW_KFP_POD", raising=False)
    first = kfp_task._task_id({"task": "shout", "loop": True})
    second = kfp_task._task_id({"task": "shout", "loop": True})
    assert re.fullmatch(r"shout\[[0-9a-f]{12}\]", first) and first != second
    monkeypatch.setenv("PORTAFLOW_KFP_POD", "demo-abc-123")
    assert kfp_task._task_id({"task": "shout", "loop": True}) == "shout[demo-abc-123]"
    assert kfp_task._task_id({"task": "make"}) == "make"


def test_named_secret_keys_serve_any_store(tmp_path: Path) -> None:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    pipeline = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    extra = {"store": "gs://b/p", "store_secret": "gcs", "store_secret_keys": ["GCS_TOKEN"]}
    result = emit(pipeline, options=EmitOptions(extra=extra))
    _, platform = parse(result.files[0].text)
    assert platform is not None
    exe = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-make"]
    assert exe["secretAsEnv"] == [
        {
            "keyToEnv": [{"envVar": "GCS_TOKEN", "secretKey": "GCS_TOKEN"}],
            "optional": False,
            "secretName": "gcs",
            "secretNameParameter": {"runtimeValue": {"constant": "gcs"}},
        }
    ]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"store": "s3://{{workflow.name}}/x"}, "PF400"),
        ({"store": "s3://"}, "PF400"),
        ({"store": "s3://b/p", "store_secret": "Not_A_Name"}, "PF401"),
        ({"store_secret": "creds"}, "PF402"),
        ({"store": "s3://b/p", "store_options": '{"secret": "abc"}'}, "PF403"),
        ({"store": "s3://b/p", "store_options": "[1]"}, "PF403"),
        ({"store": "gs://b/p", "store_secret": "creds"}, "PF632"),
        ({"store": "s3://b/p", "store_secret": "c", "store_secret_keys": ["A-B"]}, "PF632"),
        ({"store": "s3://b/p", "store_secret": "c", "store_secret_keys": []}, "PF632"),
    ],
)
def test_store_settings_the_tasks_cannot_use_are_errors(
    tmp_path: Path, extra: dict[str, Any], code: str
) -> None:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    pipeline = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    with pytest.raises(BackendError) as err:
        emit(pipeline, options=EmitOptions(extra=extra))
    assert [m.code for m in err.value.messages] == [code]
    assert err.value.messages[0].hint or code == "PF403"


@pytest.mark.parametrize("example", ["quickstart", "dynamic_fanout"])
def test_golden_store_cases(example: str, golden: Golden) -> None:
    path = REPO / "examples" / example / "pipeline.py"
    extra = {**STORE, "store_options": '{"client_kwargs": {"endpoint_url": "http://minio:9000"}}'}
    for flavour in ("python", "container"):
        options = EmitOptions(extra={**extra, "kfp_executor": flavour})
        result = emit(compile_file(path, root=path.parent), options=options)
        assert emit(compile_file(path, root=path.parent), options=options) == result
        check_result(result)
        text = "".join(f"# file: {f.path}\n{f.text}" for f in result.files)
        golden.check(GOLDEN / f"store-{example}-{flavour}.yaml", text)


# ---------------------------------------------------------------- run like the pod


_PLACEHOLDER = re.compile(
    r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\](\.\w+)?\}\}"
)


def _run_like_the_pod(
    root: Path,
    exe: dict[str, Any],
    platform: dict[str, Any],
    values: dict[str, Any],
    pod: Path,
    env: dict[str, str],
) -> dict[str, Path]:
    """The executor's command and args with KFP's placeholders substituted the way the launcher
    does (a parameter's value, an artifact's local path, an output parameter's file), its env
    and the platform spec's fieldPathAsEnv; returns the output paths by name."""
    outputs: dict[str, Path] = {}

    def sub(m: re.Match[str]) -> str:
        side, _kind, name, _attr = m.groups()
        if side == "inputs":
            return str(values[name])
        path = pod / "outputs" / name
        outputs[name] = path
        return str(path)

    container = exe["container"]
    argv = [_PLACEHOLDER.sub(sub, a) for a in [*container["command"], *container["args"]]]
    assert argv[:2] == ["python", "-c"]  # package mode (a store URL): the code package first
    assert "{{$" not in " ".join(argv[3:]), argv
    pod_env = {e["name"]: e["value"] for e in container.get("env", [])}
    fields = {
        "metadata.labels['pipeline/runid']": env["RUN_ID"],
        "metadata.name": f"{pod.name}-system-container-impl",
    }
    for f in platform.get("fieldPathAsEnv", []):
        pod_env[f["name"]] = fields[f["fieldPath"]]
    secret_env = {k: v for k, v in env.items() if k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, *argv[1:]],
        cwd=pod.parent,  # not the project: the code is found through PORTAFLOW_ROOT
        env={**os.environ, **secret_env, **pod_env, "PORTAFLOW_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return outputs


def _publish(root: Path, server: S3Server) -> None:
    done = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=server.env()
    )
    assert done.exit_code == 0, done.output


def test_container_pods_write_records_that_runs_list_shows(
    s3_server: S3Server, s3_store: str, tmp_path: Path
) -> None:
    root = _project(tmp_path / "project", s3_store)
    _publish(root, s3_server)
    text = _compile(root, "--stack", "prod", "--kfp-executor", "container")
    for key, value in s3_server.env().items():
        if "SECRET" in key or "KEY" in key:
            assert value not in text
    spec, platform = parse(text)
    assert platform is not None
    execs = spec["deploymentSpec"]["executors"]
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    run_id = str(uuid.uuid4())
    env = {**s3_server.env(), "RUN_ID": run_id}

    def pod(task: str, values: dict[str, Any], name: str = "") -> dict[str, Path]:
        exe = f"exec-{task}"
        folder = tmp_path / f"pod-{name or task}"
        return _run_like_the_pod(root, execs[exe], k8s[exe], values, folder, env)

    made = pod("make", {"n": 3})
    size = pod("size", {"data": made["Output"]})
    assert size["Output"].read_text() == "3"
    listed = pod("parts", {"n": 2})
    for i, item in enumerate(json.loads(listed["Output"].read_text())):
        pod("shout", {"part": item}, name=f"shout-{i}")  # one pod per iteration

    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    shown = CliRunner().invoke(
        runs_group, ["show", run_id, "--json", "--store", s3_store, "--root", str(elsewhere)]
    )
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    states = {e["key"]: e["state"] for e in doc["executions"]}
    assert states == {
        "make": "succeeded",
        "size": "succeeded",
        "parts": "succeeded",
        "shout[pod-shout-0-system-container-impl]": "succeeded",
        "shout[pod-shout-1-system-container-impl]": "succeeded",
    }
    by_key = {e["key"]: e for e in doc["executions"]}
    assert by_key["size"]["outputs"]["output"]["value"] == 3
    artifact = next(a for a in doc["artifacts"] if a["execution"] == "make")
    assert artifact["uri"].startswith(s3_store + "/artifacts/")
    consumed = [li for li in doc["lineage"] if li["direction"] == "input"]
    assert [(li["execution"], li["sha256"]) for li in consumed] == [("size", artifact["sha256"])]
    # The stack's store is what `runs list --stack prod` reads.
    by_stack = CliRunner().invoke(
        runs_group, ["list", "--json", "--stack", "prod", "--root", str(root)]
    )
    assert by_stack.exit_code == 0, by_stack.output
    runs = json.loads(by_stack.output)
    assert [(r["id"], r["pipeline"], r["status"]) for r in runs] == [(run_id, "demo", "succeeded")]


@pytest.mark.slow
def test_python_flavour_under_kfp_local_writes_records(
    s3_server: S3Server, s3_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kfp.local sets the container's env; the test stands in for the pod label's run id."""
    import kfp.local
    from kfp.components import load_component_from_file

    root = _project(tmp_path / "project", s3_store)
    _publish(root, s3_server)
    text = _compile(root, "--stack", "prod")
    spec_file = root / "deploy" / "demo.yaml"
    spec, _ = parse(text)
    assert spec["deploymentSpec"]["executors"]["exec-make"]["container"]["command"][0] == "sh"
    run_id = f"kfp-local-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PORTAFLOW_ROOT", str(root))
    monkeypatch.setenv("PORTAFLOW_RUN_ID", run_id)
    kfp.local.init(
        runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp")
    )
    original_print = builtins.print
    try:
        load_component_from_file(str(spec_file))(n=2)
    finally:
        builtins.print = original_print  # kfp.local can leave it swapped (see conformance)
    listed = CliRunner().invoke(
        runs_group, ["show", run_id, "--json", "--stack", "prod", "--root", str(root)]
    )
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.output)
    tasks = sorted(e["key"].split("[")[0] for e in doc["executions"])
    assert tasks == ["make", "parts", "shout", "shout", "size"]
    assert all(e["state"] == "succeeded" for e in doc["executions"])
    runs = CliRunner().invoke(
        runs_group, ["list", "--json", "--stack", "prod", "--root", str(root)]
    )
    assert [(r["id"], r["pipeline"]) for r in json.loads(runs.output)] == [(run_id, "demo")]


def test_a_store_the_pod_cannot_write_fails_the_task_in_one_line(
    s3_server: S3Server, tmp_path: Path
) -> None:
    root = _project(tmp_path / "project", "s3://no-such-bucket/team")
    spec, platform = parse(_compile(root, "--stack", "prod", "--kfp-executor", "container"))
    assert platform is not None
    exe = spec["deploymentSpec"]["executors"]["exec-make"]
    container = exe["container"]
    argv = [
        _PLACEHOLDER.sub(
            lambda m: "3" if m.group(1) == "inputs" else str(tmp_path / "out" / m.group(3)), a
        )
        for a in container["args"]
    ]
    env = {e["name"]: e["value"] for e in container["env"]}
    done = subprocess.run(  # the args only: no archive can be published to a missing bucket
        [sys.executable, "-m", "portaflow.kfp_task", *argv],
        cwd=tmp_path,
        env={
            **os.environ,
            **env,
            **s3_server.env(),
            "PORTAFLOW_ROOT": str(root),
            "PORTAFLOW_RUN_ID": "r1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot write this task's record to the store s3://no-such-bucket/team" in done.stderr


@pytest.mark.parametrize("flavour", ["python", "container"])
def test_golden_package_mode(flavour: str, golden: Golden) -> None:
    """A package-mode spec (a fixed CodeRef: the golden does not follow the archive's bytes)."""
    from portaflow.backends import CodeRef

    path = REPO / "examples" / "quickstart" / "pipeline.py"
    digest = "0" * 64
    code = CodeRef(mode="package", digest=digest, uri=f"{STORE['store']}/code/{digest}.tar")
    options = EmitOptions(code=code, extra={**STORE, "kfp_executor": flavour})
    result = emit(compile_file(path, root=path.parent), options=options)
    check_result(result)
    text = "".join(f"# file: {f.path}\n{f.text}" for f in result.files)
    golden.check(GOLDEN / f"package-quickstart-{flavour}.yaml", text)


def test_store_secret_keys_come_from_the_stacks_extra_table(tmp_path: Path) -> None:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\n\n[tool.portaflow.stacks.prod]\n'
        'target = "kfp"\nstore = "gs://ml-store/team-a"\nstore_secret = "gcs"\n'
        'extra = { store_secret_keys = ["GCS_TOKEN"] }\n'
    )
    _, platform = parse(_compile(tmp_path, "--stack", "prod"))
    assert platform is not None
    exe = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-make"]
    assert exe["secretAsEnv"][0]["keyToEnv"] == [{"envVar": "GCS_TOKEN", "secretKey": "GCS_TOKEN"}]
