"""`portaflow submit --target argo` sends the compiled Workflow to an Argo Server; checked on a local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from portaflow.backends.argo.cli import submit_cmd

from .conftest import schema_available, schema_errors

REPO = Path(__file__).resolve().parents[2]


class _Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        wf = body["workflow"]
        wf["metadata"]["name"] = wf["metadata"]["generateName"] + "abcde"
        data = json.dumps(wf).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.requests = []
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_submit_posts_the_workflow(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGO_TOKEN", "s3cret")
    pipeline = REPO / "examples" / "quickstart" / "pipeline.py"
    result = CliRunner().invoke(
        submit_cmd, [str(pipeline), "--target", "argo", "--host", server, "--namespace", "ml"]
    )
    assert result.exit_code == 0, result.output
    assert "created Workflow/quickstart-abcde" in result.output
    (req,) = _Recorder.requests
    assert req["path"] == "/api/v1/workflows/ml"
    assert req["auth"] == "Bearer s3cret"
    wf = req["body"]["workflow"]
    assert wf["kind"] == "Workflow" and wf["metadata"]["generateName"] == "quickstart-"
    assert wf["metadata"]["namespace"] == "ml"
    if schema_available():  # test_conformance.py says so when the schema is absent
        assert schema_errors(wf) == []


def test_submit_reports_compile_errors(tmp_path: Path, server: str) -> None:
    bad = tmp_path / "pipeline.py"
    bad.write_text(
        "from portaflow import pipeline\n\n@pipeline\ndef p():\n    while True:\n        pass\n"
    )
    result = CliRunner().invoke(submit_cmd, [str(bad), "--host", server])
    assert result.exit_code == 1
    assert "PF" in result.output and _Recorder.requests == []
