"""`python -m portaflow.xcom SPEC`: run one task, then leave its outputs where Airflow's XCom sidecar reads them.

Used by the Airflow backend's Kubernetes flavour. SPEC is one JSON argument:
{"argv": [portaflow.task arguments], "lists": {path: [artifact paths]} (fan-in
manifests to write first), "outputs": {name: artifact path}, "output_params":
{name: json path}, "return": path of the XCom file, "attempt": Airflow's try number
(optional; the task's PORTAFLOW_ATTEMPT, so each try keeps its own record)}. On success the XCom file
holds each parameter output's value and each artifact's path. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from portaflow._atomic import atomic_write_text


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m portaflow.xcom SPEC_JSON", file=sys.stderr)
        return 2
    spec = json.loads(argv[0])
    for path, paths in spec["lists"].items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(path), json.dumps(paths))
    if spec.get("attempt") is not None:
        os.environ["PORTAFLOW_ATTEMPT"] = str(spec["attempt"])
    from portaflow.task import main as task_main

    code = task_main(spec["argv"])
    if code != 0:
        return code
    result = {
        n: json.loads(Path(p).read_text(encoding="utf-8")) for n, p in spec["output_params"].items()
    }
    result.update(spec["outputs"])
    Path(spec["return"]).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(spec["return"]), json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
