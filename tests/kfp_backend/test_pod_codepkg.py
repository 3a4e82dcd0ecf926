"""The KFP pod test of issue 14: a compiled package-mode spec runs in a bare Python.

`portaflow publish` writes the code package to the moto S3 server. Each executor of the
container flavour then runs exactly as its pod would: its command and args with KFP's
placeholders substituted the way the launcher does (a parameter's value, an output
parameter's file), its env and the platform spec's `fieldPathAsEnv`, in a venv holding
only s3fs (tests/podkit.py): no portaflow, no project code, no kfp. KFP delivers the
archive through the bootstrap's own fetch from the store (backends/kfp/codeboot.py), so
nothing is placed in the pod beforehand. Every output equals `portaflow run`'s; a
tampered archive fails with the bootstrap's one line. The python flavour runs under
kfp.local, whose environment holds portaflow, yet the tasks import it from the package.
"""

from __future__ import annotations

import builtins
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from podkit import bare_pod_python, local_outputs, run_pod
from portaflow.compiler.cli import main
from s3kit import S3Server

from .checks import parse

REPO = Path(__file__).resolve().parents[2]
_PLACEHOLDER = re.compile(r"\{\{\$\.(inputs|outputs)\.parameters\['([^']+)'\](\.output_file)?\}\}")
_ARTIFACT = re.compile(r"\{\{\$\.outputs\.artifacts\['([^']+)'\]\.path\}\}")


def _project(tmp_path: Path, store: str, server: S3Server) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "examples" / "quickstart" / "pipeline.py", root / "pipeline.py")
    options = json.dumps({"client_kwargs": {"endpoint_url": server.endpoint}})
    (root / "pyproject.toml").write_text(
        '[project]\nname = "quickstart"\nversion = "0"\n\n'
        f'[tool.portaflow.stacks.prod]\ntarget = "kfp"\nstore = "{store}"\n'
        f"store_options = '{options}'\n"
    )
    return root


def _publish(root: Path, server: S3Server) -> tuple[str, str]:
    published = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=server.env()
    )
    assert published.exit_code == 0, published.output
    digest, uri = published.stdout.split()
    return digest, uri


def _compile(root: Path, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    out = CliRunner().invoke(
        main, ["compile", str(root / "pipeline.py"), "--stack", "prod", *extra]
    )
    assert out.exit_code == 0, out.output
    spec, platform = parse(out.stdout)
    assert platform is not None
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


@pytest.fixture(scope="module")
def python() -> Path:
    return bare_pod_python(("portaflow", "kfp"))


class Pod:
    """Runs one executor of the compiled spec as KFP's pod for it would."""

    def __init__(
        self,
        spec: dict[str, Any],
        k8s: dict[str, Any],
        tmp: Path,
        server: S3Server,
        python: Path,
        run_id: str,
    ) -> None:
        self.spec, self.k8s, self.tmp, self.server = spec, k8s, tmp, server
        self.python, self.run_id, self.count = python, run_id, 0

    def run(self, task: str, params: dict[str, Any]) -> tuple[int, str, Any]:
        self.count += 1
        pod = self.tmp / f"pod-{self.count}-{task}"
        exe = f"exec-{task.replace('_', '-')}"
        container = self.spec["deploymentSpec"]["executors"][exe]["container"]
        outputs: dict[str, Path] = {}

        def sub(m: re.Match[str]) -> str:
            side, name, _attr = m.groups()
            if side == "inputs":  # KFP substitutes a STRING as raw text, the rest as JSON
                value = params[name]
                return value if isinstance(value, str) else json.dumps(value)
            outputs[name] = pod / "outputs" / name
            return str(outputs[name])

        def art(m: re.Match[str]) -> str:
            return str(pod / "artifacts" / m.group(1))

        argv = [container["command"][0]]
        for i, a in enumerate([*container["command"][1:], *container["args"]], start=1):
            argv.append(a if i == 2 else _ARTIFACT.sub(art, _PLACEHOLDER.sub(sub, a)))
        assert all("{{$" not in a for i, a in enumerate(argv) if i != 2), argv
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        fields = {"metadata.labels['pipeline/runid']": self.run_id, "metadata.name": pod.name}
        for f in self.k8s[exe].get("fieldPathAsEnv", []):
            env[f["name"]] = fields[f["fieldPath"]]
        done = run_pod(argv, python=self.python, pod=pod, env=env, server=self.server)
        out = outputs.get("Output")
        value = None
        if out is not None and out.exists():
            text = out.read_text()
            value = json.loads(text) if text[:1] in "[{0123456789-" else text
        return done.returncode, done.stderr, value


def test_the_container_flavour_runs_in_a_bare_python_with_the_published_package(
    s3_server: S3Server, s3_store: str, tmp_path: Path, python: Path
) -> None:
    root = _project(tmp_path, s3_store, s3_server)
    digest, uri = _publish(root, s3_server)
    assert uri == f"{s3_store}/code/{digest}.tar"
    spec, k8s = _compile(root, "--kfp-executor", "container")
    for exe in spec["deploymentSpec"]["executors"].values():
        command = exe["container"]["command"]
        assert command[:2] == ["python", "-c"] and command[-1] == "--"
        assert command[command.index("--code-sha256") + 1] == digest
        assert command[command.index("--code-uri") + 1] == uri

    want = {k: v["value"] for k, v in local_outputs(root).items()}

    run_id = str(uuid.uuid4())
    pods = Pod(spec, k8s, tmp_path, s3_server, python, run_id)
    got: dict[str, Any] = {}
    code, err, got["make_numbers"] = pods.run("make_numbers", {"count": 5})
    assert code == 0, err
    squares = []
    for i, x in enumerate(got["make_numbers"]):
        code, err, got[f"square[{i}]"] = pods.run("square", {"x": x})
        assert code == 0, err
        squares.append(got[f"square[{i}]"])
    code, err, got["total"] = pods.run("total", {"values": squares})
    assert code == 0, err
    code, err, got["report"] = pods.run(
        "report", {"result": got["total"], "label": "sum of squares"}
    )
    assert code == 0, err
    assert got == want
    # Every pod unpacked the one digest in its own cache, and wrote its record to the store.
    assert all(
        [p.name for p in (d / "code-cache").iterdir()] == [digest] for d in tmp_path.glob("pod-*")
    )
    shown = CliRunner().invoke(
        main, ["runs", "show", run_id, "--json", "--stack", "prod", "--root", str(root)]
    )
    assert shown.exit_code == 0, shown.output
    keys = sorted(e["key"].split("[")[0] for e in json.loads(shown.output)["executions"])
    assert keys == ["make_numbers", "report", *["square"] * 5, "total"]


def test_a_tampered_archive_fails_the_pod_with_one_clear_line(
    s3_server: S3Server, s3_store: str, tmp_path: Path, python: Path
) -> None:
    import s3fs

    root = _project(tmp_path, s3_store, s3_server)
    digest, uri = _publish(root, s3_server)
    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": s3_server.endpoint}
    )
    data = bytearray(fs.cat_file(uri))
    data[data.index(b"def square") + 4] ^= 0x20  # `def Square`: one byte of the step's code
    fs.pipe_file(uri, bytes(data))

    spec, k8s = _compile(root, "--kfp-executor", "container")
    code, err, value = Pod(spec, k8s, tmp_path, s3_server, python, "r1").run("square", {"x": 3})
    assert code == 2 and value is None
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("portaflow bootstrap: error: code archive ")
    assert f"which does not match the manifest's {digest}; run portaflow publish" in lines[0]


@pytest.mark.slow
def test_the_python_flavour_runs_from_the_package_under_kfp_local(
    s3_server: S3Server,
    s3_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kfp.local
    from kfp.components import load_component_from_file

    root = _project(tmp_path, s3_store, s3_server)
    digest, _uri = _publish(root, s3_server)
    out = tmp_path / "deploy"
    done = CliRunner().invoke(
        main, ["compile", str(root / "pipeline.py"), "--stack", "prod", "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    spec, _ = parse((out / "quickstart.yaml").read_text())
    source = spec["deploymentSpec"]["executors"]["exec-square"]["container"]["command"][3]
    assert f"_portaflow_code({digest!r}, " in source
    want = {k: v["value"] for k, v in local_outputs(root).items()}

    cache = tmp_path / "code-cache"
    monkeypatch.setenv("PORTAFLOW_CODE_CACHE", str(cache))
    monkeypatch.setenv("PORTAFLOW_KFP_RECORDS", str(tmp_path / "records"))
    monkeypatch.setenv("PORTAFLOW_RUN_ID", "kfp-local-run")
    monkeypatch.chdir(tmp_path)  # not the project: the code comes from the package
    monkeypatch.delenv("PORTAFLOW_ROOT", raising=False)
    kfp.local.init(
        runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp")
    )
    original_print = builtins.print
    try:
        load_component_from_file(str(out / "quickstart.yaml"))()
    finally:
        builtins.print = original_print  # kfp.local can leave it swapped (see conformance)
    assert [p.name for p in cache.iterdir()] == [digest]
    lines = (tmp_path / "records" / "records.jsonl").read_text().splitlines()
    got = {}
    for line in map(json.loads, lines):
        assert line["state"] == "succeeded", line
        got.setdefault(line["task"], []).append(line["outputs"]["output"])
    assert got["report"] == [want["report"]] and got["total"] == [want["total"]]
    assert sorted(got["square"]) == sorted(want[f"square[{i}]"] for i in range(5))
