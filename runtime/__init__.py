"""portaflow: write an ML pipeline once in plain Python, run it anywhere.

This package is the user-facing language and the in-container task runtime.
It imports only the standard library, because it runs inside every task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portaflow.container import container_step
    from portaflow.dsl import (
        Model,
        Pipeline,
        Resources,
        Retry,
        Schedule,
        SecretEnv,
        Step,
        Volume,
        parallel,
        pipeline,
        step,
    )
    from portaflow.imports import importer, model_version
    from portaflow.metadata import log_metadata, log_metric
    from portaflow.registry import materializer
    from portaflow.status import RunStatus
    from portaflow.volumes import volume_path

#: Public name -> module that defines it. Loaded on first use (PEP 562), so the
#: command line and the task runtime pay only for what they use.
_LAZY = {
    "Model": "portaflow.dsl",
    "Pipeline": "portaflow.dsl",
    "Resources": "portaflow.dsl",
    "Retry": "portaflow.dsl",
    "RunStatus": "portaflow.status",
    "Schedule": "portaflow.dsl",
    "SecretEnv": "portaflow.dsl",
    "Step": "portaflow.dsl",
    "parallel": "portaflow.dsl",
    "Volume": "portaflow.dsl",
    "container_step": "portaflow.container",
    "importer": "portaflow.imports",
    "model_version": "portaflow.imports",
    "pipeline": "portaflow.dsl",
    "step": "portaflow.dsl",
    "log_metadata": "portaflow.metadata",
    "log_metric": "portaflow.metadata",
    "materializer": "portaflow.registry",
    "volume_path": "portaflow.volumes",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'portaflow' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__version__ = "0.1.0"

__all__ = [
    "Model",
    "Pipeline",
    "Resources",
    "Retry",
    "RunStatus",
    "Schedule",
    "SecretEnv",
    "Step",
    "Volume",
    "__version__",
    "container_step",
    "importer",
    "log_metadata",
    "log_metric",
    "materializer",
    "model_version",
    "parallel",
    "pipeline",
    "step",
    "volume_path",
]
