"""Runs inside the Airflow venv: the pod a `PortaflowPodTask` would create for one task of a run.

    python af_pods.py DAGS_DIR JOB.json -> {"import_errors": {...}, "pod": pod as a dict}

JOB: {"dag_id", "task_id", "run_id", "params": {...}, "xcoms": {task_id: XCom value}}.
The operator's own code computes the task container's argument from a context whose
task instance answers `xcom_pull` from "xcoms" (the upstream pods' XCom files), then
builds the pod request (`build_pod_request_obj`); nothing is sent to a cluster (the
kube-config names none). The JSON answer is the last line of stdout.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from af_driver import KUBECONFIG, _bag


class _TaskInstance:
    """What operators.Resolver asks of a task instance, from recorded XCom values."""

    def __init__(self, dag_id: str, xcoms: dict[str, Any]) -> None:
        self.dag_id, self.xcoms, self.try_number = dag_id, xcoms, 1

    def xcom_pull(self, task_ids: str, map_indexes: int = -1) -> Any:
        return self.xcoms.get(task_ids)


def main(argv: list[str]) -> int:
    folder, job_file = argv
    with open(job_file, encoding="utf-8") as fh:
        job = json.load(fh)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        fh.write(KUBECONFIG)
    os.environ["KUBECONFIG"] = fh.name  # read when kubernetes is imported
    from kubernetes.client import ApiClient

    bag = _bag(folder)
    task = bag.dags[job["dag_id"]].get_task(job["task_id"])
    context = {
        "ti": _TaskInstance(job["dag_id"], job["xcoms"]),
        "run_id": job["run_id"],
        "params": job["params"],
    }
    task.arguments = task.pod_arguments(context)
    pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj())
    errors = {str(k): str(v)[-2000:] for k, v in bag.import_errors.items()}
    print(json.dumps({"import_errors": errors, "pod": pod}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
