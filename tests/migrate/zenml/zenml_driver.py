"""Runs pipeline files on ZenML's local orchestrator and prints every step's outputs as JSON.

Executed by the ZenML venv's Python (never imported by the tests), from a scratch folder
holding this file and the pipeline files as modules, so ZenML's source root is that
folder. Usage: python zenml_driver.py SPEC.json OUT.json, where SPEC lists
{"module", "pipeline", "params"}. A module that runs its pipeline when imported is run
that way; otherwise the driver calls the pipeline with the params.
"""

from __future__ import annotations

import importlib
import json
import sys
import time

from zenml.client import Client

from zenml_canon import canon


def last_run_id() -> str | None:
    runs = Client().list_pipeline_runs(sort_by="desc:created", size=1)
    return str(runs.items[0].id) if runs.items else None


def outcome(run_id: str) -> dict[str, object]:
    run = Client().get_pipeline_run(run_id)
    steps = {}
    for name, step in run.steps.items():
        outputs = {}
        for out, versions in step.outputs.items():
            outputs[out] = canon(versions[0].load())
        steps[name] = {"state": str(step.status.value), "outputs": outputs}
    return {"status": str(run.status.value), "steps": steps}


def main() -> None:
    spec = json.loads(open(sys.argv[1]).read())
    results = {}
    for case in spec:
        start = time.monotonic()
        before = last_run_id()
        module = importlib.import_module(case["module"])
        if last_run_id() == before:
            getattr(module, case["pipeline"])(**case["params"])
        run_id = last_run_id()
        assert run_id is not None and run_id != before, f"{case['module']}: no run"
        results[case["module"]] = outcome(run_id)
        results[case["module"]]["seconds"] = round(time.monotonic() - start, 2)
    with open(sys.argv[2], "w") as fh:
        json.dump(results, fh, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
