"""Status-aware tasks on Argo: `depends` of a `run="done"`/`"failed"` task, RunStatus inputs.

Argo's enhanced `depends` names each upstream's result
(https://argo-workflows.readthedocs.io/en/latest/enhanced-depends-logic/).
"""

from __future__ import annotations

from portaflow.compiler import ir


def inputs_of(step: ir.StepDef) -> list[str]:
    """The step's inputs that receive a RunStatus."""
    return [i.name for i in step.inputs if i.type.type == ir.RUN_STATUS]


def depends(names: list[str], *, failed: bool) -> str:
    """`depends` of a `run="done"` / `run="failed"` task: every upstream finished, whatever its
    phase, and for "failed" at least one Failed or Errored."""
    done = " && ".join(
        f"({n}.Succeeded || {n}.Skipped || {n}.Omitted || {n}.Failed || {n}.Errored)" for n in names
    )
    if not failed:
        return done
    return f"{done} && ({' || '.join(f'{n}.Failed || {n}.Errored' for n in names)})"
