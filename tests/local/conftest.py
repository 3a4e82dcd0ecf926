"""Fixtures for local-runner tests: a project folder with step functions, and a runner bound to it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localkit import Runner
from portaflow.backends.local import RunResult, Store, run_pipeline
from portaflow.compiler import ir
from storekit import index_dir

STEPS = '''
import os, subprocess, sys, time
from pathlib import Path

import portaflow


def _count(name):
    """Count executions of a step in a file, so tests can see what really ran."""
    p = Path(os.environ["PORTAFLOW_ROOT"]) / "counts" / name
    p.parent.mkdir(exist_ok=True)
    with open(p, "a") as fh:
        fh.write("x")


def const(value: int) -> int:
    _count("const")
    return value


def sleep(seconds: float) -> float:
    _count("sleep")
    time.sleep(seconds)
    return seconds


def add(a: int, b: int) -> int:
    _count("add")
    return a + b


def make(n: int) -> list:
    _count("make")
    return list(range(n))


def square(x: int) -> int:
    _count("square")
    return x * x


def total(xs: list) -> int:
    _count("total")
    return sum(sum(x) if isinstance(x, list) else x for x in xs)


def echo(value: object) -> object:
    return value


def is_big(x: int) -> bool:
    return x > 10


def blob(x: int) -> bytes:
    _count("blob")
    return bytes([x]) * (x + 1)


def blob_size(data: bytes) -> int:
    return len(data)


def concat(parts: list) -> bytes:
    return b"".join(parts)


def boom() -> int:
    _count("boom")
    print("about to fail")
    raise RuntimeError("boom")


def flaky(fails: int) -> int:
    p = Path(os.environ["PORTAFLOW_ROOT"]) / "flaky-attempts"
    n = int(p.read_text()) + 1 if p.exists() else 1
    p.write_text(str(n))
    if n <= fails:
        raise RuntimeError(f"attempt {n} fails")
    return n


def hang() -> int:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    (Path(os.environ["PORTAFLOW_ROOT"]) / "grandchild.pid").write_text(str(child.pid))
    time.sleep(300)
    return 0


def hold() -> int:
    """Runs while the file `hold` exists in the project (tests release it)."""
    _count("hold")
    flag = Path(os.environ["PORTAFLOW_ROOT"]) / "hold"
    deadline = time.time() + 120
    while flag.exists() and time.time() < deadline:
        time.sleep(0.05)
    return 1


def meet(me: str, other: str) -> str:
    """Returns only once `other` is running too: proves two steps ran at the same time."""
    root = Path(os.environ["PORTAFLOW_ROOT"])
    (root / f"met-{me}").write_text(me)
    deadline = time.time() + 120
    while not (root / f"met-{other}").exists():
        if time.time() > deadline:
            raise RuntimeError(f"{other} never ran while {me} was running")
        time.sleep(0.02)
    return me


def train(x: int) -> int:
    portaflow.log_metric("accuracy", 0.5 + x / 100)
    return x


def note(text: str) -> str:
    _count("note-" + text)
    return text
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "steps.py").write_text(textwrap.dedent(STEPS))
    return tmp_path


@pytest.fixture
def isolation(request: pytest.FixtureRequest) -> str:
    """Every runner test runs twice: tasks forked by the zygote, and fresh subprocesses."""
    return str(request.param)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules with `STORE_BACKENDS` run their store tests on each (see storekit.py)."""
    backends = getattr(metafunc.module, "STORE_BACKENDS", None)
    if not backends or "store_backend" not in metafunc.fixturenames:
        marked = any(
            "isolation" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize")
        )
        if "isolation" in metafunc.fixturenames and not marked:
            metafunc.parametrize("isolation", ["fork", "process"], indirect=True)
        return
    if "isolation" in metafunc.fixturenames:
        # Both isolations on the default folder; forks only on S3 (what reaches the store
        # does not depend on how the task process started).
        cases = [
            (b, i) for b in backends for i in ("fork", "process") if b == "local" or i == "fork"
        ]
        metafunc.parametrize(("store_backend", "isolation"), cases, indirect=True)
    else:
        metafunc.parametrize("store_backend", backends, indirect=True)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str | None:
    """The store under test: None for the default folder, or a fresh prefix on moto's S3."""
    if getattr(request, "param", "local") == "local":
        return None
    return str(request.getfixturevalue("s3_server").fresh_prefix())


@pytest.fixture
def run(project: Path, isolation: str, store_backend: str | None) -> Runner:
    def go(pipeline: ir.Pipeline | None, **kw: Any) -> RunResult:
        kw.setdefault("workers", 4)
        kw.setdefault("isolation", isolation)
        return run_pipeline(
            pipeline, root=project, store=store_backend or project / ".portaflow", **kw
        )

    return go


@pytest.fixture
def store(project: Path, store_backend: str | None) -> Callable[[], Store]:
    if store_backend is None:
        return lambda: Store(project / ".portaflow")
    return lambda: Store(index_dir(project, store_backend), uri=store_backend)
