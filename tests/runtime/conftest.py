"""Fixtures for the task runtime tests: a throwaway project and a way to run tasks in it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pf_taskrun import Project

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime"


@pytest.fixture(scope="session")
def import_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `portaflow` is this checkout's runtime/, installed or not."""
    root = tmp_path_factory.mktemp("import-root")
    (root / "portaflow").symlink_to(RUNTIME_DIR, target_is_directory=True)
    return root


@pytest.fixture
def project(tmp_path: Path, import_root: Path) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    return Project(root=root, import_root=import_root)


@pytest.fixture
def read_json() -> Callable[[Path], Any]:
    return lambda path: json.loads(Path(path).read_text())
