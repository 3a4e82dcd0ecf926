"""`portaflow submit pipeline.py --target argo --host URL`: compile, then create it on an Argo Server.

The lead's compiler/cli.py loads `submit_cmd` lazily by name. The token comes from the
environment variable ARGO_TOKEN (as the argo CLI reads it), never from a flag, so it
stays out of shell history.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", type=click.Choice(["argo"]), default="argo", show_default=True)
@click.option("--host", envvar="ARGO_HOST", help="Argo Server URL (default: the stack's host).")
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
    """Compile FILE for Argo and submit it through the Argo Server API."""
    from portaflow.backends import BackendError, EmitOptions
    from portaflow.backends.argo import emit
    from portaflow.backends.argo.submit import submit
    from portaflow.compiler import compile_file
    from portaflow.compiler.diagnostics import CompileError
    from portaflow.compiler.frontend import find_root
    from portaflow.compiler.stacks import StackError, load_stack

    root = find_root(file)
    try:
        chosen = load_stack(root, stack)
    except StackError as e:
        raise click.ClickException(str(e)) from None
    host = host or chosen.get("host")
    if not host:
        raise click.UsageError("--host is required (or set `host` in the stack)")
    try:
        pipeline = compile_file(file, root=root, pipeline=pipeline_name)
    except CompileError as e:
        for d in e.diagnostics:
            click.echo(d.render(), err=True)
        sys.exit(1)
    settings = {
        "image": chosen.get("image"),
        "namespace": namespace or chosen.get("namespace"),
        "service_account": chosen.get("service_account"),
        "artifact_store": chosen.get("artifact_store"),
        "kind": chosen.get("kind"),
        "labels": dict(chosen.get("labels", {}) or {}),
        "annotations": dict(chosen.get("annotations", {}) or {}),
        "extra": dict(chosen.get("extra", {}) or {}),
    }
    options = EmitOptions(**{k: v for k, v in settings.items() if v is not None})
    try:
        result = emit(pipeline, options=options)
    except BackendError as e:
        for msg in e.messages:
            where = f"{msg.span}: " if msg.span else ""
            click.echo(f"{where}error {msg.code}: {msg.message}", err=True)
            if msg.hint:
                click.echo(f"  hint: {msg.hint}", err=True)
        sys.exit(1)
    for w in result.warnings:
        click.echo(f"{w.span or ''}: warning {w.code}: {w.message}", err=True)
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
