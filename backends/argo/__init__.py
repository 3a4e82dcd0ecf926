"""The Argo Workflows backend: IR -> Workflow / WorkflowTemplate / CronWorkflow YAML."""

from __future__ import annotations

from .emit import emit

__all__ = ["emit"]
