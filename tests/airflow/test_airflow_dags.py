"""Every generated DAG file imports into a real Airflow (DagBag) with exactly the IR's graph; pods carry the IR."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import dagkit
from dagkit import Airflow, Compiled

pytestmark = pytest.mark.slow


def test_every_dag_imports_with_the_ir_graph(
    airflow: Airflow, compiled: dict[str, Compiled]
) -> None:
    answer = airflow.driver("import", str(airflow.home / "dags"))
    assert answer["import_errors"] == {}
    for c in compiled.values():
        dag = answer["dags"][c.dag_id]
        dagkit.check_graph(c.pipeline, dag)
        assert [p.name for p in c.pipeline.params] == list(dag["params"])
        assert {p.name: p.default for p in c.pipeline.params if p.has_default} == dag["params"]
        assert "portaflow" in dag["tags"] and c.pipeline.source in dag["doc_md"]
        assert Path(dag["fileloc"]).name == c.file


@pytest.fixture(scope="module")
def pod_dags(airflow: Airflow, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dags = tmp_path_factory.mktemp("k8s-dags")
    pipelines = {}
    for name, folder in dagkit.all_sources().items():
        if (
            name in dagkit.LOCAL_FLAVOUR_ONLY
        ):  # PF731, asserted in tests/airflow/test_airflow_golden.py
            continue
        p, _ = dagkit.compile_example(folder, dags, flavour="kubernetes")
        pipelines[name] = p
    return {
        "pipelines": pipelines,
        "import": airflow.driver("import", str(dags)),
        "pods": airflow.driver("pods", str(dags)),
    }


def test_kubernetes_flavour_imports_with_the_ir_graph(pod_dags: dict[str, Any]) -> None:
    from portaflow.backends.airflow.names import dag_id

    assert pod_dags["import"]["import_errors"] == {}
    for p in pod_dags["pipelines"].values():
        dag = pod_dags["import"]["dags"][dag_id(p.name)]
        dagkit.check_graph(p, dag)
        for t in p.tasks:
            assert dag["tasks"][t.id.rsplit(".", 1)[-1] if not t.scope else t.id]["operator"]


def test_pod_specs_carry_image_command_resources_env_and_secrets(pod_dags: dict[str, Any]) -> None:
    pods = pod_dags["pods"]["pods"]
    train = pods["train"]["spec"]
    (container,) = train["containers"][:1]
    assert container["image"] == "ghcr.io/acme/train:1.4"
    assert container["command"] == ["python", "-m", "portaflow.xcom"]
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OMP_NUM_THREADS"] == "2" and env["TEMPLATE"] == "{{ ds }}"  # never rendered
    assert container["envFrom"] == [{"secretRef": {"name": "aws-creds"}}]
    assert train["nodeSelector"] == {"pool": "gpu"}
    assert train["tolerations"] == [{"effect": "NoSchedule", "key": "gpu", "operator": "Exists"}]
    for pod in pods.values():  # pod names are DNS labels (task ids may hold `_`)
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", pod["metadata"]["name"])
    report = pods["report"]["spec"]["containers"][0]
    assert report["image"] == "python:3.11-slim"  # the default image
    info = pod_dags["import"]["dags"]["pods"]["tasks"]["train"]
    assert info["retries"] == 3 and info["execution_timeout"] == 3600


def test_pod_specs_carry_volumes_secret_keys_and_limits(pod_dags: dict[str, Any]) -> None:
    """examples/pod_features: V1Volumes with their mounts, a secretKeyRef, limits above requests."""
    pods = pod_dags["pods"]["pod_features"]
    shards = pods["write_shards"]["spec"]
    (container,) = shards["containers"][:1]
    assert container["resources"] == {
        "limits": {"cpu": "1", "memory": "256Mi"},
        "requests": {"cpu": "250m", "memory": "128Mi"},
    }
    ours = [v for v in shards["volumes"] if v["name"].startswith("volume-")]  # not the xcom one
    assert ours == [{"name": "volume-0", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}]
    assert {"name": "volume-0", "mountPath": "/scratch"} in container["volumeMounts"]
    publish = pods["publish"]["spec"]
    (container,) = publish["containers"][:1]
    assert [v for v in publish["volumes"] if v["name"].startswith("volume-")] == [
        {"name": "volume-0", "emptyDir": {"medium": "Memory"}},
        {"name": "volume-1", "persistentVolumeClaim": {"claimName": "datasets"}},
    ]
    mounts = [(m["name"], m["mountPath"]) for m in container["volumeMounts"]]
    assert ("volume-0", "/dev/shm") in mounts and ("volume-1", "/data") in mounts
    token = [e for e in container["env"] if e["name"] == "API_TOKEN"]
    assert token == [
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"key": "token", "name": "api"}}}
    ]
    assert "local-placeholder" not in str(pods)  # the local env_file never reaches a pod
