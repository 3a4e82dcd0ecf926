"""`portaflow submit pipeline.py --target argo --host URL`: compile, then create it on an Argo Server.

The lead's compiler/cli.py loads `submit_cmd` lazily by name. The token comes from the
environment variable ARGO_TOKEN (as the argo CLI reads it), never from a flag, so it
stays out of shell history.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from portaflow.compiler.clikit import PIPELINE_FILE


@click.command("submit")
@click.argument("file", type=PIPELINE_FILE)
@click.option("--target", type=click.Choice(["argo", "kfp"]), default="argo", show_default=True)
@click.option(
    "--host", envvar="ARGO_HOST", help="Argo Server or KFP API URL (default: the stack's host)."
)
@click.option("--namespace", help="Namespace to create in (default: the stack's, else default).")
@click.option("--stack", metavar="NAME", help="Named settings from [tool.portaflow.stacks.NAME].")
@click.option("--pipeline", "pipeline_name", help="Which @pipeline of the file, if several.")
@click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")
def submit_cmd(
    file: Path,
    target: str,
    host: str | None,
    namespace: str | None,
    stack: str | None,
    pipeline_name: str | None,
    insecure: bool,
) -> None:
    """Compile FILE for Argo (token: ARGO_TOKEN) or KFP (token: KFP_TOKEN) and submit it.

    With a package-mode stack (a store URL), the code package is published to the store
    first, as `portaflow publish` does."""
    from portaflow.backends.argo.submit import submit
    from portaflow.compiler.clikit import (
        emit_options,
        emit_or_exit,
        find_root,
        front,
        publish_for_submit,
        with_code,
    )

    root = find_root(file)
    options, chosen = emit_options(root, stack, {"namespace": namespace})
    host = host or chosen.get("host")
    if not host:
        raise click.UsageError("--host is required (or set `host` in the stack)")
    pipeline = front(file, root, pipeline_name, "text")
    # A package-mode stack: the code archive goes to the store first (put-if-absent), so the
    # submitted manifest never names an archive that is not there (docs/deploy.md).
    publish_for_submit(chosen, pipeline, root)
    options = with_code(options, chosen, pipeline, root, target=target)  # image mode too
    result = emit_or_exit(pipeline, target, options)
    if target == "kfp":  # token from KFP_TOKEN; a schedule becomes a recurring run
        from portaflow.backends.kfp.submit import submit as submit_kfp

        try:
            made = submit_kfp(
                result,
                pipeline,
                host=host,
                token=os.environ.get("KFP_TOKEN"),
                namespace=options.namespace,
                verify_ssl=not insecure,
            )
        except Exception as e:  # kfp_server_api raises ApiException and urllib3 errors
            raise click.ClickException(f"submit to {host} failed: {e}") from None
        for name in made:
            click.echo(f"created {name}")
        return
    try:
        created = submit(
            result,
            host=host,
            token=os.environ.get("ARGO_TOKEN"),
            namespace=options.namespace,
            verify_ssl=not insecure,
        )
    except Exception as e:  # hera raises per-status exceptions; all mean "not submitted"
        raise click.ClickException(f"submit to {host} failed: {e}") from None
    for name in created:
        click.echo(f"created {name}")
