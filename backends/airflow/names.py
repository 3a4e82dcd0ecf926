"""Airflow ids for IR tasks and loops: valid (`[A-Za-z0-9_.-]`, at most 250 characters), collision-free.

Airflow joins a task group's id and a task's id with a dot, so every dotted
segment of an IR id is cleaned on its own and collisions are resolved among
the ids of one group. Ids the backend adds itself (loop item lists, the run
watcher) are reserved first, so no user name can take them.
"""

from __future__ import annotations

import hashlib
import re

from portaflow.compiler import ir

_BAD = re.compile(r"[^A-Za-z0-9_-]+")
#: Airflow's limit on a full task id (group prefix included) is 250; keep each segment well below.
MAX_SEGMENT = 100
WATCHER = "portaflow_watcher"

#: Where the pod's XCom sidecar reads the task's results.
XCOM_RETURN = "/airflow/xcom/return.json"
#: Package mode: the emptyDir volume (and its mount) where the init container leaves the
#: code package for the task container (pod.py).
CODE_VOLUME = "portaflow-code"
CODE_DIR = "/portaflow/code"
CODE_PATH = f"{CODE_DIR}/code.tar"


def clean(raw: str) -> str:
    """A valid id segment for `raw`; a digest suffix keeps rewritten names distinct."""
    text = _BAD.sub("_", raw).strip("_") or "task"
    if text != raw or len(text) > MAX_SEGMENT:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:6]
        text = f"{text[: MAX_SEGMENT - 7]}_{digest}"
    return text


def dag_id(name: str) -> str:
    """The DAG id of a pipeline."""
    return clean(name)


class Names:
    """Airflow ids for one pipeline's tasks, loop item tasks and task groups."""

    def __init__(self, p: ir.Pipeline) -> None:
        #: IR sub-pipeline call id -> group id segment.
        self.group: dict[str, str] = {}
        #: IR task id -> full Airflow task id.
        self.task: dict[str, str] = {}
        #: IR loop id -> full Airflow id of the task listing the loop's iterations.
        self.loop: dict[str, str] = {}
        taken: dict[tuple[str, ...], set[str]] = {(): {WATCHER}}
        for sp in p.subpipelines:
            self.group[sp.id] = self._claim(taken, sp.scope, sp.id, "")
        for lp in p.loops:
            seg = self._claim(taken, lp.scope, lp.id, "_items")
            self.loop[lp.id] = self._full(lp.scope, seg)
        for t in p.tasks:
            seg = self._claim(taken, t.scope, t.id, "")
            self.task[t.id] = self._full(t.scope, seg)

    def _claim(
        self,
        taken: dict[tuple[str, ...], set[str]],
        scope: tuple[str, ...],
        ir_id: str,
        suffix: str,
    ) -> str:
        used = taken.setdefault(scope, set())
        base = clean(ir_id.rsplit(".", 1)[-1]) + suffix
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        return name

    def _full(self, scope: tuple[str, ...], seg: str) -> str:
        return ".".join([*(self.group[s] for s in scope), seg])
