"""The `portaflow` command line: compile, check, graph, and (lazily) run, runs, models, submit.

Heavy modules (the front end, backends, rich) are imported inside commands,
so `portaflow --help` stays fast. Exit status: 0 ok, 1 errors in the input
(or stale output under --check), 2 usage errors.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from portaflow.compiler.clikit import (
    PIPELINE_FILE,
    emit_options,
    emit_or_exit,
    find_root,
    front,
    print_diagnostics,
    read_output,
    with_code,
    write_output,
    write_stdout,
)

if TYPE_CHECKING:
    from portaflow.compiler import ir

#: Commands that live with their backend: name -> ("module:attribute", short help).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("portaflow.backends.local.cli:run_cmd", "Run a pipeline locally, with caching."),
    "runs": ("portaflow.backends.local.cli:runs_group", "List and inspect local runs."),
    "models": (
        "portaflow.backends.local.cli:models_group",
        "List, show and promote model versions.",
    ),
    "migrate": (
        "portaflow.compiler.migrate.cli:migrate_cmd",
        "Rewrite a ZenML, KFP or Airflow pipeline into portaflow.",
    ),
    "image": (
        "portaflow.compiler.imagecli:image_cmd",
        "Write the pipeline's image build context and print its tag.",
    ),
    "publish": (
        "portaflow.compiler.publishcmd:publish_cmd",
        "Write the pipeline's code package to the stack's store.",
    ),
    "submit": (
        "portaflow.backends.airflow.cli:submit_cmd",
        "Compile and submit to an Argo, KFP or Airflow server.",
    ),
}


class LazyGroup(click.Group):
    """A group whose backend commands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or cmd_name not in LAZY_COMMANDS:
            return cmd
        target, short = LAZY_COMMANDS[cmd_name]
        module, _, attr = target.partition(":")
        try:
            loaded = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            return _unavailable(cmd_name, short, str(exc))
        assert isinstance(loaded, click.Command)
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # List lazy commands with their short help without importing them.
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][1]))
            else:
                cmd = self.commands[name]
                rows.append((name, cmd.get_short_help_str(limit=formatter.width)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(cmd_name: str, short: str, reason: str) -> click.Command:
    @click.command(cmd_name, help=short, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def unavailable(args: tuple[str, ...]) -> None:
        raise click.ClickException(
            f"`portaflow {cmd_name}` is not available in this installation ({reason})"
        )

    return unavailable


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from portaflow import __version__

    click.echo(f"portaflow, version {__version__}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def main() -> None:
    """Write an ML pipeline once in plain Python; compile it to Argo, Kubeflow or
    Airflow, or run it locally.

    \b
    Examples:
      portaflow check pipeline.py
      portaflow compile pipeline.py --target ir
      portaflow compile pipeline.py --target argo -o deploy/
      portaflow compile pipeline.py --target argo -o deploy/ --check
      portaflow graph pipeline.py --format mermaid
      portaflow run pipeline.py --param n_estimators=200
    """


_file_arg = click.argument("file", type=PIPELINE_FILE, metavar="PIPELINE.py")
_pipeline_opt = click.option(
    "--pipeline",
    "pipeline_name",
    metavar="NAME",
    help="Which @pipeline to use when the file has several.",
)
_root_opt = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Project root for imports and module names (default: nearest pyproject.toml above the file).",
)
_format_opt = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to print diagnostics; json is for editors and CI.",
)


@main.command("check")
@_file_arg
@_pipeline_opt
@_root_opt
@_format_opt
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
def check_cmd(
    file: Path, pipeline_name: str | None, root: Path | None, fmt: str, strict: bool
) -> None:
    """Report errors and warnings of a pipeline file; write nothing.

    Warnings: an output that is never used, a step that is never called,
    a parameter that is never used.
    """
    from portaflow.compiler.frontend import analyze

    result = analyze(file, root=root, pipeline=pipeline_name)
    print_diagnostics(result, fmt)
    if result.errors or (strict and result.diagnostics):
        sys.exit(1)
    if fmt == "text":
        assert result.pipeline is not None
        p = result.pipeline
        click.echo(
            f"ok: pipeline {p.name!r}: {len(p.tasks)} task(s), {len(p.steps)} step(s), "
            f"{len(result.diagnostics)} warning(s)",
            err=True,
        )


def _emit(pipeline: ir.Pipeline, target: str, options: Any) -> list[tuple[str, str]]:
    if target == "ir":
        from portaflow.compiler import irjson

        try:
            return [(f"{pipeline.name}.ir.json", irjson.dumps(pipeline))]
        except RecursionError:  # the front end bounds nesting; this is the last line of defence
            click.echo("error: the pipeline nests too deeply to write as IR JSON", err=True)
            sys.exit(1)
    return [(f.path, f.text) for f in emit_or_exit(pipeline, target, options).files]


@main.command("compile")
@_file_arg
@click.option(
    "--target",
    "-t",
    metavar="TARGET",
    help="ir, argo, kfp, airflow, or a backend installed under the portaflow.backends entry "
    "points (default: the stack's target, else ir).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (default: print to stdout).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files in -o are stale.")
@click.option("--stack", metavar="NAME", help="Named settings from [tool.portaflow.stacks.NAME].")
@click.option("--kind", metavar="KIND", help="Output flavour, e.g. workflow-template for Argo.")
@click.option("--image", metavar="IMAGE", help="Default image for steps without one.")
@click.option(
    "--argo-version", metavar="X.Y", help="Argo release to run on (3.5-4.1; default 4.1)."
)
@click.option(
    "--kfp-executor",
    type=click.Choice(["python", "container"]),
    help="KFP steps as lightweight Python components (default; kfp.local runs them) or containers.",
)
@click.option(
    "--airflow-operator",
    type=click.Choice(["kubernetes", "local"]),
    help="Airflow task flavour: pods (default) or the worker itself.",
)
@_pipeline_opt
@_root_opt
@_format_opt
def compile_cmd(
    file: Path,
    target: str | None,
    output: Path | None,
    check: bool,
    stack: str | None,
    kind: str | None,
    image: str | None,
    argo_version: str | None,
    kfp_executor: str | None,
    airflow_operator: str | None,
    pipeline_name: str | None,
    root: Path | None,
    fmt: str,
) -> None:
    """Compile a pipeline file into deterministic files for a target.

    The file is read statically, never imported: compiling needs neither the
    pipeline's libraries nor a cluster. The same input gives byte-identical
    output, meant to be committed; `--check` fails CI when it is stale.
    """
    if check and output is None:
        raise click.UsageError("--check needs -o/--output: the folder holding the committed files")
    project_root = root or find_root(file)
    overrides = {
        "kind": kind,
        "image": image,
        "argo_version": argo_version,
        "kfp_executor": kfp_executor,
        "airflow_operator": airflow_operator,
    }
    options, chosen = emit_options(project_root, stack, overrides)
    target = target or chosen.get("target") or "ir"
    if target == "local":
        raise click.UsageError("the local target is run, not compiled: use `portaflow run FILE`")
    pipeline = front(file, root, pipeline_name, fmt)
    if target != "ir":  # an explicit --image wins over image mode's derived tag
        options = with_code(
            options, chosen, pipeline, project_root, image_flag=image, target=target
        )
    files = _emit(pipeline, target, options)
    if output is None:
        write_stdout("---\n".join(text for _name, text in files))
        return
    if check:
        stale = []
        for name, text in files:
            dest = output / name
            current = read_output(dest)
            if current != text.encode():
                stale.append(name)
                _show_diff(dest, current, text)
        if stale:
            click.echo(
                f"stale: {', '.join(stale)} in {output}; regenerate with "
                f"`portaflow compile {file} --target {target} -o {output}`",
                err=True,
            )
            sys.exit(1)
        click.echo(f"up to date: {len(files)} file(s) in {output}", err=True)
        return
    for name, text in files:
        dest = output / name
        write_output(dest, text.encode())
        click.echo(f"wrote {dest}", err=True)


def _show_diff(dest: Path, current: bytes | None, text: str) -> None:
    import difflib

    old = current.decode(errors="replace").splitlines(keepends=True) if current else []
    diff = difflib.unified_diff(old, text.splitlines(keepends=True), str(dest), "(compiled)", n=2)
    lines = list(diff)
    click.echo("".join(lines[:80]) + ("...\n" if len(lines) > 80 else ""), err=True, nl=False)


@main.command("graph")
@_file_arg
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg", "png"]),
    default="mermaid",
    show_default=True,
    help="mermaid and dot are text; svg and png need Graphviz's `dot` on PATH.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@_pipeline_opt
@_root_opt
def graph_cmd(
    file: Path, fmt: str, output: Path | None, pipeline_name: str | None, root: Path | None
) -> None:
    """Draw the pipeline's DAG: steps, data names, conditions and loops."""
    from portaflow.compiler import render

    pipeline = front(file, root, pipeline_name, "text")
    if fmt == "mermaid":
        text = render.to_mermaid(pipeline)
    else:
        text = render.to_dot(pipeline)
    if fmt in ("mermaid", "dot"):
        if output:
            write_output(output, text.encode())
        else:
            write_stdout(text)
        return
    import shutil
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        raise click.ClickException(
            f"--format {fmt} needs Graphviz's `dot` program, which is not on PATH; install Graphviz "
            "(e.g. `apt-get install graphviz`, `brew install graphviz`), or use --format dot or mermaid"
        )
    proc = subprocess.run([dot, f"-T{fmt}"], input=text.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise click.ClickException(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    if output:
        write_output(output, proc.stdout)
    elif fmt == "svg":
        write_stdout(proc.stdout.decode())
    else:
        raise click.UsageError("--format png writes binary data: give -o FILE")


if __name__ == "__main__":  # pragma: no cover
    main()
