"""The Airflow pod test of issue 14: a package-mode DAG's pods run in a bare Python.

`portaflow publish` writes the code package to the moto S3 server and the DAG is
compiled for the kubernetes flavour from a stack with that store. For each task the
real Airflow (its venv; tests/airflow/af_pods.py) builds the pod `PortaflowPodTask`
would create, with the task container's argument computed by the operator from the
upstream pods' XCom values. Then the pod runs here as Kubernetes would run it, in a
venv holding only s3fs (tests/podkit.py: no portaflow, no project code): first its init
container, which fetches the archive into the shared volume, then the task container,
which checks the archive, unpacks it and runs the task, leaving the XCom file the
operator's sidecar reads. The outputs equal `portaflow run`'s; a tampered archive
fails the task container with the bootstrap's one line.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dagkit import Airflow
from podkit import bare_pod_python, local_outputs, pod_argv, run_pod
from portaflow.backends.airflow.names import CODE_DIR, CODE_PATH, CODE_VOLUME, XCOM_RETURN, dag_id
from portaflow.compiler.cli import main
from s3kit import S3Server

pytestmark = pytest.mark.slow
AF_PODS = Path(__file__).with_name("af_pods.py")

PIPELINE = """
from portaflow import pipeline, step


@step
def make(n: int) -> bytes:
    return bytes(range(n))


@step
def size(data: bytes) -> int:
    return len(data)


@step
def label(count: int, text: str) -> str:
    return f"{text}: {count}"


@pipeline
def sizes(n: int = 5, text: str = "it's {{ not jinja }}"):
    label(size(make(n)), text)
"""


def _project(tmp_path: Path, store: str, server: S3Server) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    options = json.dumps({"client_kwargs": {"endpoint_url": server.endpoint}})
    (root / "pyproject.toml").write_text(
        '[project]\nname = "sizes"\nversion = "0"\n\n'
        f'[tool.portaflow.stacks.prod]\ntarget = "airflow"\nstore = "{store}"\n'
        f"store_options = '{options}'\nstore_secret = \"ml-store-creds\"\n"
    )
    return root


def _publish(root: Path, server: S3Server) -> str:
    done = CliRunner().invoke(
        main, ["publish", str(root / "pipeline.py"), "--stack", "prod"], env=server.env()
    )
    assert done.exit_code == 0, done.output
    return str(done.stdout.split()[0])


@pytest.fixture(scope="module")
def python() -> Path:
    return bare_pod_python()


class Pods:
    """Builds each task's pod with the real operator and runs its containers locally."""

    def __init__(
        self, airflow: Airflow, dags: Path, tmp: Path, server: S3Server, python: Path
    ) -> None:
        self.airflow, self.dags, self.tmp, self.server, self.python = (
            airflow,
            dags,
            tmp,
            server,
            python,
        )
        self.run_id = f"manual__{uuid.uuid4()}"
        self.xcoms: dict[str, Any] = {}
        self.specs: dict[str, Any] = {}

    def build(self, task: str, params: dict[str, Any]) -> dict[str, Any]:
        job = self.tmp / f"job-{task}.json"
        job.write_text(
            json.dumps(
                {
                    "dag_id": dag_id("sizes"),
                    "task_id": task,
                    "run_id": self.run_id,
                    "params": params,
                    "xcoms": self.xcoms,
                }
            )
        )
        env = {**self.airflow.env, "PORTAFLOW_ARTIFACT_STORE": str(self.tmp / "artifacts")}
        proc = subprocess.run(
            [str(self.airflow.venv.python), str(AF_PODS), str(self.dags), str(job)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-8000:]
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
        assert answer["import_errors"] == {}
        pod: dict[str, Any] = answer["pod"]
        self.specs[task] = pod
        return pod

    def run(self, task: str, params: dict[str, Any]) -> tuple[int, str]:
        spec = self.build(task, params)["spec"]
        pod = self.tmp / f"pod-{task}"
        secret = self.server.env()  # what envFrom of the store's secret gives the containers
        (init,) = spec["initContainers"]
        init_env = {e["name"]: e["value"] for e in init.get("env", [])}
        done = run_pod(
            pod_argv(init["command"], {}, pod), python=self.python, pod=pod, env={**secret, **init_env}
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        main_c = spec["containers"][0]
        argv = pod_argv(main_c["command"], {}, pod)
        args = [a.replace(XCOM_RETURN, str(pod / "xcom" / "return.json")) for a in main_c["args"]]
        env = {e["name"]: e["value"] for e in main_c.get("env", []) if "value" in e}
        done = run_pod([*argv, *args], python=self.python, pod=pod, env={**secret, **env})
        if done.returncode == 0:
            self.xcoms[task] = json.loads((pod / "xcom" / "return.json").read_text())
        return done.returncode, done.stderr


def _compile(root: Path, dags: Path) -> None:
    done = CliRunner().invoke(
        main, ["compile", str(root / "pipeline.py"), "--stack", "prod", "-o", str(dags)]
    )
    assert done.exit_code == 0, done.output


def test_the_dag_runs_in_bare_pods_with_the_published_package(
    airflow: Airflow, s3_server: S3Server, s3_store: str, tmp_path: Path, python: Path
) -> None:
    root = _project(tmp_path, s3_store, s3_server)
    digest = _publish(root, s3_server)
    dags = tmp_path / "dags"
    _compile(root, dags)
    text = (dags / f"{dag_id('sizes')}.py").read_text()
    assert f"'digest': '{digest}'" in text and "AWS_SECRET" not in text

    pods = Pods(airflow, dags, tmp_path, s3_server, python)
    params = {"n": 5, "text": "it's {{ not jinja }}"}
    for task in ("make", "size", "label"):
        code, err = pods.run(task, params)
        assert code == 0, err
    spec = pods.specs["make"]["spec"]
    (init,) = spec["initContainers"]
    main_c = spec["containers"][0]
    assert init["image"] == main_c["image"]
    assert {"secretRef": {"name": "ml-store-creds"}} in init["envFrom"]
    assert {"name": CODE_VOLUME, "emptyDir": {}} in spec["volumes"]
    for c in (init, main_c):
        assert {"mountPath": CODE_DIR, "name": CODE_VOLUME} in c["volumeMounts"]
    command = main_c["command"]
    assert command[command.index("--code-path") + 1] == CODE_PATH
    assert command[command.index("--code-sha256") + 1] == digest

    want = local_outputs(root)
    assert pods.xcoms["size"] == {"output": want["size"]["value"]}
    assert (
        pods.xcoms["label"]
        == {"output": want["label"]["value"]}
        == {"output": "it's {{ not jinja }}: 5"}
    )
    from portaflow.task import read_artifact

    made = read_artifact(Path(pods.xcoms["make"]["output"]))
    assert made.sha256 == want["make"]["sha256"]  # the artifact's bytes equal the local run's
    # Every pod unpacked the one digest, and its task recorded itself in the store.
    assert all(
        [p.name for p in (d / "code-cache").iterdir()] == [digest] for d in tmp_path.glob("pod-*")
    )
    shown = CliRunner().invoke(
        main, ["runs", "list", "--json", "--stack", "prod", "--root", str(root)]
    )
    assert shown.exit_code == 0, shown.output
    assert pods.run_id in [r["id"] for r in json.loads(shown.output)]


def test_a_tampered_archive_fails_the_task_container_with_one_clear_line(
    airflow: Airflow, s3_server: S3Server, s3_store: str, tmp_path: Path, python: Path
) -> None:
    import s3fs

    root = _project(tmp_path, s3_store, s3_server)
    digest = _publish(root, s3_server)
    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": s3_server.endpoint}
    )
    uri = f"{s3_store}/code/{digest}.tar"
    data = bytearray(fs.cat_file(uri))
    data[data.index(b"def size") + 4] ^= 0x20  # `def Size`: one byte of the step's code
    fs.pipe_file(uri, bytes(data))
    dags = tmp_path / "dags"
    _compile(root, dags)
    code, err = Pods(airflow, dags, tmp_path, s3_server, python).run("make", {"n": 3, "text": "x"})
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("portaflow bootstrap: error: code archive ")
    assert f"which does not match the manifest's {digest}; run portaflow publish" in lines[0]
