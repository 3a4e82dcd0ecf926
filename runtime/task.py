"""The task entry point every backend runs: `python -m portaflow.task` (docs/CONTRACTS.md).

    python -m portaflow.task --step MODULE:FUNCTION [--root DIR]
        [--input NAME=PATH]...          artifact directory
        [--input-list NAME=MANIFEST]... JSON file holding a list of artifact directories
        [--param NAME=VALUE]...         JSON; raw text for str inputs when not a JSON string
        [--output NAME=PATH]...         artifact directory to create, atomically
        [--output-param NAME=PATH]...   file to receive the JSON of the value, atomically
        [--metadata PATH]               JSON record of this execution
        [--code-hash HASH] [--task-id ID] [--run-id ID]

Exit status: 0 success; 1 the step (or importing its module) raised, and its
traceback is printed; 2 a bad invocation or input (flag, module, function,
missing/unknown input, bad JSON, not an artifact, an artifact whose bytes no
longer match the sha256 in its sidecar: every input is checked as it is
loaded); 3 the step's return value
could not become its outputs (shape, type, not JSON, not picklable); 143/130
on SIGTERM/SIGINT. Every failure prints one paragraph
`portaflow.task: error: ...` on stderr, and the metadata file is written
whatever happens.

Outputs: a plain return annotation is one output named `output`;
`Annotated[T, "name"]` names it; `tuple[...]` gives one output per element,
named by its `Annotated` name or `output_<i>` (0-based, as the compiler
does). Any subset may be requested, by name; for a tuple without names, a
request of all of them under other names maps by position; an unannotated
function maps the flags in command-line order. Output flags are checked
before the step runs. A `--input-list` manifest may hold paths relative to
itself.

The metadata record (JSON, sorted keys): schema, task_id, run_id, step,
attempt, state ("succeeded" | "failed" | "terminated"), exit_code, error,
start, end (ISO 8601 UTC, ms, "Z"), duration_seconds, code_hash, git_commit,
git_dirty, python, python_implementation, platform, host, pid, inputs and
outputs ({name: {kind, sha256, size, ...}}; kind "artifact" | "parameter" |
"artifact-list"), metadata, metrics, metric_history (what the step logged).

Environment: PORTAFLOW_ROOT (default for --root), PORTAFLOW_ATTEMPT (1-based
attempt number recorded in the metadata; when unset, PORTAFLOW_RETRY + 1, the
0-based retry number Argo gives as `{{retries}}`; else 1), PORTAFLOW_STORE_URI
(a store URL: the task uploads its artifacts there and writes its task record,
see docs/stores.md; fsspec is imported only then), PORTAFLOW_PIPELINE,
PORTAFLOW_ITERATION (set for a task inside a loop whose iterations all get the
same `--task-id`, e.g. on Argo the pod's name: the record's task id becomes
`ID[<value>]`, so each iteration has its own record).

Runners drive tasks with the helpers of `portaflow.protocol`, re-exported
here: `task_command`, `hash_inputs`, `cache_key`, and the artifact functions
`read_artifact`, `is_artifact`, `verify_artifact`, `load_artifact`, `save_artifact`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, cast

from portaflow import _annotations as ann
from portaflow import metadata as logged
from portaflow._atomic import atomic_write_text
from portaflow._record import git_info, now_iso, python_info
from portaflow.container import ContainerStep
from portaflow.dsl import Pipeline, Step
from portaflow.imports import Imported, ImportFailed, ImportStep
from portaflow.materializers import (
    ArtifactInfo,
    MaterializerError,
    NotAnArtifactError,
    canonical_json,
    is_artifact,
    load_artifact,
    load_artifact_with_info,
    read_artifact,
    save_artifact,
    to_json_value,
    verify_artifact,
)
from portaflow.protocol import cache_key, hash_inputs, sha256_text, task_command
from portaflow.status import RunStatus

__all__ = [
    "ArtifactInfo",
    "NotAnArtifactError",
    "cache_key",
    "canonical_json",
    "hash_inputs",
    "is_artifact",
    "load_artifact",
    "main",
    "read_artifact",
    "save_artifact",
    "task_command",
    "verify_artifact",
]

EXIT_STEP_FAILED = 1
EXIT_USAGE = 2
EXIT_OUTPUT = 3


# --------------------------------------------------------------------------- errors


class TaskError(Exception):
    """A failure reported as one paragraph, without a traceback."""

    def __init__(self, message: str, *, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class _StepRaised(Exception):
    """The user's code raised; its traceback is worth printing."""

    def __init__(self, message: str, original: BaseException) -> None:
        super().__init__(message)
        self.original = original


class _Terminated(BaseException):
    """SIGTERM arrived (a timeout or a cancelled run); BaseException so `except Exception` lets it by."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


# --------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise TaskError(f"{message} (run `python -m portaflow.task --help` for the flags)")


def _pair(flag: str) -> Callable[[str], tuple[str, str]]:
    def parse(text: str) -> tuple[str, str]:
        name, sep, value = text.partition("=")
        if not sep or not name.isidentifier():
            raise argparse.ArgumentTypeError(
                f"{flag} takes NAME=VALUE with NAME a Python identifier, got {text!r}"
            )
        return name, value

    return parse


class _OrderedOutput(argparse.Action):
    """Keeps --output and --output-param in one list, in command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        kind = "parameter" if option_string == "--output-param" else "artifact"
        name, path = values
        namespace.outputs = [*(getattr(namespace, "outputs", None) or []), (kind, name, path)]


def _parser() -> _Parser:
    p = _Parser(
        prog="python -m portaflow.task",
        description="Run one portaflow step: load inputs, call the function, write outputs.",
    )
    p.add_argument("--step", required=True, metavar="MODULE:FUNCTION")
    p.add_argument("--root", metavar="DIR", help="project root put first on sys.path")
    p.add_argument(
        "--input", action="append", default=[], type=_pair("--input"), metavar="NAME=PATH"
    )
    p.add_argument(
        "--input-list",
        action="append",
        default=[],
        type=_pair("--input-list"),
        metavar="NAME=MANIFEST",
    )
    p.add_argument(
        "--param", action="append", default=[], type=_pair("--param"), metavar="NAME=VALUE"
    )
    p.add_argument(
        "--flatten",
        action="append",
        default=[],
        type=_pair("--flatten"),
        metavar="NAME=LEVELS",
        help="flatten the list parameter NAME by LEVELS levels (a fan-in over nested loops "
        "arrives nested from engines that gather one loop at a time)",
    )
    p.add_argument("--output", action=_OrderedOutput, type=_pair("--output"), metavar="NAME=PATH")
    p.add_argument(
        "--output-param", action=_OrderedOutput, type=_pair("--output-param"), metavar="NAME=PATH"
    )
    p.add_argument("--metadata", metavar="PATH")
    p.add_argument("--code-hash", metavar="HASH")
    p.add_argument("--task-id", metavar="ID")
    p.add_argument("--run-id", metavar="ID")
    p.set_defaults(outputs=[])
    return p


# --------------------------------------------------------------------------- the run


def _iteration_task_id(task_id: str | None) -> str | None:
    """`ID[<PORTAFLOW_ITERATION>]` when that is set (one iteration of a loop), else `ID`."""
    iteration = os.environ.get("PORTAFLOW_ITERATION", "").strip()
    if task_id is None or not iteration:
        return task_id
    return f"{task_id}[{iteration}]"


def _attempt() -> int | str:
    """PORTAFLOW_ATTEMPT (1-based), else PORTAFLOW_RETRY + 1 (0-based: Argo's `{{retries}}`)."""
    text = os.environ.get("PORTAFLOW_ATTEMPT")
    offset = 0
    if text is None:
        text, offset = os.environ.get("PORTAFLOW_RETRY", "0"), 1
    try:
        return int(text) + offset
    except ValueError:
        return text


@dataclass(slots=True)
class _Record:
    """The metadata record, filled as the task goes."""

    args: argparse.Namespace | None = None
    step: str | None = None
    root: Path | None = None
    start: str = field(default_factory=now_iso)
    started: float = field(default_factory=time.monotonic)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def finish(self, *, state: str, exit_code: int, error: str | None) -> dict[str, Any]:
        args = self.args
        attempt = _attempt()
        return {
            "schema": 1,
            "task_id": _iteration_task_id(getattr(args, "task_id", None)),
            "run_id": getattr(args, "run_id", None),
            "step": self.step,
            "attempt": attempt,
            "state": state,
            "exit_code": exit_code,
            "error": error,
            "start": self.start,
            "end": now_iso(),
            "duration_seconds": round(time.monotonic() - self.started, 6),
            "code_hash": getattr(args, "code_hash", None),
            **(git_info(self.root) if self.root else {"git_commit": None, "git_dirty": None}),
            **python_info(),
            "inputs": self.inputs,
            "outputs": self.outputs,
            **logged.collected(),
        }


def _import_step(ref: str, root: Path) -> Callable[..., Any]:
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise TaskError(f"--step must be MODULE:FUNCTION (e.g. steps.train:train), got {ref!r}")
    if str(root) not in sys.path[:1]:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise TaskError(
                f"cannot import the step module {module_name!r}: no module {missing!r} under the "
                f"project root {root} (set --root or PORTAFLOW_ROOT to the folder the pipeline "
                "was compiled from)."
            ) from None
        raise _StepRaised(
            f"importing the step module {module_name!r} failed: {exc} (install it in the step's "
            "image or environment)",
            exc,
        ) from exc
    except Exception as exc:
        raise _StepRaised(f"importing the step module {module_name!r} raised {exc!r}", exc) from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise TaskError(
                f"module {module_name!r} ({getattr(module, '__file__', '?')}) has no attribute "
                f"{attr!r}; is the step renamed, or the image older than the compiled pipeline?"
            )
        target = getattr(target, part)
    if isinstance(target, Pipeline):
        raise TaskError(f"{ref} is a @pipeline; run one of its steps, or `portaflow run` the file")
    # A Step wraps the plain function; a container_step a function that runs its command;
    # importer/model_version a function that says what to fetch (portaflow.imports).
    func = target.func if isinstance(target, (Step, ContainerStep, ImportStep)) else target
    if not callable(func):
        raise TaskError(f"{ref} is a {type(func).__name__}, not a function")
    return cast("Callable[..., Any]", func)


def _flatten_levels(pairs: list[tuple[str, str]]) -> dict[str, int]:
    levels: dict[str, int] = {}
    for name, text in pairs:
        if not text.isdigit():
            raise TaskError(f"--flatten {name}={text}: LEVELS must be a non-negative integer")
        levels[name] = int(text)
    return levels


def _flatten(name: str, text: str, levels: int) -> str:
    """A nested JSON list flattened by `levels` levels, as JSON text."""
    try:
        value = json.loads(text)
    except ValueError:
        raise TaskError(f"--param {name}: --flatten needs a JSON list, got {text[:80]!r}") from None
    for _ in range(levels):
        if not isinstance(value, list) or not all(isinstance(v, list) for v in value):
            raise TaskError(f"--flatten {name}={levels}: the value is not a list of lists")
        value = [item for sub in value for item in sub]
    return json.dumps(value)


def _decode_param(name: str, text: str, annotation: Any) -> Any:
    try:
        value = json.loads(text)
        decoded = True
    except ValueError:
        value, decoded = None, False
    if ann.is_run_status(annotation):
        try:
            return RunStatus.from_value(value)
        except TypeError as exc:
            raise TaskError(f"--param {name}: {exc}") from None
    if ann.accepts_str(annotation):
        # Argo hands over raw strings: only a JSON string, or a JSON value the annotation
        # also allows (`int | str`, `str | None`, Any), is taken as JSON.
        if decoded and (isinstance(value, str) or ann.check_type(annotation, value) is not False):
            return ann.coerce(annotation, value)
        return ann.coerce(annotation, text)
    if not decoded:
        raise TaskError(
            f"--param {name}={text!r} is not JSON, and input {name!r} is annotated "
            f"{ann.show(annotation)}; pass a JSON value (strings in double quotes)."
        )
    if ann.check_type(annotation, value) is False:
        raise TaskError(
            f"--param {name}={text} is a {type(value).__name__}, but input {name!r} is annotated "
            f"{ann.show(annotation)}."
        )
    return ann.coerce(annotation, value)


def _artifact_record(info: ArtifactInfo) -> dict[str, Any]:
    return {
        "kind": "artifact",
        "path": str(info.path),
        "type": info.type,
        "materializer": info.materializer,
        "sha256": info.sha256,
        "size": info.size,
    }


def _load_input(name: str, path: Path) -> tuple[Any, ArtifactInfo]:
    try:
        # Checked against its sha256 as it is loaded: a changed artifact is never an input.
        return load_artifact_with_info(path)
    except NotAnArtifactError as exc:
        raise TaskError(f"input {name!r}: {exc}.") from None
    except MaterializerError as exc:
        raise TaskError(f"input {name!r} ({path}): {exc}") from None
    except Exception as exc:  # a user materializer, or a damaged file
        raise _StepRaised(f"loading input {name!r} from {path} raised {exc!r}", exc) from exc


def _read_manifest(name: str, manifest: Path) -> list[Path]:
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TaskError(
            f"--input-list {name}: cannot read the manifest {manifest}: {exc}"
        ) from None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise TaskError(
            f"--input-list {name}: the manifest {manifest} must hold a JSON list of artifact paths"
        )
    return [manifest.parent / e for e in entries]  # relative entries are relative to the manifest


def _bind_inputs(
    func: Callable[..., Any], hints: dict[str, Any], args: argparse.Namespace, record: _Record
) -> tuple[list[Any], dict[str, Any]]:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    params = inspect.signature(func).parameters
    named = {n: p for n, p in params.items() if p.kind not in variadic}
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    given: dict[str, str] = {}
    for flag, pairs in (
        ("--input", args.input),
        ("--input-list", args.input_list),
        ("--param", args.param),
    ):
        for name, _ in pairs:
            if name in given:
                raise TaskError(f"input {name!r} is given twice ({given[name]} and {flag})")
            given[name] = flag
            if name not in named and (name in params or not takes_kwargs):
                raise TaskError(
                    f"{flag} {name}: the step has no input {name!r} "
                    f"(its inputs: {', '.join(named) or 'none'})"
                )
    missing = [
        n for n, p in named.items() if p.default is inspect.Parameter.empty and n not in given
    ]
    if missing:
        raise TaskError(
            f"missing input{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}: "
            "pass each with --input, --input-list or --param"
        )

    flatten = _flatten_levels(args.flatten)
    values: dict[str, Any] = {}
    for name, text in args.param:
        annotation = hints.get(name, inspect.Parameter.empty)
        if name in flatten:
            text = _flatten(name, text, flatten.pop(name))
        values[name] = _decode_param(name, text, annotation)
        canonical = _canonical_or_repr(values[name])
        record.inputs[name] = {
            "kind": "parameter",
            "value": _safe_json(values[name]),
            "sha256": sha256_text(canonical),
            "size": len(canonical.encode("utf-8")),
        }
    if flatten:
        raise TaskError(f"--flatten {', '.join(flatten)}: no --param of that name to flatten")
    for name, path_text in args.input:
        value, info = _load_input(name, Path(path_text))
        values[name] = ann.coerce(hints.get(name, inspect.Parameter.empty), value)
        record.inputs[name] = _artifact_record(info)
    for name, manifest in args.input_list:
        items, infos = [], []
        for path in _read_manifest(name, Path(manifest)):
            value, info = _load_input(name, path)
            items.append(value)
            infos.append(info)
        values[name] = items
        record.inputs[name] = {
            "kind": "artifact-list",
            "sha256": sha256_text("".join(f"{i.sha256}\n" for i in infos)),
            "size": sum(i.size for i in infos),
            "items": [_artifact_record(i) for i in infos],
        }

    positional = [
        values.pop(p.name)
        for p in params.values()
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and p.name in values
    ]
    return positional, values


def _safe_json(value: Any) -> Any:
    try:
        return to_json_value(value)
    except TypeError:
        return repr(value)


def _canonical_or_repr(value: Any) -> str:
    try:
        return canonical_json(value)
    except TypeError:
        return repr(value)


def _match_outputs(
    ref: str, specs: list[tuple[str, Any]] | None, flags: list[tuple[str, str, str]]
) -> list[int] | None:
    """For each requested output, the index of the declared output it takes; None: by flag order.

    Runs before the step, so a misspelt output flag fails in a second, not after
    an hour of training.
    """
    seen = [name for _, name, _ in flags]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise TaskError(f"output {', '.join(map(repr, twice))} is requested twice")
    if specs is None:  # not annotated: the flags say what the outputs are, in order
        return None
    names = [name for name, _ in specs]
    if not specs and flags:
        raise TaskError(
            f"step {ref} is annotated `-> None`, but outputs were requested: {', '.join(seen)}"
        )
    if all(name in names for name in seen):
        return [names.index(name) for name in seen]
    if len(specs) > 1 and names == [f"output_{i}" for i in range(len(specs))]:
        if len(flags) == len(specs):
            # A tuple without Annotated names: a backend may name its elements its own
            # way, so when it asks for all of them, go by position.
            return list(range(len(specs)))
    unknown = [name for name in seen if name not in names]
    raise TaskError(
        f"step {ref} has no output {', '.join(map(repr, unknown))}; its outputs are "
        f"{', '.join(map(repr, names))} (from its return annotation)"
    )


def _plan_outputs(
    ref: str,
    specs: list[tuple[str, Any]] | None,
    flags: list[tuple[str, str, str]],
    matched: list[int] | None,
    value: Any,
) -> list[tuple[str, str, str, Any, Any]]:
    """Pair each requested output (kind, name, path) with its value and declared type."""
    if not flags:
        return []
    if specs is None or matched is None:
        if len(flags) == 1:
            if value is None:
                raise TaskError(
                    f"step {ref} returned None, but output {flags[0][1]!r} was requested",
                    code=EXIT_OUTPUT,
                )
            values = [value]
        else:
            values = _split(ref, value, [name for _, name, _ in flags])
        return [(*flag, v, inspect.Parameter.empty) for flag, v in zip(flags, values, strict=True)]
    values = [value] if len(specs) == 1 else _split(ref, value, [n for n, _ in specs])
    return [(*flag, values[i], specs[i][1]) for flag, i in zip(flags, matched, strict=True)]


def _split(ref: str, value: Any, names: list[str]) -> list[Any]:
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = (
            f"a tuple of {len(value)}"
            if isinstance(value, (tuple, list))
            else f"a {ann.show(type(value))}"
        )
        raise TaskError(
            f"step {ref} returned {got}, but it has {len(names)} outputs "
            f"({', '.join(names)}): return a tuple of {len(names)} values in that order.",
            code=EXIT_OUTPUT,
        )
    return list(value)


def _write_outputs(ref: str, plan: list[tuple[str, str, str, Any, Any]], record: _Record) -> None:
    for kind, name, path_text, value, declared in plan:
        if ann.check_type(declared, value) is False:
            raise TaskError(
                f"step {ref} returned a {ann.show(type(value))} for output {name!r}, which is "
                f"annotated {ann.show(declared)}.",
                code=EXIT_OUTPUT,
            )
        value = ann.coerce(declared, value)
        path = Path(path_text)
        if kind == "parameter":
            try:
                # `$` and `{{` only occur inside JSON strings, where \u0024 and \u007b
                # decode the same: Kubernetes cannot expand `$(VAR)` and Argo never sees a
                # `{{...}}` tag when it passes the value on (docs/CONTRACTS.md).
                text = (
                    json.dumps(to_json_value(value), ensure_ascii=False)
                    .replace("$", "\\u0024")
                    .replace("{{", "{\\u007b")
                )
            except (TypeError, ValueError) as exc:
                raise TaskError(
                    f"output {name!r} is a parameter output, so it must be JSON, but the step "
                    f"returned a {ann.show(type(value))} ({exc}); annotate it with a non-JSON type "
                    "to make it an artifact, or return plain numbers, strings, lists and dicts.",
                    code=EXIT_OUTPUT,
                ) from None
            try:
                atomic_write_text(path, text)
            except OSError as exc:
                raise TaskError(
                    f"cannot write output {name!r} to {path}: {exc}", code=EXIT_OUTPUT
                ) from None
            record.outputs[name] = {
                "kind": "parameter",
                "path": str(path),
                "value": json.loads(text),
                "sha256": sha256_text(canonical_json(json.loads(text))),
                "size": len(text.encode("utf-8")),
            }
            continue
        if isinstance(value, Imported):  # fetched, not saved: the sidecar says where from
            try:
                info = value.write(path)
            except (MaterializerError, OSError) as exc:
                raise ImportFailed(f"importing {value.uri}: {exc}") from None
            record.outputs[name] = _artifact_record(info) | {
                "source": {"uri": value.uri, "metadata": dict(value.metadata)}
            }
            continue
        try:
            info = save_artifact(value, path)
        except MaterializerError as exc:
            raise TaskError(f"output {name!r}: {exc}", code=EXIT_OUTPUT) from None
        except OSError as exc:
            raise TaskError(
                f"cannot write output {name!r} to {path}: {exc}", code=EXIT_OUTPUT
            ) from None
        except Exception as exc:  # a user materializer failed
            raise _StepRaised(f"saving output {name!r} to {path} raised {exc!r}", exc) from exc
        record.outputs[name] = _artifact_record(info)


def _run(argv: Sequence[str] | None, record: _Record) -> None:
    args = _parser().parse_args(argv)
    record.args = args
    record.step = args.step
    root = Path(args.root or os.environ.get("PORTAFLOW_ROOT") or os.getcwd()).resolve()
    if not root.is_dir():
        raise TaskError(f"--root {root} is not a directory")
    record.root = root
    func = _import_step(args.step, root)
    hints = ann.type_hints(func)
    specs = ann.output_specs(hints)
    matched = _match_outputs(args.step, specs, args.outputs)
    positional, keywords = _bind_inputs(func, hints, args, record)
    logged.reset()
    # importer/model_version tasks (portaflow.imports): a URI or version that cannot be
    # imported is a bad input, said in one line; in a user's step it is the step's failure.
    imports = ImportFailed if getattr(func, "__module__", "") == "portaflow.imports" else ()
    try:
        try:
            value = func(*positional, **keywords)
        except imports:
            raise
        except Exception as exc:
            raise _StepRaised(f"step {args.step} raised {type(exc).__name__}: {exc}", exc) from exc
        plan = _plan_outputs(args.step, specs, args.outputs, matched, value)
        _write_outputs(args.step, plan, record)
    except imports as exc:
        raise TaskError(str(exc)) from None


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one task; returns the exit status (see the module docstring)."""
    record = _Record()
    previous = signal.signal(signal.SIGTERM, _on_signal)
    state, code, error = "succeeded", 0, None
    try:
        _run(argv, record)
    except TaskError as exc:
        state, code, error = "failed", exc.code, str(exc)
    except _StepRaised as exc:
        original = exc.original
        # Skip our own frame: the traceback starts in the user's code.
        tb = original.__traceback__.tb_next if original.__traceback__ else None
        traceback.print_exception(type(original), original, tb, file=sys.stderr)
        state, code, error = "failed", EXIT_STEP_FAILED, str(exc)
    except _Terminated as exc:
        state, code, error = "terminated", 128 + exc.signum, str(exc)
    except KeyboardInterrupt:
        state, code, error = "terminated", 130, "interrupted"
    except Exception as exc:  # a bug of ours: say so, with the traceback to report
        traceback.print_exc()
        state, code = "failed", EXIT_STEP_FAILED
        error = f"internal error in portaflow.task ({type(exc).__name__}: {exc}); please report it"
    finally:
        signal.signal(signal.SIGTERM, previous)
    if error is not None:
        print(f"portaflow.task: error: {error}", file=sys.stderr)
    meta_path = record.args.metadata if record.args is not None else _scan_metadata_flag(argv)
    store_uri = os.environ.get("PORTAFLOW_STORE_URI", "").strip()
    meta = None
    if meta_path or store_uri:
        meta = record.finish(state=state, exit_code=code, error=error)
    if meta_path and meta is not None:
        try:
            atomic_write_text(Path(meta_path), json.dumps(meta, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            print(
                f"portaflow.task: error: cannot write the metadata to {meta_path}: {exc}",
                file=sys.stderr,
            )
            code = code or EXIT_OUTPUT
    if store_uri and meta is not None:
        code = _publish_to_store(meta, store_uri, code)
    return code


def _publish_to_store(meta: dict[str, Any], uri: str, code: int) -> int:
    """Write the task's record to the stack's store (set in a pod by the backend)."""
    from portaflow._publish import publish  # only when a store is configured
    from portaflow.storage import StoreLocationError

    try:
        publish(meta, uri)
    except (OSError, StoreLocationError, ValueError) as exc:
        print(
            f"portaflow.task: error: cannot write this task's record to the store {uri}: {exc}",
            file=sys.stderr,
        )
        return code or EXIT_OUTPUT
    return code


def _scan_metadata_flag(argv: Sequence[str] | None) -> str | None:
    """--metadata from a command line argparse rejected, so even a bad call leaves a record."""
    args = list(sys.argv[1:] if argv is None else argv)
    for index, arg in enumerate(args):
        if arg == "--metadata" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--metadata="):
            return arg.split("=", 1)[1]
    return None


if __name__ == "__main__":
    sys.exit(main())
