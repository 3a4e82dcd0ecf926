"""The Kubeflow Pipelines v2 backend: IR -> PipelineSpec YAML (plus a kfp-kubernetes platform spec)."""

from __future__ import annotations

from .emit import emit

__all__ = ["emit"]
