"""Kubernetes pod features (`Volume`, `SecretEnv`, resource limits) on every target.

Manifests name secrets, keys and variables, never values; the local runner maps volumes
to folders and reads SecretEnv variables from the environment or the stack's env_file.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from portaflow.backends import BackendError, EmitOptions, load
from portaflow.backends.local import run_pipeline
from portaflow.backends.local.cli import run_cmd
from portaflow.backends.local.podenv import EnvFileError, read_env_file
from portaflow.backends.local.result import RunError
from portaflow.compiler import compile_file
from portaflow.volumes import VOLUMES_ENV, volume_path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "pod_features"

PIPELINE = """
import hashlib
import os
from portaflow import SecretEnv, Volume, pipeline, step, volume_path


@step(
    volumes=[Volume.empty_dir("/scratch"), Volume.pvc("/data", claim="shared")],
    secrets=[SecretEnv(secret="api", key="token", env="PF_TEST_TOKEN"),
             SecretEnv(secret="api", key="user", env="PF_TEST_USER")],
)
def probe() -> dict:
    scratch, data = volume_path("/scratch"), volume_path("/data")
    (data / "seen").write_text("x")
    return {
        "token": hashlib.sha256(os.environ["PF_TEST_TOKEN"].encode()).hexdigest()
        if "PF_TEST_TOKEN" in os.environ else None,
        "user": os.environ.get("PF_TEST_USER"),
        "scratch": scratch.is_dir() and scratch != data,
        "data": str(data),
    }


@pipeline
def pods():
    probe()
"""


def _project(tmp_path: Path, stack: str = "") -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    toml = '[project]\nname = "pods"\nversion = "0"\n'
    if stack:
        toml += (
            f'\n[tool.portaflow]\ndefault_stack = "dev"\n\n[tool.portaflow.stacks.dev]\n{stack}\n'
        )
    (root / "pyproject.toml").write_text(toml)
    return root


def test_local_volumes_are_folders_and_secrets_come_from_env_then_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    (root / "dev.env").write_text(
        '# local values\nexport PF_TEST_TOKEN="from-file"\nPF_TEST_USER=file-user\n'
    )
    monkeypatch.setenv("PF_TEST_USER", "env-user")  # the environment wins over the file
    monkeypatch.delenv("PF_TEST_TOKEN", raising=False)
    store = tmp_path / "store"
    result = run_pipeline(
        compile_file(root / "pipeline.py", root=root), root=root, store=store, env_file="dev.env"
    )
    assert result.ok
    (e,) = result.executions
    out = e.outputs["output"]["param"]
    assert (
        out["token"] == hashlib.sha256(b"from-file").hexdigest()
        and out["user"] == "env-user"
        and out["scratch"] is True
    )
    assert Path(out["data"]) == (store / "volumes" / "shared").resolve()
    assert (store / "volumes" / "shared" / "seen").is_file()  # a claim outlives the task
    # No value is stored anywhere in the store's database or run folders.
    for path in store.rglob("*"):
        if path.is_file():
            assert b"from-file" not in path.read_bytes(), path


def test_a_missing_secret_is_unset_and_said_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    monkeypatch.delenv("PF_TEST_TOKEN", raising=False)
    monkeypatch.delenv("PF_TEST_USER", raising=False)
    result = run_pipeline(
        compile_file(root / "pipeline.py", root=root), root=root, store=tmp_path / "s"
    )
    assert result.ok
    (e,) = result.executions
    assert e.outputs["output"]["param"]["token"] is None
    log = Path(e.log_path).read_text()
    assert "PF_TEST_TOKEN (key 'token' of secret 'api') is neither in the environment" in log


def test_the_cli_reads_the_stacks_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, 'target = "local"\nenv_file = "dev.env"')
    (root / "dev.env").write_text("PF_TEST_TOKEN=cli-token\n")
    monkeypatch.delenv("PF_TEST_TOKEN", raising=False)
    monkeypatch.setenv("PORTAFLOW_STORE", str(tmp_path / "store"))
    got = CliRunner().invoke(run_cmd, [str(root / "pipeline.py"), "--plain"])
    assert got.exit_code == 0, got.output
    (out,) = (tmp_path / "store" / "runs").glob("*/probe/outputs/output.json")
    assert json.loads(out.read_text())["token"] == hashlib.sha256(b"cli-token").hexdigest()


def test_a_bad_env_file_is_a_run_error(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "bad.env").write_text("PF_TEST_TOKEN\n")
    p = compile_file(root / "pipeline.py", root=root)
    with pytest.raises(RunError, match=r"bad.env:1: expected KEY=VALUE"):
        run_pipeline(p, root=root, store=tmp_path / "s", env_file="bad.env")
    with pytest.raises(RunError, match="cannot read the env_file"):
        run_pipeline(p, root=root, store=tmp_path / "s", env_file="missing.env")
    with pytest.raises(EnvFileError):
        read_env_file(root / "bad.env")


def test_volume_path_in_a_pod_locally_and_without_mounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VOLUMES_ENV, json.dumps({"/data": str(tmp_path)}))
    assert volume_path("/data") == tmp_path
    monkeypatch.delenv(VOLUMES_ENV)
    assert volume_path(str(tmp_path)) == tmp_path  # mounted: the mount path itself
    fallback = volume_path("/no/such/mount")
    assert fallback.is_dir() and fallback == volume_path("/no/such/mount")


@pytest.mark.parametrize("target", ["argo", "kfp", "airflow"])
def test_manifests_name_secrets_never_their_values(target: str) -> None:
    """The example's local.env value never reaches a manifest; the key reference does."""
    pipeline = compile_file(EXAMPLE / "pipeline.py", root=EXAMPLE)
    text = "".join(f.text for f in load(target)(pipeline, options=EmitOptions()).files)
    assert "local-placeholder" not in text
    assert "API_TOKEN" in text and "datasets" in text and "/dev/shm" in text


def _emit_errors(tmp_path: Path, target: str, body: str) -> list[str]:
    src = "from portaflow import Volume, pipeline, step\n\n" + textwrap.dedent(body)
    (tmp_path / "pipeline.py").write_text(src)
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    with pytest.raises(BackendError) as info:
        load(target)(p, options=EmitOptions())
    return [f"{m.code} {m.message} {m.hint}" for m in info.value.messages]


def test_argo_refuses_a_volume_over_the_task_protocol_paths(tmp_path: Path) -> None:
    (msg,) = _emit_errors(
        tmp_path,
        "argo",
        """
        @step(volumes=[Volume.empty_dir("/portaflow")])
        def a() -> int:
            return 1

        @pipeline
        def p():
            a()
        """,
    )
    assert msg.startswith("PF530") and "/portaflow" in msg and "mount it elsewhere" in msg


def test_kfp_refuses_a_read_only_claim(tmp_path: Path) -> None:
    (msg,) = _emit_errors(
        tmp_path,
        "kfp",
        """
        @step(volumes=[Volume.pvc("/data", claim="ds", read_only=True)])
        def a() -> int:
            return 1

        @pipeline
        def p():
            a()
        """,
    )
    assert msg.startswith("PF630") and "read-only" in msg and "Argo or Airflow" in msg
