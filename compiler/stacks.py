"""Stacks: named settings in `[tool.portaflow]` of pyproject.toml or in portaflow.toml.

    [tool.portaflow]
    default_stack = "dev"

    [tool.portaflow.stacks.prod]
    target = "argo"
    image = "ghcr.io/acme/train:1.4"
    artifact_store = "my-artifact-repo"     # Argo artifactRepositoryRef / s3://... URI
    namespace = "ml"
    service_account = "pipeline-runner"
    host = "https://argo.example.com"
    labels = { team = "ml" }
    store = "s3://ml-store/team-a"          # the code travels as a package (docs/deploy.md)
    code = "package"                        # or "image"; default package with a store URL

`portaflow compile pipeline.py --stack prod` swaps the orchestrator without
touching the pipeline code. portaflow.toml uses the same keys without the
`tool.portaflow` prefix.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

#: Keys a stack may set, with what each means.
KNOWN_KEYS: dict[str, str] = {
    "target": "default compile target: argo, kfp, airflow, ir, or local for `run`",
    "image": "default container image for steps without one",
    "image_repository": 'image mode: the repository of the derived tag, e.g. "ghcr.io/team/project"',
    "base_image": 'image mode: the Dockerfile\'s FROM, pinned (default "python:3.11-slim")',
    "artifact_store": "artifact repository name or URI",
    "namespace": "Kubernetes namespace",
    "service_account": "Kubernetes service account",
    "host": "engine API URL for `portaflow submit`",
    "store": "the store: a folder (default .portaflow) or a URL every target writes to "
    "(s3://bucket/prefix, gs://, az://, file://; docs/stores.md)",
    "store_secret": "Kubernetes secret holding the store's credentials (mounted with envFrom)",
    "store_options": "fsspec options for the store as JSON, e.g. an endpoint_url (no secrets)",
    "kind": "output flavour, e.g. workflow-template for Argo",
    "labels": "labels added to emitted objects",
    "annotations": "annotations added to emitted objects",
    "extra": "backend-specific settings",
    "argo_version": "Argo release the output must run on (3.5, 3.6, 3.7, 4.0, 4.1; default 4.1)",
    "kfp_executor": "KFP executor flavour: python (lightweight components) or container",
    "airflow_operator": "Airflow task flavour: kubernetes (pods) or local (the worker runs the step)",
    "dags_folder": "Airflow dags folder `portaflow submit --target airflow` writes into",
    "mlflow_tracking_uri": "MLflow tracking URI `portaflow run` logs runs to (env MLFLOW_TRACKING_URI wins)",
    "env_file": "`.env` file (relative to the project root) holding SecretEnv values for `run`",
    "code": "how the code reaches the cluster's pods: package (default with a store URL: "
    "`portaflow publish` writes an archive the manifest fetches) or image (docs/deploy.md)",
}

#: Values of the `code` key.
CODE_MODES = ("package", "image")


class StackError(Exception):
    """A stack file that cannot be read, or an unknown stack or key."""


@dataclass(frozen=True, slots=True)
class Stack:
    """One named stack."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


def _config(root: Path) -> tuple[dict[str, Any], str]:
    toml = root / "portaflow.toml"
    if _is_file(toml):
        return _read(toml), "portaflow.toml"
    py = root / "pyproject.toml"
    if _is_file(py):
        data = _read(py)
        tool = data.get("tool", {})
        section = tool.get("portaflow", {}) if isinstance(tool, dict) else {}
        return (section if isinstance(section, dict) else {}), "pyproject.toml [tool.portaflow]"
    return {}, "(no config)"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise StackError(f"cannot read {path}: {exc}") from exc


def load_stack(root: Path, name: str | None) -> Stack:
    """The stack `name` (or the default one) of the project at `root`; empty when none is set."""
    config, where = _config(root)
    stacks = config.get("stacks", {})
    if not isinstance(stacks, dict):
        raise StackError(f"{where}: `stacks` must be a table of named stacks")
    chosen = name or config.get("default_stack")
    if chosen is None:
        return Stack("default", {})
    if chosen not in stacks:
        known = ", ".join(sorted(stacks)) or "none"
        raise StackError(f"no stack named {chosen!r} in {where} (stacks: {known})")
    settings = stacks[chosen]
    if not isinstance(settings, dict):
        raise StackError(f"{where}: stack {chosen!r} must be a table")
    unknown = sorted(set(settings) - set(KNOWN_KEYS))
    if unknown:
        raise StackError(
            f"{where}: stack {chosen!r} has unknown key(s) {', '.join(unknown)}; "
            f"known keys: {', '.join(KNOWN_KEYS)}"
        )
    for key, value in settings.items():
        wanted = dict if key in _TABLE_KEYS else str
        if not isinstance(value, wanted):
            shape = 'a table, e.g. { team = "ml" }' if wanted is dict else "a string"
            raise StackError(f"{where}: stack {chosen!r}: `{key}` must be {shape}")
    code = settings.get("code")
    if code is not None and code not in CODE_MODES:
        raise StackError(
            f'{where}: stack {chosen!r}: `code` must be "package" or "image", got {code!r}'
        )
    if code == "package" and "://" not in str(settings.get("store", "")):
        raise StackError(
            f'{where}: stack {chosen!r}: code = "package" needs a store URL to publish the '
            'code to, e.g. store = "s3://bucket/prefix" (docs/deploy.md)'
        )
    return Stack(chosen, dict(settings))


def code_mode(stack: Stack) -> str | None:
    """How the stack's code travels: its `code` key, else "package" when its store is a URL,
    else None (the image must hold portaflow and the project's code already)."""
    code = stack.get("code")
    if code is not None:
        return str(code)
    return "package" if "://" in str(stack.get("store", "")) else None


#: Keys whose value is a table; every other key takes a string.
_TABLE_KEYS = frozenset({"labels", "annotations", "extra"})


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as exc:
        raise StackError(f"cannot read {path}: {exc.strerror or exc}") from exc
