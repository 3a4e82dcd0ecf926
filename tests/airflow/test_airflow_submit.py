"""`portaflow submit --target airflow` against a real Airflow 3 started here on 127.0.0.1.

The fixture starts `airflow api-server`, `airflow scheduler` and `airflow dag-processor`
(simple auth manager with a passwords file, LocalExecutor on SQLite), waits for the
API, and stops the three processes by PID afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import dagkit
from airflowenv import airflow_env
from dagkit import Airflow
from portaflow.backends.airflow.cli import submit_cmd

pytestmark = pytest.mark.slow
PASSWORD = "pf-" + secrets.token_hex(8)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(airflow: Airflow, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("airflow-server")
    (home / "dags").mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    env = airflow_env(
        home,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(16),
        AIRFLOW__API__SECRET_KEY=secrets.token_hex(16),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{url}/execution/",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="2",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="2",
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="2",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
        PORTAFLOW_ROOT=str(dagkit.EXAMPLES / "quickstart"),
    )
    subprocess.run(
        [str(airflow.venv.airflow), "db", "migrate"], env=env, check=True, capture_output=True
    )
    commands = {
        "api-server": ["api-server", "-H", "127.0.0.1", "-p", str(port)],
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, args in commands.items():
            log = open(home / f"{name}.log", "wb")
            procs[name] = subprocess.Popen(
                [str(airflow.venv.airflow), *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/version", timeout=5):
                    break
            except OSError:
                dead = [n for n, p in procs.items() if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    logs = "\n".join((home / f"{n}.log").read_text()[-3000:] for n in commands)
                    pytest.fail(f"Airflow did not start ({dead or 'timeout'}):\n{logs}")
                time.sleep(1)
        yield {"url": url, "dags": str(home / "dags"), "home": str(home)}
    finally:
        for p in procs.values():  # stop what this fixture started, by PID (and its children)
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_submit_runs_the_dag_and_follows_it(
    server: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_USERNAME", "admin")
    monkeypatch.setenv("AIRFLOW_PASSWORD", PASSWORD)
    monkeypatch.delenv("AIRFLOW_TOKEN", raising=False)
    pipeline = dagkit.EXAMPLES / "quickstart" / "pipeline.py"
    args = [str(pipeline), "--target", "airflow", "--host", server["url"]]
    args += ["--dags-folder", server["dags"], "--airflow-operator", "local", "-p", "count=3"]
    result = CliRunner().invoke(submit_cmd, args)
    assert result.exit_code == 0, result.output + str(result.exception)
    assert "success" in result.output.splitlines()[-1]
    assert "square[2]" in result.output and "report" in result.output
    assert (Path(server["dags"]) / "quickstart.py").is_file()

    import airflow_client.client as ac

    from portaflow.backends.airflow.submit import fetch_token

    config = ac.Configuration(
        host=server["url"], access_token=fetch_token(server["url"], "admin", PASSWORD)
    )
    with ac.ApiClient(config) as api:
        (run,) = ac.DagRunApi(api).get_dag_runs("quickstart").dag_runs
        got = ac.XComApi(api).get_xcom_entry("quickstart", "total", run.dag_run_id, "return_value")
        value = got.actual_instance.value
        assert value in ({"output": 14}, json.dumps({"output": 14}))  # 1+4+9: --param reached it


def test_submit_without_credentials_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AIRFLOW_TOKEN", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    pipeline = dagkit.EXAMPLES / "quickstart" / "pipeline.py"
    args = [str(pipeline), "--target", "airflow", "--host", "http://127.0.0.1:9"]
    result = CliRunner().invoke(submit_cmd, [*args, "--dags-folder", str(tmp_path)])
    assert result.exit_code == 2 and "AIRFLOW_TOKEN" in result.output
    assert not list(tmp_path.iterdir())  # nothing written
