"""The container template of a `container_step`: the user's image and argv, no task runtime.

An Argo parameter of this backend carries JSON text, or a raw string for a loop item
(docs/CONTRACTS.md), so an `{input}` placeholder becomes an expression that decodes a
value starting with `"` and takes any other as is: the value, one argv item (or part of
one), never a shell string. `{outputs.name}` is a
file under /portaflow/out, an emptyDir the pod mounts, read back by Argo as the
output parameter: raw text, which a downstream step reads like a raw string (docs/backends/argo.md, "Container steps").
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from portaflow.compiler import ir

from . import codes, names, values
from . import manifest as mf
from .containers import OUT, Message, Shape, _resources, _retry, provenance
from .manifest import Obj

_OUT_VOLUME = "portaflow-out"


def command_template(
    *,
    name: str,
    step: ir.StepDef,
    shape: Shape,
    extra: Mapping[str, Any],
    errors: list[Message],
    warnings: list[Message],
    backoff_cap: bool,
) -> Obj:
    """The template running a container step's command in its image."""
    spec = step.container
    assert spec is not None
    argv: list[str] = []
    for item in spec.command:
        if _braces_clash(item):
            errors.append(
                (
                    codes.CONTAINER_STEP,
                    f"container step {step.name!r}: command item {item!r} holds a literal brace "
                    "next to another, which Argo would read as a template tag",
                    step.span,
                    "pass the text as an input instead",
                )
            )
        parts: list[str] = []
        for text, field, _spec, _conv in string.Formatter().parse(item):
            parts.append(values.k8s_escape_dollar(text))
            if field is None:
                continue
            if field.startswith("outputs."):
                parts.append(f"{OUT}/{names.param_name(field[8:])}")
            else:
                var = values.expr_var("inputs", "parameters", names.param_name(field))
                # JSON text (parameters, literals, @step outputs) is decoded; a raw string
                # (a loop item, a container step's output) is taken as is, as conditions do.
                parts.append(f"{{{{=({var} startsWith '\"' ? {values.decode(var)} : {var})}}}}")
        argv.append("".join(parts))
    in_params = [mf.parameter(name="portaflow-task")]
    in_params += [mf.parameter(name=names.param_name(inp)) for _how, inp in shape.inputs]
    out_params = [
        mf.parameter(
            name=names.param_name(o.name),
            value_from=mf.value_from(path=f"{OUT}/{names.param_name(o.name)}"),
        )
        for o in step.outputs
    ]
    if values.has_tag(spec.image):
        errors.append(
            (
                codes.TEMPLATE_TAG,
                f"step {step.name!r}: image {spec.image!r} holds '{{{{'",
                step.span,
                "",
            )
        )
    return mf.template(
        name=name,
        metadata=mf.metadata(annotations=provenance(step.span, step.code_hash, step=step.ref)),
        inputs=mf.inputs(parameters=in_params),
        outputs=mf.outputs(parameters=out_params) if out_params else None,
        container=mf.container(
            image=spec.image,
            command=argv,
            resources=_resources(step.config.resources, extra),
            volume_mounts=[mf.volume_mount(name=_OUT_VOLUME, mount_path=OUT)],
        ),
        retry_strategy=_retry(step, errors, warnings, backoff_cap),
        active_deadline_seconds=step.config.timeout_seconds or None,
        volumes=[mf.volume(name=_OUT_VOLUME, empty_dir=mf.empty_dir_volume_source())],
    )


def _braces_clash(item: str) -> bool:
    """Whether the literal text of an argv item would read as (or touch) a `{{...}}` tag."""
    joined = "".join(
        text + ("\0" if f is not None else "") for text, f, _s, _c in string.Formatter().parse(item)
    )
    return any(bad in joined for bad in ("{{", "}}", "{\0", "\0}"))
