"""Submit an emitted PipelineSpec to a Kubeflow Pipelines API server through `kfp.Client`.

A pipeline without a schedule becomes a run (in the experiment `experiment`, created if
missing); one with a `Schedule` becomes a recurring run, since a PipelineSpec has no
schedule of its own (https://www.kubeflow.org/docs/components/pipelines/user-guides/core-functions/run-a-pipeline/).
KFP's cron has a seconds field first, so `0 3 * * *` is sent as `0 0 3 * * *`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from portaflow.backends import EmitResult
from portaflow.compiler import ir


def kfp_cron(cron: str) -> str:
    """A five-field cron as KFP's six-field one (seconds first)."""
    fields = cron.split()
    return " ".join(["0", *fields]) if len(fields) == 5 else cron


def submit(
    result: EmitResult,
    pipeline: ir.Pipeline,
    *,
    host: str,
    token: str | None,
    namespace: str | None,
    experiment: str = "Default",
    verify_ssl: bool = True,
) -> list[str]:
    """Create a run (or a recurring run for a schedule); returns `Kind/id` of what was made."""
    import kfp  # type: ignore[import-untyped]

    client = kfp.Client(
        host=host,
        existing_token=token or None,
        namespace=namespace or "kubeflow",
        verify_ssl=verify_ssl,
    )
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / result.files[0].path
        package.write_text(result.files[0].text, encoding="utf-8")
        sched = pipeline.schedule
        if sched is None:
            run = client.create_run_from_pipeline_package(
                str(package),
                arguments={},
                run_name=pipeline.name,
                experiment_name=experiment,
                namespace=namespace,
            )
            return [f"Run/{run.run_id}"]
        exp = client.create_experiment(name=experiment, namespace=namespace)
        job = client.create_recurring_run(
            experiment_id=exp.experiment_id,
            job_name=pipeline.name,
            cron_expression=kfp_cron(sched.cron),
            pipeline_package_path=str(package),
            max_concurrency=1 if sched.concurrency_policy == "Forbid" else 10,
            no_catchup=not sched.catchup,
        )
        return [f"RecurringRun/{job.recurring_run_id}"]
