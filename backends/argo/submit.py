"""Submit emitted Argo documents to an Argo Server through hera's WorkflowsService.

Each document goes to the matching create call of Argo's REST API
(https://argo-workflows.readthedocs.io/en/latest/rest-api/). A Workflow is sent with
`generateName` instead of its fixed name, so every submission starts a new run.
"""

from __future__ import annotations

from typing import Any

import yaml
from hera.workflows import models as m
from hera.workflows.service import WorkflowsService

from portaflow.backends import EmitResult


def _bearer(token: str | None) -> str | None:
    if not token:
        return None
    return token if token.lower().startswith(("bearer ", "basic ")) else f"Bearer {token}"


def submit(
    result: EmitResult,
    *,
    host: str,
    token: str | None,
    namespace: str | None,
    verify_ssl: bool = True,
) -> list[str]:
    """Create every document of `result` on the server; returns `Kind/name` of each object made."""
    service = WorkflowsService(host=host, token=_bearer(token), verify_ssl=verify_ssl)
    created: list[str] = []
    for f in result.files:
        doc: dict[str, Any] = yaml.safe_load(f.text)
        ns = namespace or doc["metadata"].get("namespace") or "default"
        kind = doc["kind"]
        if kind == "Workflow":
            meta = doc["metadata"]
            if "name" in meta:
                meta["generateName"] = meta.pop("name") + "-"
            wf = service.create_workflow(
                m.WorkflowCreateRequest(workflow=m.Workflow.model_validate(doc)), namespace=ns
            )
            created.append(f"Workflow/{wf.metadata.name}")
        elif kind == "WorkflowTemplate":
            wt = service.create_workflow_template(
                m.WorkflowTemplateCreateRequest(template=m.WorkflowTemplate.model_validate(doc)),
                namespace=ns,
            )
            created.append(f"WorkflowTemplate/{wt.metadata.name}")
        elif kind == "CronWorkflow":
            cw = service.create_cron_workflow(
                m.CreateCronWorkflowRequest(cron_workflow=m.CronWorkflow.model_validate(doc)),
                namespace=ns,
            )
            created.append(f"CronWorkflow/{cw.metadata.name}")
        else:  # pragma: no cover - emit produces only the kinds above
            raise ValueError(f"cannot submit a {kind}")
    return created
