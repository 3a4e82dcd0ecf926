"""`portaflow run` mirrored into a real MLflow tracking server: runs, nested runs, metrics, model registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlflowenv import Server, free_port, need
from portaflow.backends.local import Store, run_pipeline
from portaflow.backends.local.mlflowlog import mirror
from portaflow.compiler import compile_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLI = "from portaflow.compiler.cli import main; main()"


# --------------------------------------------------------------------------- helpers


def api(server: Server, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call MLflow's REST API (GET with a query, or POST with a JSON body)."""
    url = f"{server.url}/api/2.0/mlflow/{path}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def search(server: Server, experiment: str, where: str) -> list[dict[str, Any]]:
    exp = api(
        server, "experiments/get-by-name?" + urllib.parse.urlencode({"experiment_name": experiment})
    )
    found = api(
        server,
        "runs/search",
        {
            "experiment_ids": [exp["experiment"]["experiment_id"]],
            "filter": where,
            "max_results": 1000,
        },
    )
    return list(found.get("runs", []))


def pairs(run: dict[str, Any], field: str) -> dict[str, Any]:
    return {p["key"]: p["value"] for p in run["data"].get(field, [])}


def parent_and_children(
    server: Server, experiment: str, run_id: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    parents = search(
        server,
        experiment,
        f"tags.`portaflow.run_id` = '{run_id}' and tags.`portaflow.kind` = 'pipeline-run'",
    )
    assert len(parents) == 1, parents
    parent = parents[0]
    children = search(server, experiment, f"tags.mlflow.parentRunId = '{parent['info']['run_id']}'")
    by_key = {pairs(c, "tags")["portaflow.key"]: c for c in children}
    assert len(by_key) == len(children), "one nested run per execution"
    return parent, by_key


def project_copy(tmp_path: Path, example: str, stack: str = "") -> Path:
    project = tmp_path / example
    shutil.copytree(
        EXAMPLES / example, project, ignore=shutil.ignore_patterns(".portaflow", "__pycache__")
    )
    if stack:
        with (project / "pyproject.toml").open("a") as fh:
            fh.write(f'\n[tool.portaflow.stacks.tracked]\ntarget = "local"\n{stack}\n')
    return project


def cli_run(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", CLI, "run", "pipeline.py", "--plain", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )


def latest_run(project: Path) -> str:
    with Store(project / ".portaflow") as st:
        return str(st.list_runs(limit=1)[0]["id"])


# --------------------------------------------------------------------------- the ML example


@pytest.mark.slow
def test_ml_example_in_mlflow_then_an_all_cached_run(tmp_path: Path, mlflow_server: Server) -> None:
    try:
        import sklearn  # noqa: F401  (the ML example's steps)
    except ImportError as exc:
        need("scikit-learn is not installed", exc)
    project = project_copy(tmp_path, "ml", f'mlflow_tracking_uri = "{mlflow_server.url}"')
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run([*git, "-C", str(project), "add", "."], check=True)
    subprocess.run([*git, "-C", str(project), "commit", "-qm", "ml"], check=True)
    head = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    pipeline = compile_file(project / "pipeline.py", root=project)
    code_hash = {s.ref: s.code_hash for s in pipeline.steps}

    done = cli_run(project, "--stack", "tracked", "--param", "n_estimators=10", "-j", "2")
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    first = latest_run(project)
    with Store(project / ".portaflow") as st:
        executions = {r["key"]: r for r in st.executions(first)}
        rmse = next(m["value"] for m in st.metrics(first) if m["name"] == "rmse")
        artifacts = {a["name"]: a["uri"] for a in st.model_versions("regressor")[0]["artifacts"]}

    parent, children = parent_and_children(mlflow_server, "ml_pipeline", first)
    assert parent["info"]["status"] == "FINISHED"
    assert parent["info"]["run_name"] == first
    exp_id, parent_id = parent["info"]["experiment_id"], parent["info"]["run_id"]
    link = f"portaflow: run {first} is in MLflow: {mlflow_server.url}/#/experiments/{exp_id}/runs/{parent_id}"
    assert link in done.stderr.splitlines()
    assert "View run" not in done.stdout  # MLflow's own line per run is kept off stdout
    assert pairs(parent, "params") == {
        "drift_shift": "0.0",
        "max_rmse": "60.0",
        "n_estimators": "10",
    }
    parent_tags = pairs(parent, "tags")
    assert parent_tags["mlflow.source.git.commit"] == parent_tags["portaflow.git_commit"] == head
    assert parent_tags["portaflow.pipeline"] == "ml_pipeline"
    assert parent_tags["portaflow.status"] == "succeeded"
    assert parent_tags["portaflow.store"] == str(project / ".portaflow")
    assert pairs(parent, "metrics")["evaluate.rmse"] == rmse
    ran = {k for k, r in executions.items() if r["state"] == "succeeded"}
    assert set(children) == ran  # skipped branches (alert, the retrain) are not runs
    for key, child in children.items():
        tags = pairs(child, "tags")
        assert child["info"]["status"] == "FINISHED"
        assert tags["portaflow.run_id"] == first
        assert tags["portaflow.cache_hit"] == "false"
        assert tags["portaflow.task"] == executions[key]["task"]
        assert tags["portaflow.attempt"] == "1"
        assert child["info"]["run_name"] == key
        assert tags["portaflow.code_hash"] == code_hash[executions[key]["step"]]
        assert tags["portaflow.git_commit"] == head
    assert pairs(children["evaluate"], "metrics") == {"rmse": rmse}
    assert pairs(children["train"], "params") == {"n_estimators": "10"}
    assert pairs(children["train"], "tags")["portaflow.output.model"] == artifacts["train.model"]
    assert pairs(children["check_drift"], "metrics")["drifted_features"] == 0
    assert pairs(children["evaluate"], "tags")["portaflow.output.rmse"] == json.dumps(rmse)
    assert pairs(children["check_drift"], "tags")["portaflow.output.drifted"] == "false"

    versions = api(
        mlflow_server,
        "model-versions/search?" + urllib.parse.urlencode({"filter": "name='regressor'"}),
    )["model_versions"]
    assert [v["version"] for v in versions] == ["1"]
    version_tags = pairs({"data": {"tags": versions[0]["tags"]}}, "tags")
    assert versions[0]["run_id"] == parent["info"]["run_id"]
    assert versions[0]["source"] == f"runs:/{parent['info']['run_id']}"
    assert version_tags["portaflow.model_version"] == "1"
    assert version_tags["portaflow.run_id"] == first
    model_uri = version_tags["portaflow.artifact.train.model"]
    assert model_uri == artifacts["train.model"] and (Path(model_uri) / "data.joblib").is_file()

    # The same run again: every step a cache hit; a new MLflow run whose nested runs say so.
    # (in-process this time: the stack's key was proven above, mlflow is imported already)
    again = run_pipeline(
        pipeline, root=project, params={"n_estimators": 10}, mlflow_tracking_uri=mlflow_server.url
    )
    assert again.status == "succeeded" and again.by_state("succeeded") == []
    second = again.run_id
    assert second != first
    parent2, children2 = parent_and_children(mlflow_server, "ml_pipeline", second)
    assert parent2["info"]["status"] == "FINISHED"
    assert set(children2) == ran
    for key, child in children2.items():
        tags = pairs(child, "tags")
        assert tags["portaflow.cache_hit"] == "true"
        assert tags["portaflow.state"] == "cached"
        assert tags["portaflow.cached_from"] == f"{first}/{key}"
        assert child["info"]["status"] == "FINISHED"
    assert pairs(children2["evaluate"], "metrics") == {"rmse": rmse}  # the reused result's
    versions = api(
        mlflow_server,
        "model-versions/search?" + urllib.parse.urlencode({"filter": "name='regressor'"}),
    )["model_versions"]
    assert sorted(v["version"] for v in versions) == ["1", "2"]


# --------------------------------------------------------------------------- configuration


def test_env_var_alone_turns_it_on_and_mirroring_again_adds_nothing(
    tmp_path: Path, mlflow_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_copy(tmp_path, "quickstart")
    pipeline = compile_file(project / "pipeline.py", root=project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    result = run_pipeline(pipeline, root=project, params={"count": 2}, isolation="process")
    assert result.status == "succeeded"
    parent, children = parent_and_children(mlflow_server, "quickstart", result.run_id)
    assert set(children) == {"make_numbers", "square[0]", "square[1]", "total", "report"}
    assert pairs(children["report"], "params") == {"label": "sum of squares", "result": "5"}
    # Mirroring the same run again (what a resume does) finds the parent and adds nothing.
    with Store(project / ".portaflow") as st:
        again = mirror(st, result, pipeline, configured=None)
    assert again == parent["info"]["run_id"]
    _, children_again = parent_and_children(mlflow_server, "quickstart", result.run_id)
    assert {k: c["info"]["run_id"] for k, c in children_again.items()} == {
        k: c["info"]["run_id"] for k, c in children.items()
    }


def test_empty_env_var_turns_off_the_stack_key(tmp_path: Path, mlflow_server: Server) -> None:
    project = project_copy(tmp_path, "quickstart", f'mlflow_tracking_uri = "{mlflow_server.url}"')
    done = cli_run(project, "--stack", "tracked", env={"MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 0, done.stderr
    run_id = latest_run(project)
    exp = api(mlflow_server, "experiments/search", {"max_results": 1000})
    ids = [e["experiment_id"] for e in exp["experiments"]]
    found = api(
        mlflow_server,
        "runs/search",
        {"experiment_ids": ids, "filter": f"tags.`portaflow.run_id` = '{run_id}'"},
    )
    assert found.get("runs", []) == []


def test_unreachable_server_warns_and_the_run_succeeds(tmp_path: Path, mlflow_client: None) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    project = project_copy(tmp_path, "quickstart", f'mlflow_tracking_uri = "{url}"')
    start = time.monotonic()
    done = cli_run(project, "--stack", "tracked")
    assert done.returncode == 0, done.stderr
    assert f"warning PF420: MLflow at {url} did not take run" in done.stderr
    assert "the run is in the local store only" in done.stderr
    assert f"= hint: check the server (`curl {url}/health`)" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - start < 60  # no minutes of retries
    with Store(project / ".portaflow") as st:
        assert st.get_run(latest_run(project))["status"] == "succeeded"


def test_missing_mlflow_warns_and_the_run_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = project_copy(tmp_path, "quickstart")
    pipeline = compile_file(project / "pipeline.py", root=project)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an interpreter without it sees
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = run_pipeline(
        pipeline, root=project, isolation="process", mlflow_tracking_uri="http://127.0.0.1:1"
    )
    assert result.status == "succeeded"
    err = capsys.readouterr().err
    assert "warning PF421: MLflow tracking is configured (http://127.0.0.1:1)" in err
    assert "pip install 'portaflow[mlflow]'" in err


def test_without_a_tracking_uri_mlflow_is_never_imported(tmp_path: Path) -> None:
    project = project_copy(tmp_path, "quickstart")
    script = (
        "import sys\n"
        "from portaflow.compiler import compile_file\n"
        "from portaflow.backends.local import run_pipeline\n"
        f"p = compile_file({str(project / 'pipeline.py')!r}, root={str(project)!r})\n"
        f"r = run_pipeline(p, root={str(project)!r}, isolation='process')\n"
        "print(r.status, sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "succeeded []"


# --------------------------------------------------------------------------- failures, resume, registry

TINY = """
import os
from pathlib import Path

from portaflow import Model, log_metric, pipeline, step


@step
def fit(k: int = 2) -> int:
    log_metric("score", k * 1.5)
    return k


@step
def flaky(k: int) -> int:
    if (Path(os.environ["PORTAFLOW_ROOT"]) / "fail").exists():
        raise RuntimeError("told to fail")
    return k + 1


@pipeline(model=Model(name="team/model"))
def tiny(k: int = 2):
    flaky(fit(k))
"""


def test_failed_run_then_resume_is_one_mlflow_run_and_a_refused_model_name_warns(
    tmp_path: Path,
    mlflow_server: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "pipeline.py").write_text(TINY)
    (tmp_path / "fail").write_text("")
    pipeline = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    url = mlflow_server.url
    failed = run_pipeline(pipeline, root=tmp_path, isolation="process", mlflow_tracking_uri=url)
    assert failed.status == "failed"
    parent, children = parent_and_children(mlflow_server, "tiny", failed.run_id)
    assert parent["info"]["status"] == "FAILED"
    assert pairs(parent, "tags")["portaflow.status"] == "failed"
    assert children["flaky"]["info"]["status"] == "FAILED"
    assert (
        pairs(children["flaky"], "tags")["portaflow.message"] == failed.execution("flaky").message
    )
    assert pairs(children["fit"], "params") == {"k": "2"}
    assert pairs(children["fit"], "metrics") == {"score": 3.0}

    (tmp_path / "fail").unlink()
    resumed = run_pipeline(
        None, root=tmp_path, isolation="process", resume=failed.run_id, mlflow_tracking_uri=url
    )
    assert resumed.status == "succeeded"
    parents = search(
        mlflow_server,
        "tiny",
        f"tags.`portaflow.run_id` = '{failed.run_id}' and tags.`portaflow.kind` = 'pipeline-run'",
    )
    assert [p["info"]["run_id"] for p in parents] == [parent["info"]["run_id"]]
    assert parents[0]["info"]["status"] == "FINISHED"
    assert pairs(parents[0], "tags")["portaflow.status"] == "succeeded"
    runs = search(mlflow_server, "tiny", f"tags.mlflow.parentRunId = '{parent['info']['run_id']}'")
    states = sorted((pairs(r, "tags")["portaflow.key"], r["info"]["status"]) for r in runs)
    # fit is not logged twice; the failed attempt of flaky stays, the successful one is added
    assert states == [("fit", "FINISHED"), ("flaky", "FAILED"), ("flaky", "FINISHED")]

    err = capsys.readouterr().err
    assert "warning PF422: run tiny-" in err
    assert "model 'team/model' version 1 was not registered there" in err
    assert "Names cannot contain '/' or ':'" in err
