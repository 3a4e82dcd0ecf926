"""portaflow: write an ML pipeline once in plain Python, run it anywhere.

This package is the user-facing language and the in-container task runtime.
It imports only the standard library, because it runs inside every task.
"""

from __future__ import annotations

from portaflow.dsl import (
    Model,
    Pipeline,
    Resources,
    Retry,
    Schedule,
    Step,
    pipeline,
    step,
)
from portaflow.metadata import log_metadata, log_metric
from portaflow.registry import materializer

__version__ = "0.1.0"

__all__ = [
    "Model",
    "Pipeline",
    "Resources",
    "Retry",
    "Schedule",
    "Step",
    "__version__",
    "log_metadata",
    "log_metric",
    "materializer",
    "pipeline",
    "step",
]
