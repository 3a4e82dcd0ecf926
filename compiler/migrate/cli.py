"""`portaflow migrate FILE --from zenml|kfp|airflow`: the command, loaded only when invoked.

Without -o or --in-place it prints a unified diff and writes nothing. Exit status:
0 when nothing is left for a person, 1 when a diagnostic says what is, 2 for usage
and I/O errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from portaflow.compiler.clikit import PIPELINE_FILE, OutputError, write_output, write_stdout
from portaflow.compiler.diagnostics import Diagnostic
from portaflow.compiler.migrate import driver


@click.command("migrate")
@click.argument("file", type=PIPELINE_FILE, metavar="FILE.py")
@click.option(
    "--from",
    "dialect",
    type=click.Choice(sorted(driver.DIALECTS)),
    help="The tool the file is written for (default: detected from its imports).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the migrated file here.",
)
@click.option("--in-place", is_flag=True, help="Rewrite FILE itself.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the unified diff too when writing.")
def migrate_cmd(
    file: Path, dialect: str | None, output: Path | None, in_place: bool, show_diff: bool
) -> None:
    """Rewrite a ZenML, KFP v2 or Airflow TaskFlow pipeline file into a portaflow pipeline.

    Comments, formatting and unrelated code are kept as they are; what cannot be
    translated stays and is reported with file:line:col, a code and a hint.
    Without -o or --in-place the changes are printed as a diff and nothing is written.

    \b
    Examples:
      portaflow migrate old_pipeline.py --from kfp
      portaflow migrate old_pipeline.py -o pipeline.py
      portaflow migrate old_pipeline.py --in-place --diff
    """
    if output is not None and in_place:
        raise click.UsageError("give either -o/--output or --in-place, not both")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise OutputError(f"cannot read {file}: {exc.strerror or exc}") from None
    shown = str(file)
    decoded = driver.decode(data, shown)
    if isinstance(decoded, Diagnostic):
        click.echo(decoded.render(), err=True)
        sys.exit(1)
    source = decoded.text
    if dialect is None:
        dialect = driver.detect(source)
        if dialect is None:
            bad = driver.syntax_error(source, shown)
            if bad is not None:
                click.echo(bad.render(), err=True)
                sys.exit(1)
            raise click.UsageError(
                f"{shown} imports none of zenml, kfp, airflow: say which with --from"
            )
    try:
        result = driver.run(source, shown, dialect)
    except driver.DialectUnavailable as exc:
        raise OutputError(str(exc)) from None
    target = file if in_place else output
    if result.code == source and not result.diagnostics:
        click.echo(f"nothing to migrate in {shown}: it uses no {dialect} construct", err=True)
    if target is None or show_diff:
        write_stdout(driver.unified_diff(source, result.code, shown))
    if target is not None:
        write_output(target, result.code.encode(decoded.encoding))
        if result.complete:  # otherwise the diagnostics and their count are the whole report
            click.echo(f"wrote {target}", err=True)
    for d in result.diagnostics:
        click.echo(d.render(), err=True)
    errors = sum(d.severity == "error" for d in result.diagnostics)
    warnings = len(result.diagnostics) - errors
    if result.diagnostics:
        click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    if not result.complete:
        sys.exit(1)
