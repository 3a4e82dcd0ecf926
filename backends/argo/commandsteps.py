"""The container template of a `container_step`: the user's image and argv, no task runtime.

Every Argo parameter of this backend carries JSON text (docs/CONTRACTS.md), so an
`{input}` placeholder becomes `{{=jsonpath(inputs.parameters.x, '$')}}`: the decoded
value, one argv item (or part of one), never a shell string. `{outputs.name}` is a
file under /portaflow/out, an emptyDir the pod mounts, read back by Argo as the
output parameter: raw text, which a downstream Python step decodes like any
string and a number it parses (docs/backends/argo.md, "Container steps").
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
                parts.append(
                    "{{=" + values.decode(f"inputs.parameters.{names.param_name(field)}") + "}}"
                )
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


def raw_text_inputs(pipeline: ir.Pipeline, task: ir.Task, step: ir.StepDef) -> list[Message]:
    """PF531 for inputs of a container step taken from another one's `str` output.

    A container step's `str` output is the raw text its command wrote, not JSON, so
    the `jsonpath` decoding of the consumer's placeholder cannot read it.
    """
    out: list[Message] = []
    for b in task.inputs:
        bd = b.binding
        if not isinstance(bd, ir.TaskOutput | ir.Gathered):
            continue
        producer = pipeline.step(pipeline.task(bd.task).step)
        typ = next((o.type.type for o in producer.outputs if o.name == bd.output), "")
        if producer.container is not None and typ == "str":
            out.append(
                (
                    codes.CONTAINER_STEP,
                    f"container step {step.name!r} takes input {b.name!r} from the str output "
                    f"{bd.output!r} of container step {producer.name!r}, which Argo passes as "
                    "raw text that the placeholder cannot decode",
                    b.span,
                    "pass it through a @step that returns it (a JSON string), or compile for "
                    "the local runner, KFP or Airflow",
                )
            )
    return out
