"""One task -> its KFP component (typed interface) and executor (container), in two flavours.

`python` emits a lightweight Python component as kfp does for `@dsl.component`
(https://www.kubeflow.org/docs/components/pipelines/user-guides/components/lightweight-python-components/):
the command writes a small generated module and runs it through `kfp.dsl.executor_main`;
the module's one function has the KFP signature of the task (typed parameters,
`Input[...]`/`Output[...]` artifacts, `OutputPath(...)` parameter outputs) and hands
everything to `portaflow.kfp_task.run`. `container` runs `python -m portaflow.kfp_task`
with KFP's placeholders (`{{$.inputs.parameters['x']}}`...), for images without kfp.
Either way the image needs portaflow and the step's code; `python` also needs kfp.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from typing import Any

from portaflow.backends import CodeRef, codeboot
from portaflow.compiler import ir

from .kfptypes import PY_ARTIFACTS, PY_TYPES, artifact_schema, artifact_type, output_key, param_type

Obj = dict[str, Any]

#: The command of every lightweight Python component (kfp's own, minus its pip install:
#: the image must already hold kfp and portaflow). kfp.local recognises this shape.
_LAUNCH = (
    "program_path=$(mktemp -d)\n\n"
    'printf "%s" "$0" > "$program_path/ephemeral_component.py"\n'
    "_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main"
    "                         --component_module_path"
    '                         "$program_path/ephemeral_component.py"'
    '                         "$@"\n'
)
#: Input name of the failure hook's PipelineTaskFinalStatus.
STATUS = "pf_pipeline_status"
#: Output artifact (system.Metrics) holding what the step logged with `log_metric`.
METRICS = "pf_metrics"
#: With a store, what each task's pod learns from its own metadata (kfp-kubernetes
#: `fieldPathAsEnv`): the run id KFP's API server labels every pod of a run with, and (for a
#: task in a loop, whose iterations must not share a record) the pod's name. Environment
#: variables, not component inputs: an input that changes every run would defeat KFP's cache.
RUN_ID_ENV = ("PORTAFLOW_RUN_ID", "metadata.labels['pipeline/runid']")
POD_ENV = ("PORTAFLOW_KFP_POD", "metadata.name")
_METRICS_TYPE = {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"}


@dataclass(slots=True, kw_only=True)
class Interface:
    """The inputs and outputs of one task's component, and how each reaches the step."""

    #: Input name -> ("param", IR type) | ("artifact", IR type) | ("artifact-list", IR type).
    inputs: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Levels to flatten a fan-in over nested loops, by input name.
    flatten: dict[str, int] = field(default_factory=dict)
    #: Whether the task reads a final status (PipelineTaskFinalStatus input `STATUS`).
    status: bool = False
    #: Whether it runs only when that status is a failure (failure hook, `run="failed"`).
    skip: bool = False
    #: The step input that receives the status as a `portaflow.RunStatus`, if any.
    run_status: str | None = None
    #: The IR id of the one upstream whose status it reads (None: the exit handler's).
    status_task: str | None = None
    #: Artifact inputs an importer task gives (a plain file or folder), by name: the type
    #: `portaflow.kfp_task` lays it out as before the step loads it.
    imports: dict[str, str] = field(default_factory=dict)
    #: With a store: a task in a loop, recorded once per iteration (`TASK[<pod>]`).
    loop: bool = False
    #: Package mode: how the code package reaches the pod (codeboot.py).
    code: CodeRef | None = None


def component(step: ir.StepDef, iface: Interface, executor: str) -> Obj:
    """The ComponentSpec of a task."""
    in_params: Obj = {}
    in_arts: Obj = {}
    for name, (kind, typ) in sorted(iface.inputs.items()):
        if kind == "param":
            in_params[name] = {"parameterType": param_type(typ)}
        else:
            d: Obj = {"artifactType": artifact_type(typ)}
            if kind == "artifact-list":
                d["isArtifactList"] = True
            in_arts[name] = d
    if iface.status:
        in_params[STATUS] = {"parameterType": "TASK_FINAL_STATUS"}
    out_params: Obj = {}
    out_arts: Obj = {}
    for o in step.outputs:
        if o.type.kind == "parameter":
            out_params[output_key(o.name)] = {"parameterType": param_type(o.type.type)}
        else:
            out_arts[output_key(o.name)] = {"artifactType": artifact_type(o.type.type)}
    if step.container is None:  # a command writes no portaflow metrics
        out_arts[METRICS] = {"artifactType": _METRICS_TYPE}
    spec: Obj = {"executorLabel": executor}
    inputs = _io(in_arts, dict(sorted(in_params.items())))
    if inputs:
        spec["inputDefinitions"] = inputs
    outputs = _io(dict(sorted(out_arts.items())), dict(sorted(out_params.items())))
    if outputs:
        spec["outputDefinitions"] = outputs
    return spec


def _io(arts: Obj, params: Obj) -> Obj:
    out: Obj = {}
    if arts:
        out["artifacts"] = arts
    if params:
        out["parameters"] = params
    return out


def _spec(task: ir.Task, step: ir.StepDef, iface: Interface) -> Obj:
    types = {n: typ for n, (kind, typ) in iface.inputs.items() if kind == "param"}
    spec: Obj = {"step": step.ref, "task": task.id, "code_hash": step.code_hash}
    if types:
        spec["types"] = dict(sorted(types.items()))
    if iface.flatten:
        spec["flatten"] = dict(sorted(iface.flatten.items()))
    if iface.imports:
        spec["imports"] = dict(sorted(iface.imports.items()))
    outs = {output_key(o.name): param_type(o.type.type) for o in step.outputs}
    params_out = {
        output_key(o.name): outs[output_key(o.name)]
        for o in step.outputs
        if o.type.kind == "parameter"
    }
    if params_out:
        spec["outputs"] = params_out
    renamed = {output_key(o.name): o.name for o in step.outputs if output_key(o.name) != o.name}
    if renamed:
        spec["renamed"] = renamed
    if iface.status and iface.skip:
        spec["status"] = STATUS
    if iface.status and iface.run_status:
        spec["run_status"] = {"input": iface.run_status, "task": iface.status_task}
    if iface.loop:
        spec["loop"] = True
    return spec


def python_source(task: ir.Task, step: ir.StepDef, iface: Interface, func: str) -> str:
    """The generated module of a lightweight Python component."""
    spec = _spec(task, step, iface)
    kinds: dict[str, str] = {}
    required: list[str] = []
    optional: list[str] = []
    for o in step.outputs:
        key = output_key(o.name)
        if o.type.kind == "parameter":
            py = PY_TYPES[param_type(o.type.type)]
            required.append(f"{key}: OutputPath({py})")
            kinds[key] = "output-param"
        else:
            cls = PY_ARTIFACTS[artifact_schema(o.type.type)]
            required.append(f"{key}: Output[{cls}]")
            kinds[key] = "output"
    for name, (kind, typ) in sorted(iface.inputs.items()):
        if kind == "param":
            optional.append(f"{name}: {PY_TYPES[param_type(typ)]} = None")
        elif kind == "artifact":
            required.append(f"{name}: Input[{PY_ARTIFACTS[artifact_schema(typ)]}]")
        else:
            required.append(f"{name}: Input[List[{PY_ARTIFACTS[artifact_schema(typ)]}]]")
        kinds[name] = kind
    required.append(f"{METRICS}: Output[Metrics]")
    kinds[METRICS] = "metrics"
    if iface.status:
        optional.append(f"{STATUS}: PipelineTaskFinalStatus = None")
    spec["kinds"] = kinds
    text = json.dumps(spec, sort_keys=True, ensure_ascii=True)
    params = ", ".join(required + optional)
    # The body names nothing a step input could shadow: locals() is exactly the inputs.
    prelude, first = (
        codeboot.source_prelude(iface.code, step.config.packages) if iface.code else ("", "")
    )
    return (
        "from typing import *\n\n"
        "from kfp.dsl import *\n\n\n"
        + (f"{prelude}\n\n" if prelude else "")
        + f"def {func}({params}):\n"
        + first
        + '    __import__("portaflow.kfp_task").kfp_task.run(\n'
        f'        __import__("json").loads({text!r}), locals()\n'
        "    )\n"
    )


def python_container(task: ir.Task, step: ir.StepDef, iface: Interface, func: str) -> Obj:
    return {
        "args": ["--executor_input", "{{$}}", "--function_to_execute", func],
        "command": ["sh", "-ec", _LAUNCH, python_source(task, step, iface, func)],
    }


def plain_container(task: ir.Task, step: ir.StepDef, iface: Interface) -> Obj:
    """`python -m portaflow.kfp_task` with KFP placeholders: no kfp needed in the image."""
    spec = _spec(task, step, iface)
    args = ["--spec", json.dumps(spec, sort_keys=True, ensure_ascii=True)]
    for name, (kind, _typ) in sorted(iface.inputs.items()):
        if kind == "param":
            args += ["--param", f"{name}={{{{$.inputs.parameters['{name}']}}}}"]
        else:
            args += ["--input", f"{name}={{{{$.inputs.artifacts['{name}'].path}}}}"]
    for o in step.outputs:
        key = output_key(o.name)
        if o.type.kind == "parameter":
            args += ["--output-param", f"{key}={{{{$.outputs.parameters['{key}'].output_file}}}}"]
        else:
            args += ["--output", f"{key}={{{{$.outputs.artifacts['{key}'].path}}}}"]
    args += ["--metrics", f"{{{{$.outputs.artifacts['{METRICS}'].path}}}}"]
    if iface.status:
        args += ["--status", f"{{{{$.inputs.parameters['{STATUS}']}}}}"]
    if iface.code is not None:
        return {
            "args": args,
            "command": codeboot.command(
                iface.code, "portaflow.kfp_task", packages=step.config.packages
            ),
        }
    return {"args": args, "command": ["python", "-m", "portaflow.kfp_task"]}


def resources(spec: ir.ResourceSpec) -> Obj:
    """PipelineContainerSpec.ResourceSpec: requests equal limits, as the Argo backend does."""
    out: Obj = {}
    if spec.gpu:
        out["accelerator"] = {"resourceCount": str(spec.gpu), "resourceType": spec.gpu_vendor}
    if spec.cpu_limit or spec.cpu:
        out["resourceCpuLimit"] = spec.cpu_limit or spec.cpu
    if spec.cpu:
        out["resourceCpuRequest"] = spec.cpu
    if spec.memory_limit or spec.memory:
        out["resourceMemoryLimit"] = spec.memory_limit or spec.memory
    if spec.memory:
        out["resourceMemoryRequest"] = spec.memory
    return out


def pod_mounts(cfg: ir.StepConfig) -> Obj:
    """kfp-kubernetes' emptyDirMounts, pvcMount and secretAsEnv of a step, as kfp.kubernetes writes them.

    Field names: kubernetes_platform/proto/kubernetes_executor_config.proto (EmptyDirMount,
    PvcMount, SecretAsEnv); the PVC and secret names are constants, never values.
    """
    out: Obj = {}
    empty = [
        {
            "mountPath": v.mount_path,
            "volumeName": f"volume-{i}",
            **({"medium": v.medium} if v.medium else {}),
            **({"sizeLimit": v.size_limit} if v.size_limit else {}),
        }
        for i, v in enumerate(cfg.volumes)
        if v.kind == "empty_dir"
    ]
    if empty:
        out["emptyDirMounts"] = [dict(sorted(m.items())) for m in empty]
    pvcs = [
        {
            "constant": v.claim,
            "mountPath": v.mount_path,
            "pvcNameParameter": {"runtimeValue": {"constant": v.claim}},
        }
        for v in cfg.volumes
        if v.kind == "pvc"
    ]
    if pvcs:
        out["pvcMount"] = pvcs
    by_secret: dict[str, list[Obj]] = {}
    for k in cfg.secret_env:
        by_secret.setdefault(k.secret, []).append({"envVar": k.env, "secretKey": k.key})
    if by_secret:
        out["secretAsEnv"] = [
            {
                "keyToEnv": keys,
                "optional": False,
                "secretName": name,
                "secretNameParameter": {"runtimeValue": {"constant": name}},
            }
            for name, keys in by_secret.items()
        ]
    return out


def command_container(step: ir.StepDef) -> tuple[Obj, list[str]]:
    """A container step's executor, as kfp compiles a container component; and problems found.

    Each placeholder becomes the KFP placeholder (`{{$.inputs.parameters['x']}}`,
    `{{$.outputs.parameters['y'].output_file}}`) in place, also inside an item, as kfp
    compiles an f-string argument of a `@dsl.container_component`.
    """
    spec = step.container
    assert spec is not None
    problems: list[str] = []
    command: list[str] = []
    for item in spec.command:
        if _braces_clash(item):
            problems.append(item)
        parts: list[str] = []
        for text, fieldname, _spec, _conv in string.Formatter().parse(item):
            if text:
                parts.append(text)
            if fieldname is None:
                continue
            if fieldname.startswith("outputs."):
                key = output_key(fieldname[8:])
                parts.append(f"{{{{$.outputs.parameters['{key}'].output_file}}}}")
            else:
                parts.append(f"{{{{$.inputs.parameters['{fieldname}']}}}}")
        command.append("".join(parts))
    return {"command": command, "image": spec.image}, problems


def _braces_clash(item: str) -> bool:
    """Whether the literal text of an argv item would read as (or touch) a `{{...}}` tag."""
    joined = "".join(
        text + ("\0" if f is not None else "") for text, f, _s, _c in string.Formatter().parse(item)
    )
    return any(bad in joined for bad in ("{{", "}}", "{\0", "\0}"))


#: The credential variables kfp-kubernetes' `secretAsEnv` maps from the stack's `store_secret`,
#: by the store's scheme: (required keys, optional keys). KFP has no `envFrom`, so the keys are
#: named; each key is the variable's name, as `kubectl create secret generic NAME
#: --from-literal=AWS_ACCESS_KEY_ID=...` makes them for Argo's `envFrom`, so one secret serves both.
STORE_SECRET_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "s3": (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_SESSION_TOKEN",)),
    "s3a": (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_SESSION_TOKEN",)),
}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def store_secret_env(uri: str, secret: str, keys: object) -> tuple[list[Obj], str | None]:
    """The `secretAsEnv` entries giving a task the store's credentials, or a problem.

    `keys` is the stack's `extra.store_secret_keys` (a list or a comma-separated string),
    which names the keys for any scheme; without it the scheme's STORE_SECRET_KEYS.
    """
    required: tuple[str, ...]
    optional: tuple[str, ...]
    if keys is not None:
        names = keys.split(",") if isinstance(keys, str) else keys
        if not isinstance(names, list) or not names:
            return [], "store_secret_keys must be a list of variable names"
        names = [str(n).strip() for n in names]
        bad = [n for n in names if not _ENV_NAME.fullmatch(n)]
        if bad:
            return [], f"store_secret_keys holds {bad[0]!r}, not an environment variable name"
        required, optional = tuple(dict.fromkeys(names)), ()
    else:
        scheme = uri.split("://", 1)[0]
        if scheme not in STORE_SECRET_KEYS:
            return [], (
                f"KFP maps only named keys of a secret to environment variables, and portaflow "
                f"knows the credential keys of s3:// stores only, not of {scheme}://"
            )
        required, optional = STORE_SECRET_KEYS[scheme]
    out = [_secret_as_env(secret, required, False)]
    if optional:
        out.append(_secret_as_env(secret, optional, True))
    return out, None


def _secret_as_env(secret: str, keys: tuple[str, ...], optional: bool) -> Obj:
    return {
        "keyToEnv": [{"envVar": k, "secretKey": k} for k in keys],
        "optional": optional,
        "secretName": secret,
        "secretNameParameter": {"runtimeValue": {"constant": secret}},
    }
