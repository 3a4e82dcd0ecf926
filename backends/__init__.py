"""Backends: pure functions from the IR to files (`emit(pipeline, *, options) -> files`).

A backend never touches disk, clock or environment; the CLI writes the files
and implements `--check`. Backends are found by name in `BACKENDS` or in the
`portaflow.backends` entry-point group.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portaflow.compiler import ir


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeRef:
    """How the tasks' code reaches the pod (issue 14, docs/deploy.md); set by the compiler CLI.

    Package mode: the pod runs `portaflow.bootstrap.bootstrap_command(...)`, which fetches
    the archive at `uri`, checks it against `digest` and runs the task from it. Image mode:
    `image` (tagged from the digest) holds the code; steps with their own `image=` keep it.
    """

    #: "package" | "image".
    mode: str
    #: Hex sha256 of the code package archive (compiler/codepkg.py).
    digest: str
    #: The archive's URL in the store (`{store}/code/{digest}.tar`); package mode.
    uri: str | None = None
    #: The derived image tag; image mode.
    image: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitOptions:
    """Settings a backend may read: from CLI flags and the selected stack."""

    #: Default container image for steps without one.
    image: str = "python:3.11-slim"
    #: Kubernetes namespace, if any.
    namespace: str | None = None
    #: Kubernetes service account, if any.
    service_account: str | None = None
    #: Artifact store URI (e.g. s3://bucket/prefix) or a named artifact repository.
    artifact_store: str | None = None
    #: Output flavour for backends with several (Argo: "workflow" | "workflow-template").
    kind: str | None = None
    #: Extra labels and annotations for emitted objects.
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    #: Anything else from the stack, backend-specific.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: How the code travels to the pods; None: the image holds portaflow and the code already.
    code: CodeRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmittedFile:
    """One file a backend produced."""

    #: Path relative to the output folder, with forward slashes.
    path: str
    #: Full text, `\n` line endings.
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitResult:
    """What a backend produced: files, plus warnings (errors are raised as BackendError)."""

    files: tuple[EmittedFile, ...]
    warnings: tuple[BackendMessage, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendMessage:
    """Something a target cannot express, tied to a source location."""

    #: Stable code, e.g. "PF501".
    code: str
    #: What is wrong.
    message: str
    #: Where, as an IR span ("path:line:col" through str()).
    span: ir.Span | None = None
    #: How to write it instead.
    hint: str = ""


class BackendError(Exception):
    """Raised once at the end of `emit` with every problem the backend collected."""

    def __init__(self, messages: list[BackendMessage]) -> None:
        super().__init__("; ".join(m.message for m in messages))
        self.messages = messages


Emitter = Callable[..., EmitResult]

#: Built-in backends: name -> "module:function". Imported only when used.
BACKENDS: dict[str, str] = {
    "airflow": "portaflow.backends.airflow.emit:emit",
    "argo": "portaflow.backends.argo:emit",
    "kfp": "portaflow.backends.kfp:emit",
}


def available() -> list[str]:
    """Names of all backends, built-in and from entry points."""
    from importlib.metadata import entry_points  # costs ~30 ms: only when needed

    names = set(BACKENDS)
    names.update(ep.name for ep in entry_points(group="portaflow.backends"))
    return sorted(names | {"ir"})


def load(name: str) -> Emitter:
    """The emit function of a backend; unknown names get a "did you mean"."""
    target = BACKENDS.get(name)
    if target is None:
        from importlib.metadata import entry_points

        for ep in entry_points(group="portaflow.backends"):
            if ep.name == name:
                loaded: Emitter = ep.load()
                return loaded
        close = difflib.get_close_matches(name, available(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown target {name!r}{hint} (available: {', '.join(available())})")
    module, _, func = target.partition(":")
    fn: Emitter = getattr(importlib.import_module(module), func)
    return fn
