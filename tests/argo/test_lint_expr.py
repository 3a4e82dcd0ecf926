"""The lint reads variables of an expression tag, never the text of its string literals."""

from __future__ import annotations

from typing import Any

from portaflow.backends.argo.lint import lint


def _workflow(when: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "w"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {"tasks": [{"name": "a", "template": "inner"}]},
                },
                {
                    "name": "inner",
                    "inputs": {"parameters": [{"name": "p"}]},
                    "dag": {"tasks": [{"name": "b", "template": "leaf", "when": when}]},
                },
                {"name": "leaf", "container": {"image": "python:3.11-slim"}},
            ],
        },
    }


def test_a_literal_that_spells_a_variable_is_not_one() -> None:
    # Found by tests/argo/test_generated.py: a condition on the hostile literal
    # "{{inputs.parameters.x}}", written \\u-escaped in the expression, was flagged.
    literal = r"'\u007b\u007binputs.parameters.x\u007d\u007d tasks.nope \' inputs.parameters.y'"
    when = "{{=inputs.parameters.p == " + literal + "}}"
    assert lint(_workflow(when)) == []


def test_real_unknown_variables_are_still_caught() -> None:
    errs = lint(_workflow("{{=inputs.parameters.q == 'inputs.parameters.p'}}"))
    assert any("unknown input parameter 'q'" in e for e in errs), errs
    errs = lint(_workflow("{{=inputs.parameters['r'] == \"x\"}}"))
    assert any("unknown input parameter 'r'" in e for e in errs), errs
