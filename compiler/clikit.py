"""The compiler's face to command-line glue: what `portaflow` commands on both sides share.

compiler/cli.py (compile, check, graph) and the backends' command modules
(`backends/*/cli.py`: run, submit, ...) use these helpers to turn a pipeline
file into IR or printed diagnostics, build `EmitOptions` from a stack, and run
a backend's `emit` with its messages printed. This is the only compiler module
besides the IR (`ir`, `irjson`, `graph`) that backends may import, and only
inside a command function (see the dependency rule in docs/CONTRACTS.md);
`compiler.cli` and `compiler.frontend` stay out of reach of backends.

Importing this module is cheap (click only): the front end, stacks and the
backend table are imported inside the functions that need them. Exit status
follows the README: 0 ok, 1 errors in the input, 2 usage errors.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from portaflow.compiler import ir
    from portaflow.compiler.frontend import Result
    from portaflow.compiler.stacks import Stack

__all__ = [
    "compile_or_exit",
    "emit_options",
    "emit_or_exit",
    "find_root",
    "front",
    "load_stack_or_exit",
    "print_diagnostics",
]


def find_root(path: Path) -> Path:
    """The nearest folder above `path` holding a pyproject.toml, else the file's folder."""
    from portaflow.compiler.frontend import find_root as _find_root

    return _find_root(path)


def print_diagnostics(result: Result, fmt: str) -> None:
    """Print a front-end result's diagnostics: rendered text on stderr, or JSON on stdout."""
    if fmt == "json":
        click.echo(json.dumps([d.to_json() for d in result.diagnostics], indent=2))
        return
    for d in result.diagnostics:
        click.echo(d.render(), err=True)
    errors = len(result.errors)
    warnings = len(result.diagnostics) - errors
    if errors:
        click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)


def front(file: Path, root: Path | None, pipeline_name: str | None, fmt: str) -> ir.Pipeline:
    """Compile or exit 1 with the diagnostics printed."""
    from portaflow.compiler.frontend import analyze

    result = analyze(file, root=root, pipeline=pipeline_name)
    if result.errors or result.pipeline is None:
        print_diagnostics(result, fmt)
        sys.exit(1)
    return result.pipeline


def compile_or_exit(
    path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None, pipeline: str | None
) -> ir.Pipeline:
    """`front` for callers holding plain paths: the IR, or the diagnostics on stderr and exit 1."""
    return front(Path(path), Path(root) if root else None, pipeline, "text")


def load_stack_or_exit(root: Path, name: str | None, *, usage_error: bool = True) -> Stack:
    """The named (or default) stack's settings; a bad stack is a usage error (exit 2) by default."""
    from portaflow.compiler.stacks import StackError, load_stack

    try:
        return load_stack(root, name)
    except StackError as exc:
        if usage_error:
            raise click.UsageError(str(exc)) from None
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def emit_or_exit(pipeline: ir.Pipeline, target: str, options: Any) -> Any:
    """Run a backend's emit; print its errors and exit 1, print its warnings. Returns the EmitResult."""
    from portaflow.backends import BackendError, load

    try:
        emit = load(target)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    try:
        result = emit(pipeline, options=options)
    except BackendError as exc:
        for m in exc.messages:
            where = f"{m.span}: " if m.span else ""
            click.echo(f"{where}error {m.code}: {m.message}", err=True)
            if m.hint:
                click.echo(f"      = hint: {m.hint}", err=True)
        sys.exit(1)
    for w in result.warnings:
        where = f"{w.span}: " if w.span else ""
        click.echo(f"{where}warning {w.code}: {w.message}", err=True)
    return result


def emit_options(root: Path, stack_name: str | None, overrides: dict[str, Any]) -> tuple[Any, Any]:
    """EmitOptions from the stack, with CLI overrides; returns (options, stack)."""
    from portaflow.backends import EmitOptions

    stack = load_stack_or_exit(root, stack_name)
    values: dict[str, Any] = {
        "image": stack.get("image"),
        "namespace": stack.get("namespace"),
        "service_account": stack.get("service_account"),
        "artifact_store": stack.get("artifact_store"),
        "kind": stack.get("kind"),
        "labels": dict(stack.get("labels", {}) or {}),
        "annotations": dict(stack.get("annotations", {}) or {}),
        "extra": dict(stack.get("extra", {}) or {}),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return EmitOptions(**{k: v for k, v in values.items() if v is not None}), stack
