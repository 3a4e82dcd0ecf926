"""`portaflow publish`: write a pipeline's code package to its stack's store (docs/deploy.md)."""

from __future__ import annotations

from pathlib import Path

import click

from portaflow.compiler.clikit import PIPELINE_FILE, find_root, front, load_stack_or_exit


@click.command("publish")
@click.argument("file", type=PIPELINE_FILE, metavar="PIPELINE.py")
@click.option("--stack", metavar="NAME", help="Named settings from [tool.portaflow.stacks.NAME].")
@click.option(
    "--pipeline",
    "pipeline_name",
    metavar="NAME",
    help="Which @pipeline to use when the file has several.",
)
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Project root (default: nearest pyproject.toml above the file).",
)
def publish_cmd(
    file: Path, stack: str | None, pipeline_name: str | None, root: Path | None
) -> None:
    """Write the code package of PIPELINE.py to the stack's store.

    \b
    The package holds the project files the pipeline's steps reach and
    portaflow's runtime, as a deterministic tar; it goes to
    {store}/code/{sha256}.tar, the digest a compiled manifest checks. An
    archive already there is left alone (idempotent), so publishing again
    is cheap and a manifest never needs re-compiling to publish. Prints
    the digest and the URL on stdout. `portaflow submit` publishes first
    by itself.

    \b
    Example:
      portaflow publish pipeline.py --stack prod
    """
    from portaflow.compiler.clikit import publish_for_submit
    from portaflow.compiler.stacks import code_mode

    project_root = root or find_root(file)
    chosen = load_stack_or_exit(project_root, stack)
    if code_mode(chosen) != "package":
        raise click.UsageError(
            f"stack {chosen.name!r} does not ship a code package: set store = "
            '"s3://bucket/prefix" in it (code = "package" is then the default)'
        )
    pipeline = front(file, root, pipeline_name, "text")
    uri = publish_for_submit(chosen, pipeline, project_root)
    assert uri is not None
    digest = uri.rsplit("/", 1)[1].removesuffix(".tar")
    click.echo(f"{digest} {uri}")
