"""Compiling examples to Airflow DAG files and driving the Airflow venv's driver.py, for the tests."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflowenv import AirflowVenv
from portaflow.backends import EmitOptions
from portaflow.backends.airflow.emit import emit
from portaflow.compiler import ir
from portaflow.compiler.frontend import compile_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DRIVER = Path(__file__).with_name("af_driver.py")


CASES = Path(__file__).with_name("cases")


def example_names() -> list[str]:
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "pipeline.py").is_file())


#: Examples the kubernetes flavour refuses (PF731: a container_step); they run in the local one.
LOCAL_FLAVOUR_ONLY = frozenset({"example-container_step"})


def all_sources() -> dict[str, Path]:
    """Every example and every Airflow test case, by name."""
    got = {f"example-{n}": EXAMPLES / n for n in example_names()}
    got.update({f"case-{p.name}": p for p in sorted(CASES.iterdir()) if p.is_dir()})
    return got


def compile_example(
    folder: Path, dags: Path, *, flavour: str = "local", **extra: Any
) -> tuple[ir.Pipeline, str]:
    """Compile folder/pipeline.py into `dags`; returns the IR and the DAG file's name."""
    p = compile_file(folder / "pipeline.py", root=folder)
    if flavour == "local":
        extra.setdefault("project_root", str(folder))
    options = EmitOptions(extra={"airflow_operator": flavour, **extra})
    (f,) = emit(p, options=options).files
    dags.mkdir(parents=True, exist_ok=True)
    (dags / f.path).write_text(f.text, encoding="utf-8")
    return p, f.path


def driver(venv_python: Path, env: dict[str, str], *args: str, timeout: float = 900) -> Any:
    """Run af_driver.py in the Airflow venv; returns its JSON answer."""
    proc = subprocess.run(
        [str(venv_python), str(DRIVER), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"driver {args[0]} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_jobs(venv_python: Path, env: dict[str, str], dags: Path, jobs: list[dict[str, Any]]) -> Any:
    path = dags.parent / "jobs.json"
    path.write_text(json.dumps(jobs), encoding="utf-8")
    return driver(venv_python, env, "run", str(dags), str(path))


def check_graph(p: ir.Pipeline, dag: dict[str, Any]) -> None:
    """The imported DAG (af_driver.py `import` answer for it) has exactly the IR's tasks and edges."""
    from portaflow.backends.airflow.names import WATCHER, Names

    names = Names(p)
    tasks = dag["tasks"]
    watched = p.hooks or any(t.run != "succeeded" for t in p.tasks)
    helpers = set(names.loop.values()) | ({WATCHER} if watched else set())
    assert set(tasks) == set(names.task.values()) | helpers
    hooks = {names.task[h.id]: h.hook for h in p.hooks}
    got = {
        (up, tid)
        for tid, info in tasks.items()
        for up in info["upstream"]
        if up not in helpers and tid not in helpers and tid not in hooks
    }
    want = {(names.task[e.source], names.task[e.target]) for e in p.edges}
    assert got == want, (sorted(got - want), sorted(want - got))
    for t in p.main_tasks:
        info = tasks[names.task[t.id]]
        rule = {"succeeded": "none_failed", "done": "all_done", "failed": "one_failed"}[t.run]
        assert info["trigger_rule"] == rule
        assert info["mapped"] == (t.loop is not None)
        if t.loop is not None:
            assert names.loop[t.loop] in info["upstream"]
    sources = {e.source for e in p.edges}
    leaves = sorted(names.task[t.id] for t in p.main_tasks if t.id not in sources)
    for hook_id, kind in hooks.items():
        assert tasks[hook_id]["upstream"] == leaves
        assert tasks[hook_id]["trigger_rule"] == {"exit": "all_done", "failure": "one_failed"}[kind]
    if watched:
        # The watcher also waits on the upstreams of run="done"/"failed" tasks.
        tolerated = {names.task[e.source] for e in p.edges if p.task(e.target).run != "succeeded"}
        assert tasks[WATCHER]["trigger_rule"] == "one_failed"
        assert tasks[WATCHER]["upstream"] == sorted(set(leaves) | tolerated)


@dataclass
class Airflow:
    """The Airflow venv and a migrated AIRFLOW_HOME."""

    venv: AirflowVenv
    home: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def driver(self, *args: str) -> Any:
        return driver(self.venv.python, self.env, *args)


@dataclass
class Compiled:
    """One pipeline compiled into the shared dags folder."""

    name: str
    folder: Path
    pipeline: ir.Pipeline
    file: str

    @property
    def dag_id(self) -> str:
        from portaflow.backends.airflow.names import dag_id

        return dag_id(self.pipeline.name)
