"""What every emitted Argo document must pass: schema, hera's models, our lint, a YAML round trip."""

from __future__ import annotations

import re
from typing import Any

import yaml
from hera.workflows import models as m

from portaflow.backends import EmitResult
from portaflow.backends.argo.lint import lint

from . import controller as ctl
from .conftest import schema_available, schema_errors

_HERA = {
    "Workflow": m.Workflow,
    "WorkflowTemplate": m.WorkflowTemplate,
    "CronWorkflow": m.CronWorkflow,
}


def _as_newest(doc: dict[str, Any]) -> dict[str, Any]:
    """A v3.5 CronWorkflow (`schedule`, a string) in the schema's form (`schedules`).

    The conformance schema and hera follow the newest Argo, which dropped `schedule`;
    v3.5's CronWorkflowSpec has only `schedule` and requires it
    (pkg/apis/workflow/v1alpha1/cron_workflow_types.go at v3.5.14, line 46).
    """
    spec = doc.get("spec", {})
    if doc.get("kind") != "CronWorkflow" or "schedule" not in spec:
        return doc
    assert isinstance(spec["schedule"], str) and "schedules" not in spec
    new = {("schedules" if k == "schedule" else k): v for k, v in spec.items()}
    new["schedules"] = [spec["schedule"]]
    return {**doc, "spec": new}


def check_result(result: EmitResult) -> list[dict[str, Any]]:
    """Parse and check every file; returns the documents.

    Hera's models, the lint and the round trip always run; Argo's JSON schema runs
    where ../shared/conformance/ is present (always under CI). The schema's own tests
    (test_conformance.py, test_golden.py::test_golden_schema) skip with the reason
    when it is absent, so a missing schema is never silent.
    """
    docs = []
    for f in result.files:
        assert f.text.endswith("\n") and "\r" not in f.text
        doc = _as_newest(yaml.safe_load(f.text))
        if schema_available():
            assert schema_errors(doc) == [], f.path
        assert lint(doc) == [], f.path
        # hera's model reads every key we wrote (it ignores unknown ones, so compare the dump).
        model = _HERA[doc["kind"]].model_validate(doc)
        assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == doc, f.path
        check_tags(doc)
        docs.append(doc)
    return docs


_SIMPLE_TAG = re.compile(r"(inputs|tasks|workflow)\.[A-Za-z0-9_.-]+|item|retries")


def check_tags(doc: Any) -> None:
    """Every `{{...}}` in every string is a tag portaflow wrote: a simple reference, or an
    expression that tokenizes with balanced brackets; no user text ever forms a tag."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            check_tags(k)
            check_tags(v)
    elif isinstance(doc, list):
        for v in doc:
            check_tags(v)
    elif isinstance(doc, str):
        for tag in ctl.tags(doc):
            if not tag.startswith("="):
                assert _SIMPLE_TAG.fullmatch(tag), (tag, doc)
                continue
            depth = 0
            for kind, v in ctl._tokens(tag[1:]):
                if kind == "op" and v in "([{":
                    depth += 1
                elif kind == "op" and v in ")]}":
                    depth -= 1
                assert depth >= 0, doc
            assert depth == 0, doc
