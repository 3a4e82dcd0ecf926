"""`portaflow submit --target kfp --host URL` through kfp.Client, against a local HTTP server.

The server stands in for the KFP API server (v2beta1 REST API) on 127.0.0.1: it records
every request and answers as KFP does, so the test checks what kfp.Client really sends:
the bearer token, the experiment, and the PipelineSpec we emitted, as a run or, for a
pipeline with a Schedule, as a recurring run with KFP's six-field cron.
"""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from portaflow.backends import EmitOptions
from portaflow.backends.kfp import emit
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main

Request = dict[str, Any]


class _Handler(BaseHTTPRequestHandler):
    requests: list[Request]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.requests.append(
            {"method": "GET", "path": self.path, "auth": self.headers.get("Authorization")}
        )
        self._answer({})  # no experiment of that name yet

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        self.requests.append(
            {
                "method": "POST",
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "body": body,
            }
        )
        if self.path.endswith("/experiments"):
            self._answer({"experiment_id": "exp-1", "display_name": body["display_name"]})
        elif self.path.endswith("/recurringruns"):
            self._answer({"recurring_run_id": "rr-1", "display_name": body["display_name"]})
        elif self.path.endswith("/runs"):
            self._answer({"run_id": "run-1", "display_name": body["display_name"]})
        else:
            self.send_error(404)


@pytest.fixture
def server() -> Iterator[tuple[str, list[Request]]]:
    requests: list[Request] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


PIPELINE = """
from portaflow import pipeline, step{imports}


@step
def hello(name: str) -> str:
    return "hi " + name


@pipeline{decorator}
def greet(name: str = "world"):
    hello(name)
"""


def _project(tmp_path: Path, *, schedule: bool) -> Path:
    src = PIPELINE.format(
        imports=", Schedule" if schedule else "",
        decorator='(schedule=Schedule(cron="0 3 * * *"))' if schedule else "",
    )
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(src))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "greet"\nversion = "0"\n')
    return tmp_path / "pipeline.py"


def _posts(requests: list[Request], suffix: str) -> list[Request]:
    return [r for r in requests if r["method"] == "POST" and r["path"].endswith(suffix)]


def test_submit_creates_a_run_with_our_pipeline_spec(
    tmp_path: Path, server: tuple[str, list[Request]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, requests = server
    path = _project(tmp_path, schedule=False)
    monkeypatch.setenv("KFP_TOKEN", "s3cret")
    out = CliRunner().invoke(main, ["submit", str(path), "--target", "kfp", "--host", url])
    assert out.exit_code == 0, out.output
    assert "created Run/run-1" in out.output
    assert {r["auth"] for r in requests} == {"Bearer s3cret"}
    (exp,) = _posts(requests, "/apis/v2beta1/experiments")
    assert exp["body"]["display_name"] == "Default"
    (run,) = _posts(requests, "/apis/v2beta1/runs")
    assert run["body"]["experiment_id"] == "exp-1"
    assert run["body"]["display_name"] == "greet"
    want = yaml.safe_load(
        emit(compile_file(path, root=tmp_path), options=EmitOptions()).files[0].text
    )
    assert run["body"]["pipeline_spec"] == want


def test_a_schedule_becomes_a_recurring_run(
    tmp_path: Path, server: tuple[str, list[Request]]
) -> None:
    url, requests = server
    path = _project(tmp_path, schedule=True)
    out = CliRunner().invoke(main, ["submit", str(path), "--target", "kfp", "--host", url])
    assert out.exit_code == 0, out.output
    assert "created RecurringRun/rr-1" in out.output
    (job,) = _posts(requests, "/apis/v2beta1/recurringruns")
    assert job["body"]["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert job["body"]["no_catchup"] is True
    assert job["body"]["pipeline_spec"]["pipelineInfo"]["name"] == "greet"
    assert not _posts(requests, "/apis/v2beta1/runs")


def test_an_unreachable_server_is_a_clean_error(tmp_path: Path) -> None:
    path = _project(tmp_path, schedule=False)
    out = CliRunner().invoke(
        main, ["submit", str(path), "--target", "kfp", "--host", "http://127.0.0.1:9"]
    )
    assert out.exit_code == 1
    assert "submit to http://127.0.0.1:9 failed" in out.output
    assert "Traceback" not in out.output


def test_a_package_mode_stack_publishes_before_the_run_is_created(
    tmp_path: Path, server: tuple[str, list[Request]]
) -> None:
    """`portaflow publish --help`: "`portaflow submit` publishes first by itself" (KFP too)."""
    from portaflow.compiler.codepkg import code_package

    url, requests = server
    path = _project(tmp_path, schedule=False)
    store = tmp_path / "store"
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "greet"\nversion = "0"\n\n[tool.portaflow.stacks.prod]\n'
        f'store = "file://{store}"\nkfp_executor = "container"\n'
    )
    out = CliRunner().invoke(
        main, ["submit", str(path), "--target", "kfp", "--host", url, "--stack", "prod"]
    )
    assert out.exit_code == 0, out.output
    digest = code_package(compile_file(path, root=tmp_path), tmp_path).digest
    assert [p.name for p in (store / "code").iterdir()] == [f"{digest}.tar"]
    assert f"published: file://{store}/code/{digest}.tar" in out.output
    assert out.output.index("published:") < out.output.index("created Run/run-1")
    (run,) = _posts(requests, "/apis/v2beta1/runs")
    sent = run["body"]["pipeline_spec"]  # with a platform spec, kfp.Client sends both
    assert set(sent) == {"pipeline_spec", "platform_spec"}
    exe = sent["pipeline_spec"]["deploymentSpec"]["executors"]["exec-hello"]
    command = exe["container"]["command"]
    assert command[command.index("--code-sha256") + 1] == digest
