"""A real `mlflow server` for these tests (SQLite backend store, local artifact root), one per session.

The server runs from its own cached venv (mlflowenv.py); the client side is
the `mlflow-skinny` of the test extra. It starts in the background as soon as
collection shows a test that needs it, so its start (tens of seconds: mlflow
imports slowly) overlaps the tests that run before these. Outside CI a machine
that cannot install or start it skips these tests with the reason; under
CI=true that is a failure.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from mlflowenv import Server, ensure_venv, need, start_server


class _Starting:
    """The server being started by a background thread."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="portaflow-mlflow-"))
        self.server: Server | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        #: Set when the session ends: a server not started yet is not started any more.
        self.cancelled = False
        self.starting_server = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        start = time.monotonic()
        try:
            venv = ensure_venv()
            with self.lock:
                if self.cancelled:
                    return
                self.starting_server = True
            self.server = start_server(venv, self.folder)
        except BaseException as exc:
            self.error = exc
        self.seconds = time.monotonic() - start

    def finish(self) -> None:
        """Stop the server; an install still running is left to finish (it is cached)."""
        with self.lock:
            self.cancelled = True
            started = self.starting_server
        if started:
            self.thread.join()
            if self.server is not None:
                self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


_starting: _Starting | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the server once the selected tests are known, if one of them needs it."""
    global _starting
    if hasattr(session.config, "workerinput"):
        return  # under xdist the fixture starts it, on the one worker that runs these tests
    if _starting is None and any(
        "mlflow_server" in getattr(i, "fixturenames", ()) for i in session.items
    ):
        _starting = _Starting()


def pytest_sessionfinish() -> None:
    if _starting is not None:
        _starting.finish()


@pytest.fixture(scope="session")
def mlflow_client() -> None:
    """mlflow (the `[mlflow]` extra: mlflow-skinny) importable in this interpreter."""
    try:
        import mlflow.tracking  # noqa: F401
    except ImportError as exc:
        need("mlflow is not installed (pip install -e '.[test]')", exc)


@pytest.fixture(scope="session")
def mlflow_server(mlflow_client: None) -> Server:
    global _starting
    if _starting is None:
        _starting = _Starting()
    waited = time.monotonic()
    _starting.thread.join()
    if _starting.server is None:
        need("cannot install or start the MLflow server", _starting.error or "unknown")
    assert _starting.server is not None
    print(
        f"\nmlflow server: ready after {_starting.seconds:.1f}s"
        f" (start {_starting.server.start_seconds:.1f}s), waited {time.monotonic() - waited:.1f}s"
    )
    return _starting.server
