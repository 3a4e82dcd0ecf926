"""Hooks of a sub-pipeline: `on_exit=` / `on_failure=` on a `@pipeline` that another calls.

Called as a sub-pipeline, a pipeline's hooks are scoped to its group: each becomes a
status-aware task in the caller, right after the group — `run="done"` for `on_exit`,
`run="failed"` for `on_failure` — waiting for every task of the group. Backends then
need nothing new: KFP runs it with ALL_UPSTREAM_TASKS_COMPLETED after the group's DAG
task, reading that DAG's final status (the shape kfp gives a `dsl.ExitHandler`'s exit
task), Argo `depends` on the sub-DAG task's phase, Airflow a trigger rule on the task
group's tasks. Its inputs bind by name to the sub-pipeline's parameters, like a
pipeline hook's to the pipeline's.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from portaflow.compiler import ir
from portaflow.compiler.bodyctx import Ctx, Report
from portaflow.compiler.source import Module
from portaflow.compiler.steps import _PIPELINE_ARGS, StaticEval, decorator_args, decorator_kind

if TYPE_CHECKING:
    from portaflow.compiler.calls import CallCompiler

#: Pipeline hook keyword -> the run mode of the task it becomes inside a caller.
HOOK_RUN: dict[str, ir.RunMode] = {"on_exit": "done", "on_failure": "failed"}


def read_hook_step(
    cc: CallCompiler, module: Module, key: str, node: ast.expr, report: Report
) -> tuple[ir.StepDef, str] | None:
    """The @step that `key=node` of a @pipeline names, read and marked used, and its
    function's name (the hook task's id); PF305 if it names something else. Shared by a
    pipeline's own hooks and a sub-pipeline's."""
    sym = cc.project.resolve_expr(module, node)
    fn = sym.node if sym is not None and sym.kind == "def" else None
    if (
        sym is None
        or sym.module is None
        or not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        or (decorator_kind(cc.project, sym.module, fn) or ("",))[0] != "step"
    ):
        report(
            "PF305",
            node,
            f"{key}= must name a @step function, not `{ast.unparse(node)}`",
            f"define `@step def cleanup(): ...` and write `{key}=cleanup`",
        )
        return None
    step = cc.steps.read(sym.module, fn)
    if step is None:
        return None
    cc.used_step_nodes.add(id(fn))
    cc.step_defs[step.ref] = step
    return step, fn.name


def group_hooks(
    cc: CallCompiler,
    module: Module,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    group: tuple[str, ...],
    sub: Ctx,
    ctx: Ctx,
) -> None:
    """Append the tasks of `fn`'s hooks for one call of it, whose tasks are `group`."""
    kind = decorator_kind(cc.project, module, fn)
    if kind is None or not group:
        return
    report = cc.report_for(module)
    args = decorator_args(StaticEval(cc.project, module, report), kind[1], _PIPELINE_ARGS, "")
    for key, run in HOOK_RUN.items():
        if key not in args:
            continue
        node = args[key][1]
        found = read_hook_step(cc, module, key, node, report)
        if found is None:
            continue
        step, fn_name = found
        inputs = _inputs(step, sub, module, node, report)
        if inputs is None:
            continue
        cond: ir.Condition | None = None
        if len(ctx.conds) == 1:
            cond = ctx.conds[0]
        elif ctx.conds:
            cond = ir.All(operands=ctx.conds)
        cc.tasks.append(
            ir.Task(
                id=cc.unique_id(ctx.prefix + fn_name),
                step=step.ref,
                inputs=tuple(inputs),
                after=group,
                condition=cond,
                loop=ctx.loops[-1] if ctx.loops else None,
                scope=ctx.scope,
                run=run,
                span=module.span(node),
            )
        )


def _inputs(
    step: ir.StepDef, sub: Ctx, module: Module, node: ast.expr, report: object
) -> list[ir.InputBinding] | None:
    out: list[ir.InputBinding] = []
    ok = True
    for inp in step.inputs:
        if inp.type.type == ir.RUN_STATUS:
            continue  # the runner passes the group's status
        val = sub.env.get(inp.name)
        if val is None or val.binding is None:
            if not inp.has_default:
                report(  # type: ignore[operator]
                    "PF305",
                    node,
                    f"hook step {step.name!r} needs input {inp.name!r}, which is not a "
                    "parameter of the sub-pipeline",
                    "a hook's inputs are bound by name to its pipeline's parameters; "
                    "give it a default",
                )
                ok = False
            continue
        if not isinstance(val.binding, (ir.Literal, ir.ParamRef, ir.LoopItem)):
            report(  # type: ignore[operator]
                "PF257",
                node,
                f"hook step {step.name!r} of a sub-pipeline reads {inp.name!r}, a step output "
                "in the caller: the hook runs whatever that step did",
                "pass the sub-pipeline a parameter or literal there, or give the hook a default",
            )
            ok = False
            continue
        out.append(
            ir.InputBinding(
                name=inp.name, binding=val.binding, kind="parameter", span=module.span(node)
            )
        )
    return out if ok else None
