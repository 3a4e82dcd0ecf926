"""Shared fixtures of the Argo backend tests: Argo's schema (loosened as documented) and the example corpus."""

from __future__ import annotations

import copy
import json
import os
import tarfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO.parent / "shared" / "conformance"
KINDS = (
    "Workflow",
    "WorkflowTemplate",
    "CronWorkflow",
    "ClusterWorkflowTemplate",
    "WorkflowEventBinding",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    # The lead's tests/conftest.py may define it first; adding it twice is an error.
    try:
        parser.addoption("--update-golden", action="store_true", help="rewrite golden files")
    except ValueError:
        pass


def conformance_file(name: str) -> Path:
    """A file of Argo's conformance data; skips outside CI when it is absent, fails under CI."""
    path = CONFORMANCE / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: the conformance data must sit beside the repo in CI")
        pytest.skip(
            f"{path} is missing (Argo's JSON schema and examples, kept beside the repository); "
            "the schema checks need it, every other Argo check ran"
        )
    return path


def schema_available() -> bool:
    """Whether Argo's JSON schema can be checked here (under CI it must: missing data fails)."""
    return bool(os.environ.get("CI")) or (CONFORMANCE / "argo-workflows-schema.json").exists()


@cache
def _validators() -> dict[str, jsonschema.Draft202012Validator]:
    schema = json.loads(conformance_file("argo-workflows-schema.json").read_text())
    defs = copy.deepcopy(schema["definitions"])
    # Documented quirks: integers Argo accepts for IntOrString and Quantity.
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] = ["string", "integer"]
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] = ["string", "number"]
    # Catch typos: no unknown keys in any object that lists its properties.
    for d in defs.values():
        if isinstance(d, dict) and "properties" in d:
            d["additionalProperties"] = False
    out = {}
    for kind in KINDS:
        sub = {
            "$schema": schema["$schema"],
            "definitions": defs,
            "$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}",
        }
        out[kind] = jsonschema.Draft202012Validator(sub)
    return out


def schema_errors(doc: dict[str, Any]) -> list[str]:
    """Schema violations of one Argo document, as readable lines."""
    validator = _validators().get(doc.get("kind", ""))
    if validator is None:
        return [f"not an Argo kind: {doc.get('kind')!r}"]
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


@cache
def argo_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every Argo document in Argo's own examples, with its file name."""
    out = []
    with tarfile.open(conformance_file("argo-workflows-examples.tar.gz")) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.name.endswith((".yaml", ".yml")):
                continue
            f = tar.extractfile(member)
            assert f is not None
            for doc in yaml.safe_load_all(f.read().decode()):
                if isinstance(doc, dict) and doc.get("kind") in KINDS:
                    out.append((member.name, doc))
    return out
