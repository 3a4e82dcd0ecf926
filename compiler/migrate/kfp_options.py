"""KFP task methods (`.set_retry`, `.set_cpu_limit`, ...) -> portaflow step options."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst
from libcst.metadata import CodeRange

from portaflow.compiler.migrate.kfp_common import Context, arg, literal_str, make_call, positional

Where = Callable[[cst.CSTNode], CodeRange | None]

#: Resource methods of a kfp PipelineTask -> the `Resources` field (other unknown methods: PF803).
_RESOURCE = {
    "set_cpu_limit": "cpu",
    "set_cpu_request": "cpu",
    "set_memory_limit": "memory",
    "set_memory_request": "memory",
    "set_accelerator_type": "gpu_vendor",
    "set_accelerator_limit": "gpu",
    "set_gpu_limit": "gpu",
}
_RETRY = {
    "num_retries": "max",
    "backoff_duration": "delay",
    "backoff_factor": "factor",
    "backoff_max_duration": "max_delay",
}
HINT_OPTIONS = (
    "portaflow options belong to the step: @step(retries=Retry(...), resources=Resources(...), "
    "env={...}, cache=...) applies to every call; give the calls that need other options a "
    "step of their own"
)


def task_options(
    ctx: Context, where: Where, methods: list[cst.Call]
) -> tuple[list[cst.BaseExpression], dict[str, cst.BaseExpression], list[cst.Call]]:
    """A task's method calls -> (its `.after()` arguments, step options, methods kept as they are)."""
    after: list[cst.BaseExpression] = []
    options: dict[str, cst.BaseExpression] = {}
    resources: dict[str, cst.BaseExpression] = {}
    env: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
    kept: list[cst.Call] = []
    for m in methods:
        assert isinstance(m.func, cst.Attribute)
        name = m.func.attr.value
        if name == "after":
            after += [a.value for a in m.args]
        elif name in _RESOURCE:
            value = arg(m, 0, "cpu" if "cpu" in name else "memory" if "memory" in name else "limit")
            if value is None:
                value = positional(m)[0] if positional(m) else cst.Name("None")
            if _RESOURCE[name] == "gpu":
                text = literal_str(value)
                if text is not None and text.isdigit():
                    value = cst.Integer(text)
            resources[_RESOURCE[name]] = value
        elif name == "set_retry":
            fields: list[tuple[str | None, cst.BaseExpression]] = []
            for i, (kfp_name, pf_name) in enumerate(_RETRY.items()):
                v = arg(m, i, kfp_name)
                if v is not None:
                    fields.append((pf_name, v))
            options["retries"] = make_call("Retry", fields)
            ctx.portaflow.add("Retry")
        elif name == "set_caching_options":
            value = arg(m, 0, "enable_caching")
            if value is not None:
                options["cache"] = value
        elif name == "set_env_variable":
            key, value = arg(m, 0, "name"), arg(m, 1, "value")
            if key is not None and value is not None:
                env.append((key, value))
        elif name == "set_display_name":
            ctx.add(
                "PF803",
                "warning",
                "`.set_display_name(...)` is dropped: a portaflow task is named after its step",
                where(m.func.attr),
                "name the step instead: @step(name=...), or rename the function",
            )
        else:
            kept.append(m)
            ctx.add(
                "PF803",
                "error",
                f"task method `.{name}(...)` has no portaflow equivalent",
                where(m.func.attr),
                HINT_OPTIONS,
            )
    if resources:
        order = ["cpu", "memory", "gpu", "gpu_vendor"]
        given: list[tuple[str | None, cst.BaseExpression]] = [
            (k, resources[k]) for k in order if k in resources
        ]
        options["resources"] = make_call("Resources", given)
        ctx.portaflow.add("Resources")
    if env:
        options["env"] = cst.Dict(
            [cst.DictElement(k, v) for k, v in env],
        )
    return after, options, kept
