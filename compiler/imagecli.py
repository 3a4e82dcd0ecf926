"""`portaflow image PIPELINE -o DIR [--check]`: the build context of the pipeline's image, and its tag.

The rendering and the tag are compiler/imagefile.py's; this module reads the
stack and the code package, writes or checks DIR, and prints the tag and the one
command that builds and pushes the image (docs/deploy-image.md).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from portaflow.compiler.clikit import (
    PIPELINE_FILE,
    find_root,
    front,
    image_context_or_exit,
    load_stack_or_exit,
    read_output,
    write_output,
)


@click.command("image")
@click.argument("file", type=PIPELINE_FILE, metavar="PIPELINE.py")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    metavar="DIR",
    help="Folder to write Dockerfile, .dockerignore and code.tar into: the build context.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files in DIR are stale.")
@click.option("--stack", metavar="NAME", help="Named settings from [tool.portaflow.stacks.NAME].")
@click.option("--pipeline", "pipeline_name", metavar="NAME", help="Which @pipeline of the file.")
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Project root (default: nearest pyproject.toml above the file).",
)
def image_cmd(
    file: Path,
    output: Path,
    check: bool,
    stack: str | None,
    pipeline_name: str | None,
    root: Path | None,
) -> None:
    """Write the build context of the pipeline's image into DIR and print its tag.

    \b
    DIR gets three files, byte-identical on every run for the same input:
      Dockerfile     FROM the stack's base_image (default python:3.11-slim), pip
                     install of pyproject.toml's [project].dependencies, the code
                     unpacked into /opt/portaflow/code, a non-root user
      .dockerignore  admits only the Dockerfile and code.tar
      code.tar       the code package: portaflow's runtime + the project files
                     the pipeline's steps reach
    The tag is IMAGE_REPOSITORY:pf-<16 hex> from the Dockerfile and the code
    package's digest: unchanged code gives the same tag, changed code a new one.
    With code = "image" in the stack, compiled manifests use that tag as the
    default step image. Build and push it with the command this prints:
      docker build -t TAG DIR && docker push TAG
    """
    project_root = root or find_root(file)
    chosen = load_stack_or_exit(project_root, stack)
    pipeline = front(file, root, pipeline_name, "text")
    context = image_context_or_exit(pipeline, project_root, chosen, command="image")
    files = context.files()
    if check:
        stale = [name for name, data in files if read_output(output / name) != data]
        if stale:
            again = shlex.join(
                ["portaflow", "image", str(file), *(["--stack", stack] if stack else []), "-o"]
                + [str(output)]
            )
            click.echo(
                f"stale: {', '.join(stale)} in {output}; regenerate with `{again}`", err=True
            )
            sys.exit(1)
        click.echo(f"up to date: {len(files)} file(s) in {output}", err=True)
    else:
        for name, data in files:
            write_output(output / name, data)
            click.echo(f"wrote {output / name}", err=True)
    tag = shlex.quote(context.tag)
    click.echo(f"image: {context.tag}")
    click.echo(
        f"build and push: docker build -t {tag} {shlex.quote(str(output))} && docker push {tag}"
    )
