"""The loosened schema and the lint have no false positives on Argo's own examples, and catch typos."""

from __future__ import annotations

import copy

from portaflow.backends.argo.lint import lint

from .conftest import argo_examples, schema_errors


def test_schema_accepts_all_argo_examples() -> None:
    docs = argo_examples()
    assert len(docs) == 225
    rejected = [(name, schema_errors(d)[:2]) for name, d in docs if schema_errors(d)]
    assert rejected == []


def test_lint_accepts_all_argo_examples() -> None:
    flagged = [(name, lint(d)) for name, d in argo_examples() if lint(d)]
    assert flagged == []


def _hello() -> dict:
    return copy.deepcopy(next(d for n, d in argo_examples() if n.endswith("/dag-diamond.yaml")))


def test_schema_catches_a_typo() -> None:
    doc = _hello()
    task = doc["spec"]["templates"][0]["dag"]["tasks"][1]
    task["dependecies"] = task.pop("depends", "A")
    assert any("dependecies" in e for e in schema_errors(doc))


def test_lint_catches_what_argo_rejects() -> None:
    doc = _hello()
    tasks = doc["spec"]["templates"][0]["dag"]["tasks"]
    tasks[0]["depends"] = "D"  # A after D after ... after A: a cycle
    tasks[1]["template"] = "nope"
    tasks[2]["depends"] = "Z"
    doc["spec"]["entrypoint"] = "missing"
    errs = "\n".join(lint(doc))
    assert "cycle" in errs and "'nope'" in errs and "'Z'" in errs and "entrypoint" in errs


def test_lint_allows_retries_only_where_argo_defines_it() -> None:
    # validate.go puts `retries` in a template's scope only when it has a retryStrategy.
    doc = _hello()
    leaf = next(t for t in doc["spec"]["templates"] if "container" in t)
    leaf["container"]["env"] = [{"name": "PORTAFLOW_RETRY", "value": "{{retries}}"}]
    assert any("{{retries}} in a template without a retryStrategy" in e for e in lint(doc))
    leaf["retryStrategy"] = {"limit": "2"}
    assert not any("retries" in e for e in lint(doc))
