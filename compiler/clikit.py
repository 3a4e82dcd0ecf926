"""The compiler's face to command-line glue: what `portaflow` commands on both sides share.

compiler/cli.py (compile, check, graph) and the backends' command modules
(`backends/*/cli.py`: run, submit, ...) use these helpers to turn a pipeline
file into IR or printed diagnostics, build `EmitOptions` from a stack, and run
a backend's `emit` with its messages printed; it also owns the pipeline path
argument (`PIPELINE_FILE`) and writing results (`write_output`, `write_stdout`).
This is the only compiler module besides the IR (`ir`, `irjson`, `graph`) that a
backend's command module may import (see the dependency rule in
docs/CONTRACTS.md); `compiler.cli` and `compiler.frontend` stay out of reach of
backends.

Importing this module is cheap (click and the standard library): the front end,
stacks and the backend table are imported inside the functions that need them.
Exit status follows the README: 0 ok, 1 errors in the input, 2 usage errors
(including paths given on the command line that cannot be used).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from portaflow.compiler import ir
    from portaflow.compiler.frontend import Result
    from portaflow.compiler.imagefile import ImageContext
    from portaflow.compiler.stacks import Stack

__all__ = [
    "PIPELINE_FILE",
    "OutputError",
    "PipelineFile",
    "compile_or_exit",
    "emit_options",
    "emit_or_exit",
    "find_root",
    "front",
    "image_context_or_exit",
    "image_mode_options",
    "load_stack_or_exit",
    "print_diagnostics",
    "publish_for_submit",
    "read_output",
    "with_code",
    "write_output",
    "write_stdout",
]


class PipelineFile(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A pipeline path argument: an existing regular file, else a usage error (exit 2).

    A directory, FIFO, socket or device is refused before anything reads it (reading a
    FIFO would block forever).
    """

    name = "PIPELINE.py"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            value = str(value)
        try:
            mode = os.stat(value).st_mode
        except FileNotFoundError:
            self.fail(f"no such file: {value}", param, ctx)
        except (OSError, ValueError) as exc:  # permission, a NUL in the name, a too-long name
            self.fail(f"cannot open {value}: {getattr(exc, 'strerror', None) or exc}", param, ctx)
        if not stat.S_ISREG(mode):
            self.fail(f"{value} is {_kind(mode)}, not a pipeline file", param, ctx)
        return Path(value)


#: The shared instance for `click.argument("file", type=PIPELINE_FILE)`.
PIPELINE_FILE = PipelineFile()


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class OutputError(click.ClickException):
    """An output path given on the command line that cannot be used: one line, exit 2."""

    exit_code = 2


def write_output(dest: Path, data: bytes) -> None:
    """Write `dest` atomically (a temporary file beside it, then rename); OutputError on failure."""
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(dest)
    except (OSError, ValueError) as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise OutputError(f"cannot write {dest}: {_reason(exc)}") from None


def read_output(dest: Path) -> bytes | None:
    """The current bytes of an output file, None when it does not exist; OutputError otherwise."""
    try:
        return dest.read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot read {dest}: {_reason(exc)}") from None


def write_stdout(text: str) -> None:
    """Print results; a full disk or closed terminal is one line (OutputError), not a traceback."""
    try:
        click.echo(text, nl=False)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise  # click exits quietly when the reader went away (`| head`)
        # Point stdout at /dev/null so the interpreter's last flush cannot fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise OutputError(f"cannot write to standard output: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def find_root(path: Path) -> Path:
    """The nearest folder above `path` holding a pyproject.toml, else the file's folder."""
    from portaflow.compiler.frontend import find_root as _find_root

    return _find_root(path)


def print_diagnostics(result: Result, fmt: str) -> None:
    """Print a front-end result's diagnostics: rendered text on stderr, or JSON on stdout."""
    if fmt == "json":
        write_stdout(json.dumps([d.to_json() for d in result.diagnostics], indent=2) + "\n")
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
    except RecursionError:  # the front end bounds nesting; this is the last line of defence
        _fail(f"the pipeline nests too deeply for the {target} backend to write it")
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


#: Settings one backend reads, from a compile flag or the stack's key of the same name:
#: the Argo release the output must run on, the KFP executor flavour, the Airflow task flavour
#: and dags folder.
BACKEND_KEYS = ("argo_version", "kfp_executor", "airflow_operator", "dags_folder")


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
    # The store the tasks write to (docs/stores.md): a URL, its secret's name, fsspec options.
    for key in ("store", "store_secret", "store_options"):
        value = stack.get(key)
        if value is not None and (key != "store" or "://" in str(value)):
            values["extra"][key] = value
    # Backend-specific settings (a flag, else the stack key) travel in `extra`.
    for key in BACKEND_KEYS:
        value = overrides.pop(key, None) or stack.get(key)
        if value is not None:
            values["extra"][key] = str(value)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return EmitOptions(**{k: v for k, v in values.items() if v is not None}), stack


def _package_or_exit(pipeline: ir.Pipeline, root: Path) -> Any:
    from portaflow.compiler.codepkg import CodePackageError, code_package

    try:
        return code_package(pipeline, root)
    except CodePackageError as exc:
        _fail(str(exc))


def with_code(
    options: Any,
    stack: Stack,
    pipeline: ir.Pipeline,
    root: Path,
    *,
    image_flag: str | None = None,
    target: str | None = None,
) -> Any:
    """`options` with `code` set when the stack's code travels as a package (docs/deploy.md):
    the archive's digest and its URL in the store, so the manifest can fetch and check it.
    In image mode, the derived image tag instead (`image_mode_options`), unless `image_flag`
    (compile's `--image`) names an image explicitly."""
    import dataclasses

    from portaflow.backends import CodeRef
    from portaflow.compiler.codepkg import code_uri
    from portaflow.compiler.stacks import code_mode

    if code_mode(stack) == "image" and image_flag is None:
        return image_mode_options(options, stack, pipeline, root, target=target)
    if code_mode(stack) != "package":
        return options
    package = _package_or_exit(pipeline, root)
    ref = CodeRef(
        mode="package", digest=package.digest, uri=code_uri(str(stack.get("store")), package.digest)
    )
    return dataclasses.replace(options, code=ref)


def publish_for_submit(stack: Stack, pipeline: ir.Pipeline, root: Path) -> str | None:
    """`portaflow publish` for a submit: writes the code package of a package-mode stack to its
    store (put-if-absent) and says so on stderr; returns the archive's URL (None: not package
    mode). Exits 1 with one line when the store cannot be written."""
    from portaflow.compiler.codepkg import CodePackageError, publish
    from portaflow.compiler.stacks import code_mode
    from portaflow.storage import StoreLocationError

    if code_mode(stack) != "package":
        return None
    package = _package_or_exit(pipeline, root)
    store = str(stack.get("store"))
    try:
        uri, written = publish(package, store, stack.get("store_options"))
    except (CodePackageError, StoreLocationError, OSError) as exc:
        _fail(f"cannot publish the code package to {store}: {exc}")
    click.echo(f"{'published' if written else 'already published'}: {uri}", err=True)
    return uri


def image_context_or_exit(
    pipeline: ir.Pipeline, root: Path, stack: Stack, *, command: str = "compile"
) -> ImageContext:
    """The image build context and tag for a pipeline and stack (docs/deploy-image.md).

    Prints the stack's and pyproject.toml's diagnostics (PF440-PF446) and exits 1 on errors.
    """
    from portaflow.compiler import imagefile

    settings, found = imagefile.image_settings(root, stack.name, stack.settings)
    if settings is not None:
        found += imagefile.require_repository(root, stack.name, settings)
    if command == "image" and stack.get("code") != "image":
        found.append(imagefile.not_image_mode(root, stack.name))
    for d in found:
        click.echo(d.render(), err=True)
    if settings is None or any(d.severity == "error" for d in found):
        sys.exit(1)
    return imagefile.image_context(settings, _package_or_exit(pipeline, root))


def image_mode_options(
    options: Any, stack: Stack, pipeline: ir.Pipeline, root: Path, *, target: str | None = None
) -> Any:
    """In image mode (stack `code = "image"`) the derived tag is every backend's default step
    image (and `options.code` says so); a step's or the pipeline's own `image=` still wins.
    Other stacks: `options` as is. `target` (when known) lets it warn (PF447) that KFP's
    python executor needs kfp in an image the stack describes without it."""
    import dataclasses

    from portaflow.backends import CodeRef
    from portaflow.compiler import imagefile

    if stack.get("code") != "image":
        return options
    context = image_context_or_exit(pipeline, root, stack)
    executor = str(options.extra.get("kfp_executor") or "python")
    if target == "kfp" and executor == "python" and not imagefile.installs_kfp(stack.settings):
        click.echo(imagefile.kfp_missing(root, stack.name).render(), err=True)
    ref = CodeRef(mode="image", digest=context.digest, image=context.tag)
    return dataclasses.replace(options, image=context.tag, code=ref)
