"""Pipeline outputs: what a top-level `@pipeline` returns becomes the run's declared result.

`return model, rmse` at the end of a top-level pipeline declares two outputs,
named after the returned variables (`output` / `output_<i>` for other
expressions). KFP writes them as the pipeline's outputs, Argo as the workflow's
outputs, the local runner records them with the run (`portaflow runs show`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from portaflow.compiler import ir
from portaflow.compiler.bodyctx import Ctx, Value

_HINT = (
    "return step outputs assigned in the pipeline body, as the last statement: "
    "`return model` or `return model, rmse`"
)


def pipeline_outputs(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Ctx, report: Callable[..., None]
) -> tuple[ir.PipelineOutput, ...]:
    """The outputs declared by the pipeline's `return`; reports PF252 for what cannot be one."""
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None]
    if not returns:
        return ()
    last = fn.body[-1]
    for ret in returns:
        if ret is not last:
            report(
                "PF252",
                ret,
                "a pipeline returns its outputs once, as the last statement of its body",
                _HINT,
            )
            return ()
    assert isinstance(last, ast.Return) and last.value is not None
    if not ctx.returned or ctx.returned[-1] is None:
        return ()  # the returned expression already has its own error
    value = ctx.returned[-1]
    exprs = last.value.elts if isinstance(last.value, ast.Tuple) else [last.value]
    values: tuple[Value, ...] = value.multi if value.multi is not None else (value,)
    if len(exprs) != len(values):  # `return step_with_two_outputs()`
        exprs = [last.value] * len(values)
    out: list[ir.PipelineOutput] = []
    seen: set[str] = set()
    for i, (expr, val) in enumerate(zip(exprs, values, strict=True)):
        if isinstance(expr, ast.Name):
            name = expr.id
        else:
            name = "output" if len(values) == 1 else f"output_{i}"
        if not isinstance(val.binding, (ir.TaskOutput, ir.OneOf)):
            what = (
                "a fan-in list"
                if isinstance(val.binding, ir.Gathered)
                else "a parameter or literal"
                if isinstance(val.binding, (ir.ParamRef, ir.Literal, ir.LoopItem))
                else "nothing (a step without outputs)"
            )
            report(
                "PF252",
                expr,
                f"a pipeline output must be one step output, and `{ast.unparse(expr)}` is {what}",
                _HINT
                + (
                    "; to return a fan-in, pass it to a step that returns it"
                    if what[0] == "a"
                    else ""
                ),
            )
            continue
        if name in seen:
            report("PF252", expr, f"the pipeline returns {name!r} twice", "return each value once")
            continue
        seen.add(name)
        out.append(
            ir.PipelineOutput(
                name=name,
                binding=val.binding,
                type=ir.TypeInfo(annotation="", type=val.type, kind=val.kind),
                span=ctx.module.span(expr),
            )
        )
    return tuple(out)
