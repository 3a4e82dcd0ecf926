"""A real MLflow tracking server for the tests: a venv of its own, cached between runs.

The server (`mlflow server`, full `mlflow` with its SQLAlchemy store) is heavy
and never needed by portaflow itself, so it lives in its own venv under
~/.cache/portaflow-tests/mlflow-server-<hash> (PORTAFLOW_TEST_CACHE moves the
folder); the client side (`mlflow-skinny`, the `[mlflow]` extra) is in the
test extra. A venv is used only once its `.complete` marker exists, so an
interrupted install is redone; a file lock keeps two processes from building it
at once. `python tests/tracking/mlflowenv.py` prepares it (the lead can start
that in the background before the test run).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
if str(_TESTS) not in sys.path:  # run as a script
    sys.path.append(str(_TESTS))

import venvkit  # noqa: E402
from venvkit import need  # noqa: E402,F401  (re-exported for the tracking tests)

#: The server's version; the client (mlflow-skinny) talks to it over the REST API.
MLFLOW_VERSION = "3.17.2"
REQUIREMENTS = (f"mlflow=={MLFLOW_VERSION}",)


class ServerVenv(venvkit.CachedVenv):
    """An installed venv holding `mlflow server`."""

    @property
    def mlflow(self) -> Path:
        return self.bin("mlflow")


def ensure_venv() -> ServerVenv:
    """The cached server venv, installing it first when needed (raises RuntimeError on failure)."""
    got = venvkit.ensure("mlflow-server", REQUIREMENTS, what="MLflow")
    return ServerVenv(got.path, got.install_seconds)


def prepare_in_background() -> subprocess.Popen[bytes]:
    """Start building the venv in another process (the lead calls this before a test run)."""
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `mlflow server` on 127.0.0.1."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    #: Seconds from start to the first healthy answer.
    start_seconds: float

    def stop(self) -> None:
        """Stop the server by its process group (the server forks workers)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def _save_template(db: Path, template: Path) -> None:
    """Keep a consistent copy of the freshly migrated, still empty database beside the venv."""
    partial = template.with_suffix(f".{os.getpid()}.tmp")
    with sqlite3.connect(db) as source, sqlite3.connect(partial) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    os.replace(partial, template)


def start_server(venv: ServerVenv, folder: Path, *, timeout: float = 120.0) -> Server:
    """`mlflow server` with a SQLite backend store and a local artifact root under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # no background job runner (seven huey consumers): the tests only track runs and models
    env.update(PYTHONPATH="", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    template = venv.path / "empty-mlflow.db"
    if template.is_file():  # an already migrated database: creating the tables takes seconds
        shutil.copyfile(template, folder / "mlflow.db")
    start = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(venv.mlflow),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(folder / "artifacts"),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    server = Server(url, process, log, 0.0)
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    server.start_seconds = time.monotonic() - start
                    if not template.is_file():
                        _save_template(folder / "mlflow.db", template)
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(
        f"mlflow server did not answer in {timeout:.0f}s:\n{log.read_text()[-3000:]}"
    )


if __name__ == "__main__":  # python tests/tracking/mlflowenv.py: install (or find) the venv
    got = ensure_venv()
    print(got.path, f"{got.install_seconds:.1f}s")
