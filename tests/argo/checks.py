"""What every emitted Argo document must pass: schema, hera's models, our lint, a YAML round trip."""

from __future__ import annotations

from typing import Any

import yaml
from hera.workflows import models as m

from portaflow.backends import EmitResult
from portaflow.backends.argo.lint import lint

from .conftest import schema_available, schema_errors

_HERA = {
    "Workflow": m.Workflow,
    "WorkflowTemplate": m.WorkflowTemplate,
    "CronWorkflow": m.CronWorkflow,
}


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
        doc = yaml.safe_load(f.text)
        if schema_available():
            assert schema_errors(doc) == [], f.path
        assert lint(doc) == [], f.path
        # hera's model reads every key we wrote (it ignores unknown ones, so compare the dump).
        model = _HERA[doc["kind"]].model_validate(doc)
        assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == doc, f.path
        docs.append(doc)
    return docs
