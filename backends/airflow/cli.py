"""`portaflow submit pipeline.py --target argo|kfp|airflow`: the submit command, Airflow's side; Argo and KFP by delegation.

For Airflow: compile, write the DAG into the dags folder (`--dags-folder` or the
stack's `dags_folder`), trigger a run through the API server at `--host` (or the
stack's `host`) and follow it with a line per task state change. Credentials come
from the environment, never from flags: AIRFLOW_TOKEN (a JWT), or AIRFLOW_USERNAME
and AIRFLOW_PASSWORD for `POST /auth/token`. Exit 0 when the run succeeds, 1 otherwise.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from portaflow.compiler.clikit import PIPELINE_FILE


@click.command("submit")
@click.argument("file", type=PIPELINE_FILE)
@click.option(
    "--target", type=click.Choice(["argo", "kfp", "airflow"]), default="argo", show_default=True
)
@click.option("--host", help="Engine API URL (default: the stack's host; Argo: env ARGO_HOST).")
@click.option("--namespace", help="Argo: namespace to create in.")
@click.option("--stack", metavar="NAME", help="Named settings from [tool.portaflow.stacks.NAME].")
@click.option("--pipeline", "pipeline_name", help="Which @pipeline of the file, if several.")
@click.option("--insecure", is_flag=True, help="Argo: do not verify the server's TLS certificate.")
@click.option(
    "--dags-folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Airflow: the dags folder to write into (default: the stack's dags_folder).",
)
@click.option(
    "--airflow-operator",
    type=click.Choice(["kubernetes", "local"]),
    help="Airflow: task flavour (default: the stack's, else kubernetes).",
)
@click.option(
    "-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="Airflow: run parameter."
)
@click.option(
    "--no-wait", is_flag=True, help="Airflow: trigger and return without following the run."
)
@click.pass_context
def submit_cmd(
    ctx: click.Context,
    file: Path,
    target: str,
    host: str | None,
    namespace: str | None,
    stack: str | None,
    pipeline_name: str | None,
    insecure: bool,
    dags_folder: Path | None,
    airflow_operator: str | None,
    params: tuple[str, ...],
    no_wait: bool,
) -> None:
    """Compile FILE and submit it: an Argo Workflow, a KFP run (or recurring run), or an
    Airflow DAG run followed to its end. Tokens: ARGO_TOKEN, KFP_TOKEN, AIRFLOW_TOKEN.

    With a package-mode stack (a store URL), the code package is published to the store
    first, as `portaflow publish` does (Airflow: for the kubernetes flavour)."""
    if target in ("argo", "kfp"):
        from portaflow.backends.argo.cli import submit_cmd as argo_submit

        host = host or (os.environ.get("ARGO_HOST") if target == "argo" else None)
        kwargs = dict(file=file, target=target, host=host, namespace=namespace, stack=stack)
        ctx.invoke(argo_submit, **kwargs, pipeline_name=pipeline_name, insecure=insecure)
        return
    from portaflow.backends.local import ParamError, parse_assignments
    from portaflow.compiler.clikit import (
        emit_options,
        emit_or_exit,
        find_root,
        front,
        image_mode_options,
        publish_for_submit,
        with_code,
    )

    from .names import dag_id
    from .submit import SubmitError, fetch_token, submit

    root = find_root(file)
    options, chosen = emit_options(root, stack, {"airflow_operator": airflow_operator})
    host = host or chosen.get("host")
    folder = dags_folder or options.extra.get("dags_folder")
    if not host:
        raise click.UsageError("--host is required (or set `host` in the stack)")
    if not folder:
        raise click.UsageError("--dags-folder is required (or set `dags_folder` in the stack)")
    pipeline = front(file, root, pipeline_name, "text")
    try:
        values = parse_assignments(pipeline, params)
    except ParamError as exc:
        raise click.UsageError(str(exc)) from None
    if options.extra.get("airflow_operator", "kubernetes") == "kubernetes":
        # Package mode: the pods fetch the code package, so it goes to the store first
        # (put-if-absent), before the DAG that names it (docs/deploy.md); image mode: the
        # derived tag (docs/deploy-image.md). Both do nothing for a stack in neither mode.
        publish_for_submit(chosen, pipeline, root)
        options = with_code(options, chosen, pipeline, root, target="airflow")
    else:
        options = image_mode_options(options, chosen, pipeline, root)  # docs/deploy-image.md
    result = emit_or_exit(pipeline, "airflow", options)
    token = os.environ.get("AIRFLOW_TOKEN")
    start = time.monotonic()

    def show(task: str, state: str) -> None:
        click.echo(f"  {time.monotonic() - start:6.1f}s  {task:<40} {state}", err=True)

    user, password = os.environ.get("AIRFLOW_USERNAME"), os.environ.get("AIRFLOW_PASSWORD")
    if not token and (not user or password is None):
        raise click.UsageError(
            "set AIRFLOW_TOKEN, or AIRFLOW_USERNAME and AIRFLOW_PASSWORD, for the API server"
        )
    try:
        if not token:
            assert user is not None and password is not None
            token = fetch_token(host, user, password)
        click.echo(f"submitting {dag_id(pipeline.name)} to {host} (dags folder {folder})", err=True)
        outcome = submit(
            result,
            dag_id=dag_id(pipeline.name),
            host=host,
            token=token,
            dags_folder=Path(folder),
            params=values,
            on_change=show,
            run_timeout=24 * 3600,
            follow=not no_wait,
        )
    except (SubmitError, OSError) as exc:
        raise click.ClickException(f"submit to {host} failed: {exc}") from None
    except (
        Exception
    ) as exc:  # the client raises one class per HTTP status; all mean "not submitted"
        raise click.ClickException(f"submit to {host} failed: {exc}") from None
    click.echo(f"run {outcome.run_id}: {outcome.state}")
    if outcome.state != "success" and not no_wait:
        raise SystemExit(1)
