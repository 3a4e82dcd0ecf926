"""A local run's pipeline outputs: the values its top-level `return` declared.

Read from the executions that produced them, so `portaflow runs show` and
`RunResult.outputs` give the same answer for a finished, resumed or cached run.
A merged branch value (`ir.OneOf`) is the output of the option that ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portaflow.compiler import ir


def pipeline_outputs(
    pipeline: ir.Pipeline, outputs_by_key: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Output name -> the stored value (`{"param": ...}` or an artifact record); absent when
    the producing task did not run (a failed run)."""
    found: dict[str, Any] = {}
    for out in pipeline.outputs:
        for task, name in _sources(out.binding):
            value = (outputs_by_key.get(task) or {}).get(name)
            if value is not None:
                found[out.name] = value
                break
    return found


def _sources(binding: ir.Binding) -> list[tuple[str, str]]:
    match binding:
        case ir.TaskOutput(task=t, output=o):
            return [(t, o)]
        case ir.OneOf(options=opts):
            return [(o.task, o.output) for o in opts]
        case ir.ParamRef() | ir.Literal() | ir.LoopItem() | ir.Gathered():
            return []
    raise AssertionError(binding)  # pragma: no cover
