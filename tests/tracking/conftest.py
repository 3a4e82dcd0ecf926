"""A real `mlflow server` for these tests (SQLite backend store, local artifact root), one per session.

The server runs from its own cached venv (mlflowenv.py); the client side is
the `mlflow-skinny` of the test extra. Outside CI a machine that cannot install
either skips these tests with the reason; under CI=true it is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlflowenv import Server, ensure_venv, start_server


def need(what: str, exc: BaseException | str) -> None:
    """Skip for a missing dependency, except under CI where it fails the test."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} under CI: {exc}")
    pytest.skip(f"{what} here: {exc}")


@pytest.fixture(scope="session")
def mlflow_client() -> None:
    """mlflow (the `[mlflow]` extra: mlflow-skinny) importable in this interpreter."""
    try:
        import mlflow.tracking  # noqa: F401
    except ImportError as exc:
        need("mlflow is not installed (pip install -e '.[test]')", exc)


@pytest.fixture(scope="session")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, mlflow_client: None
) -> Iterator[Server]:
    start = time.monotonic()
    try:
        venv = ensure_venv()
    except Exception as exc:
        need("cannot install the MLflow server", exc)
    folder = tmp_path_factory.mktemp("mlflow-server")
    try:
        server = start_server(venv, Path(folder))
    except RuntimeError as exc:
        need("cannot start the MLflow server", exc)
    print(
        f"\nmlflow server: venv {time.monotonic() - start - server.start_seconds:.1f}s"
        f" (install {venv.install_seconds:.1f}s), start {server.start_seconds:.1f}s"
    )
    try:
        yield server
    finally:
        server.stop()
