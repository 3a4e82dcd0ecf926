"""Status-aware step calls: the `run=` keyword and `RunStatus` inputs (docs/CONTRACTS.md).

`run="succeeded"` (default) | `"done"` | `"failed"` next to `after=` says which outcomes
of the upstreams let a step run; a step may declare a `portaflow.RunStatus` input, which
the runner fills (the caller never passes it).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from portaflow.compiler import ir
from portaflow.compiler.bodyctx import Ctx

if TYPE_CHECKING:
    from portaflow.compiler.calls import CallCompiler


def run_mode(
    cc: CallCompiler, node: ast.Call, names: list[str], ctx: Ctx
) -> tuple[ir.RunMode, ast.Call]:
    """The call's `run=` keyword (status-aware execution), and the call without it."""
    found = [kw for kw in node.keywords if kw.arg == "run" and "run" not in names]
    if not found:
        return "succeeded", node
    kw = found[-1]
    value = kw.value.value if isinstance(kw.value, ast.Constant) else None
    if value not in ir.RUN_MODES:
        raise cc.error(
            ctx,
            "PF255",
            kw.value,
            f"`run=` takes one of {', '.join(map(repr, ir.RUN_MODES))}",
            'write `run="done"` (after its upstreams finish, whatever their status) or '
            '`run="failed"` (only if one of them failed)',
        )
    rest = ast.Call(
        func=node.func,
        args=node.args,
        keywords=[k for k in node.keywords if k is not kw],
    )
    ast.copy_location(rest, node)
    rest.end_lineno, rest.end_col_offset = node.end_lineno, node.end_col_offset
    return value, rest


def check_run_status(
    cc: CallCompiler,
    node: ast.Call,
    step: ir.StepDef,
    status: list[str],
    bound: dict[str, ast.expr],
    run: str,
    ctx: Ctx,
) -> None:
    """A `RunStatus` input is the runner's to fill, and only a status-aware step has one."""
    for name in status:
        if name in bound:
            raise cc.error(
                ctx,
                "PF259",
                bound[name],
                f"input {name!r} of step {step.name!r} is a RunStatus: the runner passes it",
                "leave it out of the call",
            )
        if run == "succeeded":
            raise cc.error(
                ctx,
                "PF259",
                node,
                f"step {step.name!r} takes a RunStatus ({name!r}), which only a hook or a "
                'step called with run="done" or run="failed" receives',
                'call it with `after=[...], run="done"`, or make it a pipeline hook',
            )


def check_run_mode(
    cc: CallCompiler,
    node: ast.Call,
    run: str,
    inputs: list[ir.InputBinding],
    after_exprs: list[ast.expr],
    ctx: Ctx,
) -> None:
    """A `run="done"`/`"failed"` step waits only on `after=`, at the top of a body."""
    if ctx.conds or ctx.loops:
        raise cc.error(
            ctx,
            "PF258",
            node,
            f'a `run="{run}"` step cannot be inside an `if` branch or a loop',
            "call it at the top level of the pipeline body, after= the branch's or loop's results",
        )
    if not after_exprs:
        raise cc.error(
            ctx,
            "PF256",
            node,
            f'a `run="{run}"` step needs `after=[...]`: the steps whose outcome it waits for',
            f'write `{ast.unparse(node.func)}(..., after=[result], run="{run}")`',
        )
    for b in inputs:
        if not isinstance(b.binding, (ir.Literal, ir.ParamRef)):
            raise cc.error(
                ctx,
                "PF257",
                node,
                f'a `run="{run}"` step cannot read a step output ({b.name!r}): the step '
                "that makes it may have failed",
                "order it with after= only, and pass parameters or literals",
            )
