"""One container template per distinct step (and input shape): the task runtime's entry point.

The container runs `python -m portaflow.task` with its arguments as one list, never a
shell string (docs/CONTRACTS.md, "The task protocol"). Step settings map onto Argo's
template fields: retryStrategy, activeDeadlineSeconds, memoize, nodeSelector,
tolerations, and the container's resources, env and envFrom
(https://argo-workflows.readthedocs.io/en/latest/fields/#template).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portaflow.backends import CodeRef
from portaflow.backends.storeconf import StoreSettings
from portaflow.compiler import ir
from portaflow.protocol import step_identity

from . import codeinput, codes, names, values
from . import manifest as mf
from .manifest import Obj

IN = "/portaflow/in"
OUT = "/portaflow/out"
DEFAULT_GPU = "nvidia.com/gpu"

_POLICY = {
    "always": "Always",
    "on-failure": "OnFailure",
    "on-error": "OnError",
    "on-transient-error": "OnTransientError",
}

Message = tuple[str, str, "ir.Span | None", str]


@dataclass(frozen=True, slots=True)
class Shape:
    """Which inputs a task binds and how: ("param"|"param-flat:N"|"artifact"|"list:N", input name) pairs."""

    inputs: tuple[tuple[str, str], ...]
    #: Runs as an exit or failure hook: never memoized, it must run on every workflow.
    hook: bool = False
    #: For an importer of a literal `https://`/`http://`/`gs://` URI: that URI, which Argo
    #: fetches as an input artifact (`http` / `gcs` location) before the task runs.
    source: str | None = None
    #: With a store, a task inside a loop: every iteration gets the same `--task-id`, so the
    #: pod's name (downward API, env `ITERATION_ENV`) tells their records apart.
    iteration: bool = False


#: The runtime's variable naming one iteration of a loop: the task is recorded as `TASK[<pod>]`.
ITERATION_ENV = "PORTAFLOW_ITERATION"
#: The 0-based retry number of a template with a retryStrategy (Argo's `{{retries}}`).
RETRY_ENV = "PORTAFLOW_RETRY"


def flatten_levels(pipeline: ir.Pipeline, binding: ir.Binding) -> int:
    """How many levels a gathered parameter arrives nested beyond the IR's flat list.

    Argo aggregates one loop at a time, so a fan-in over two nested loops is a
    list of lists; the runtime's `--flatten` restores the IR's flat list.
    """
    if not isinstance(binding, ir.Gathered):
        return 0
    chain = [lp.id for lp in pipeline.loop_chain(pipeline.task(binding.task).loop)]
    return len(chain) - chain.index(binding.loop) - 1


def shape_of(
    task: ir.Task, list_sizes: Mapping[str, int], pipeline: ir.Pipeline, *, store: bool = False
) -> Shape:
    out = []
    for b in task.inputs:
        if b.kind == "parameter":
            levels = flatten_levels(pipeline, b.binding)
            out.append((f"param-flat:{levels}" if levels else "param", b.name))
        elif isinstance(b.binding, ir.Gathered):
            out.append((f"list:{list_sizes.get(b.name, 0)}", b.name))
        else:
            out.append(("artifact", b.name))
    # A RunStatus input is a JSON parameter the emitter fills from Argo's phases.
    out += [
        ("param", i.name)
        for i in pipeline.step(task.step).inputs
        if i.type.type == ir.RUN_STATUS and (task.hook is not None or task.run != "succeeded")
    ]
    return Shape(
        tuple(out),
        hook=task.hook is not None,
        source=engine_import(task),
        iteration=store and task.loop is not None,
    )


#: URI schemes Argo fetches itself as an input artifact of an importer (no credentials in the
#: workflow: HTTP as is, GCS by the pod's service account). Others (s3://, a parameter) are
#: fetched by the task runtime with the stack store's credentials.
ENGINE_SCHEMES = ("http://", "https://", "gs://")
#: Where Argo puts an importer's source, passed to the task as `fetched`.
SOURCE = f"{IN}/portaflow-import-source"


def engine_import(task: ir.Task) -> str | None:
    """The literal URI of an importer task that Argo fetches itself, if it is one."""
    if task.step != ir.IMPORTER_STEP:
        return None
    for b in task.inputs:
        if b.name == "uri" and isinstance(b.binding, ir.Literal):
            uri = b.binding.value
            if isinstance(uri, str) and uri.startswith(ENGINE_SCHEMES) and "{{" not in uri:
                if not uri.startswith("gs://") or uri[5:].partition("/")[2]:
                    return uri
    return None


def source_artifact(uri: str) -> Obj:
    """The input artifact Argo fills from `uri` (HTTPArtifact / GCSArtifact, Argo's schema)."""
    if uri.startswith("gs://"):
        bucket, _, key = uri[5:].partition("/")
        return mf.artifact(
            name="portaflow-import-source", gcs=mf.gcs_artifact(bucket=bucket, key=key), path=SOURCE
        )
    return mf.artifact(name="portaflow-import-source", http=mf.http_artifact(url=uri), path=SOURCE)


def _retry(
    step: ir.StepDef, errors: list[Message], warnings: list[Message], backoff_cap: bool
) -> Obj | None:
    r = step.config.retry
    if r is None or r.max <= 0:
        return None
    if r.backoff == "linear":
        errors.append(
            (
                codes.RETRY,
                f"step {step.name!r}: Argo's retryStrategy cannot express a linear backoff",
                step.span,
                'use Retry(backoff="exponential", factor=2) or Retry(backoff="fixed")',
            )
        )
        return None
    factor: int | None = None
    if r.backoff == "exponential":
        if r.factor != int(r.factor):
            errors.append(
                (
                    codes.RETRY,
                    f"step {step.name!r}: Argo's backoff factor is an integer, got {r.factor}",
                    step.span,
                    "use a whole-number factor such as 2",
                )
            )
        factor = int(r.factor)
    backoff = None
    if r.delay_seconds > 0:
        cap = f"{r.max_delay_seconds}s" if r.max_delay_seconds is not None else None
        if cap is not None and not backoff_cap:
            # Backoff.cap was added in v3.7; older controllers drop the unknown field.
            warnings.append(
                (
                    codes.DROPPED,
                    f"step {step.name!r}: Argo before v3.7 has no backoff cap; the retry "
                    "delay grows without the max_delay limit",
                    step.span,
                    "target Argo v3.7 or later (--argo-version), or drop max_delay",
                )
            )
            cap = None
        backoff = mf.backoff(duration=f"{r.delay_seconds}s", factor=factor, cap=cap)
    return mf.retry_strategy(limit=r.max, retry_policy=_POLICY[r.on], backoff=backoff)


def _resources(res: ir.ResourceSpec | None, extra: Mapping[str, Any]) -> Obj | None:
    if res is None:
        return None
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if res.cpu is not None:
        requests["cpu"] = res.cpu
    if res.memory is not None:
        requests["memory"] = res.memory
    if res.cpu_limit is not None:
        limits["cpu"] = res.cpu_limit
    if res.memory_limit is not None:
        limits["memory"] = res.memory_limit
    if res.disk is not None:
        requests["ephemeral-storage"] = res.disk
    if res.gpu:
        vendor = res.gpu_vendor
        if vendor == DEFAULT_GPU:
            vendor = str(extra.get("gpu_vendor", DEFAULT_GPU))
        # Extended resources must be limits; Kubernetes copies them to requests.
        limits[vendor] = str(res.gpu)
    if not requests and not limits:
        return None
    return mf.resource_requirements(requests=requests or None, limits=limits or None)


def volumes(cfg: ir.StepConfig) -> tuple[list[Obj] | None, list[Obj] | None]:
    """The pod volumes and the container's mounts of a step (named volume-0, volume-1...)."""
    vols: list[Obj] = []
    mounts: list[Obj] = []
    for i, v in enumerate(cfg.volumes):
        name = f"volume-{i}"
        if v.kind == "empty_dir":
            src = mf.empty_dir_volume_source(medium=v.medium or None, size_limit=v.size_limit)
            vols.append(mf.volume(name=name, empty_dir=src))
        else:
            assert v.claim is not None
            pvc = mf.persistent_volume_claim_volume_source(
                claim_name=v.claim, read_only=v.read_only or None
            )
            vols.append(mf.volume(name=name, persistent_volume_claim=pvc))
        mounts.append(
            mf.volume_mount(name=name, mount_path=v.mount_path, read_only=v.read_only or None)
        )
    return vols or None, mounts or None


def env_vars(
    cfg: ir.StepConfig, extra: Sequence[tuple[str, str]] = (), *, pod_name: str | None = None
) -> list[Obj] | None:
    """Literal variables (the step's, then `extra`), then one `valueFrom.secretKeyRef` per
    SecretEnv: never a secret's value; then `pod_name`, if given, holding the pod's name
    (`valueFrom.fieldRef: metadata.name`, filled in by Kubernetes)."""
    pairs = [*cfg.env, *extra]
    out = [mf.env_var(name=k, value=values.k8s_escape_dollar(v)) for k, v in pairs]
    out += [
        mf.env_var(
            name=k.env,
            value_from=mf.env_var_source(
                secret_key_ref=mf.secret_key_selector(name=k.secret, key=k.key)
            ),
        )
        for k in cfg.secret_env
    ]
    if pod_name is not None:
        field = mf.object_field_selector(field_path="metadata.name")
        out.append(mf.env_var(name=pod_name, value_from=mf.env_var_source(field_ref=field)))
    return out or None


def _toleration(pairs: tuple[tuple[str, str], ...]) -> Obj:
    d = dict(pairs)
    seconds = d.get("tolerationSeconds") or d.get("toleration_seconds")
    return mf.toleration(
        key=d.get("key"),
        operator=d.get("operator"),
        value=d.get("value"),
        effect=d.get("effect"),
        toleration_seconds=int(seconds) if seconds is not None else None,
    )


def container_template(
    *,
    name: str,
    step: ir.StepDef,
    shape: Shape,
    image: str,
    extra: Mapping[str, Any],
    errors: list[Message],
    warnings: list[Message] | None = None,
    backoff_cap: bool = True,
    store: StoreSettings | None = None,
    pipeline_name: str = "",
    code: CodeRef | None = None,
) -> Obj:
    """The container template running `step` for tasks of this input shape.

    With a `store`, the task writes its record and artifacts there too
    (env PORTAFLOW_STORE_URI, credentials from the named secret by envFrom).
    With a package-mode `code`, the bootstrap runs the task from the code package,
    delivered as an input artifact when the store is S3 (codeinput.py).
    """
    cmd = ["python", "-m", "portaflow.task", "--step", step.ref]
    in_params: list[Obj] = [mf.parameter(name="portaflow-task")]
    in_arts: list[Obj] = []
    for how, inp in shape.inputs:
        pname = names.param_name(inp)
        if how == "param" or how.startswith("param-flat:"):
            in_params.append(mf.parameter(name=pname))
            cmd += ["--param", f"{inp}={{{{inputs.parameters.{pname}}}}}"]
            if how != "param":
                cmd += ["--flatten", f"{inp}={how.split(':', 1)[1]}"]
        elif how == "artifact":
            in_arts.append(mf.artifact(name=pname, path=f"{IN}/{pname}"))
            cmd += ["--input", f"{inp}={IN}/{pname}"]
        else:
            n = int(how.split(":", 1)[1])
            paths = [f"{IN}/{pname}/{i}" for i in range(n)]
            in_arts += [mf.artifact(name=f"{pname}-{i}", path=p) for i, p in enumerate(paths)]
            manifest = f"{IN}/{pname}.manifest.json"
            in_arts.append(
                mf.artifact(
                    name=f"{pname}-manifest",
                    path=manifest,
                    raw=mf.raw_artifact(data=json.dumps(paths)),
                )
            )
            cmd += ["--input-list", f"{inp}={manifest}"]
    if shape.source is not None:  # an importer whose URI Argo fetched: the task lays it out
        in_arts.append(source_artifact(shape.source))
        cmd += ["--param", f"fetched={json.dumps(SOURCE)}"]
    out_params: list[Obj] = []
    out_arts: list[Obj] = []
    for o in step.outputs:
        oname = names.param_name(o.name)
        if o.type.kind == "parameter":
            path = f"{OUT}/{oname}.json"
            out_params.append(mf.parameter(name=oname, value_from=mf.value_from(path=path)))
            cmd += ["--output-param", f"{o.name}={path}"]
        else:
            path = f"{OUT}/{oname}"
            out_arts.append(mf.artifact(name=oname, path=path))
            cmd += ["--output", f"{o.name}={path}"]
    cmd += [
        "--metadata",
        f"{OUT}/portaflow-metadata.json",
        "--code-hash",
        step.code_hash,
        "--task-id",
        "{{inputs.parameters.portaflow-task}}",
        "--run-id",
        "{{workflow.uid}}",
    ]
    cfg = step.config
    for k, v in cfg.env:
        if values.has_tag(k) or values.has_tag(v):
            errors.append(
                (
                    codes.TEMPLATE_TAG,
                    f"step {step.name!r}: env {k!r} holds '{{{{', which Argo would read as a template tag",
                    step.span,
                    "set the value through a secret, or pass it as a step parameter",
                )
            )
    for s in (*cfg.secrets, *(k.secret for k in cfg.secret_env)):
        if not names.DNS1123_SUBDOMAIN.fullmatch(s) or len(s) > 253:
            errors.append(
                (
                    codes.INVALID_NAME,
                    f"step {step.name!r}: {s!r} is not a valid Kubernetes secret name",
                    step.span,
                    "secret names are lower-case letters, digits, '-' and '.'",
                )
            )
    if values.has_tag(image):
        errors.append(
            (codes.TEMPLATE_TAG, f"step {step.name!r}: image {image!r} holds '{{{{'", step.span, "")
        )
    for vol in cfg.volumes:
        if f"{vol.mount_path}/".startswith("/portaflow/") or vol.mount_path == "/":
            errors.append(
                (
                    codes.VOLUME_PATH,
                    f"step {step.name!r}: a volume at {vol.mount_path!r} would hide the task "
                    f"protocol's paths {IN} and {OUT} (Argo volumes)",
                    step.span,
                    'mount it elsewhere, e.g. "/data" or "/scratch"',
                )
            )
    pod_volumes, mounts = volumes(cfg)
    secret_names = list(cfg.secrets)
    store_env: list[tuple[str, str]] = []
    if store is not None:
        store_env = [(k, v) for k, v in store.env(pipeline_name) if k not in dict(cfg.env)]
        if cfg.retry is not None and cfg.retry.max > 0:
            # Each attempt keeps its own record (`task-<key>-a<N>`): Argo's retry number,
            # defined in a template with a retryStrategy (validate.go's LocalVarRetries).
            store_env.append((RETRY_ENV, "{{retries}}"))
        if store.secret and store.secret not in secret_names:
            secret_names.append(store.secret)
    code_arts: list[Obj] = []
    if cfg.packages and (code is None or code.mode != "package") and warnings is not None:
        warnings.append(
            (
                codes.PACKAGES_IGNORED,
                f"step {step.name!r}: packages={list(cfg.packages)} are installed only by the "
                "code package's bootstrap, and this stack ships no code package",
                step.span,
                'set store = "s3://..." in the stack (package mode), or put them in the image',
            )
        )
    if code is not None and code.mode == "package":
        art = codeinput.code_artifact(code, store)
        code_arts = [art] if art is not None else []
        cmd = codeinput.command(code, cmd, delivered=art is not None, packages=cfg.packages)
    container = mf.container(
        image=image,
        command=cmd,
        env=env_vars(cfg, store_env, pod_name=ITERATION_ENV if shape.iteration else None),
        env_from=[mf.env_from_source(secret_ref=mf.secret_env_source(name=s)) for s in secret_names]
        or None,
        resources=_resources(cfg.resources, extra),
        volume_mounts=mounts,
    )
    res = cfg.resources
    memoize = None
    if cfg.cache and not in_arts and not shape.hook:
        # Argo memoizes on a ConfigMap key; hash the step identity (code hash, image, env,
        # secret names: portaflow.protocol.step_identity, as the local cache) and inputs.
        # Exit and failure hooks are never memoized: they must run on every workflow.
        identity = step_identity(
            code_hash=step.code_hash, image=image, env=cfg.env, secrets=cfg.secret_refs()
        )
        parts = [values.expr_string(identity)]
        parts += [values.expr_var("inputs", "parameters", p["name"]) for p in in_params[1:]]
        key = "{{=sprig.sha256sum(toJson([" + ", ".join(parts) + "]))}}"
        cm = str(extra.get("memoize_configmap", "portaflow-memoize"))
        memoize = mf.memoize(
            key=key,
            cache=mf.cache(config_map=mf.local_object_reference(name=cm)),
            max_age=str(extra.get("memoize_max_age", "720h")),
        )
    return mf.template(
        name=name,
        metadata=mf.metadata(annotations=provenance(step.span, step.code_hash, step=step.ref)),
        inputs=mf.inputs(parameters=in_params, artifacts=[*code_arts, *in_arts] or None),
        outputs=mf.outputs(parameters=out_params or None, artifacts=out_arts or None)
        if out_params or out_arts
        else None,
        container=container,
        retry_strategy=_retry(step, errors, [] if warnings is None else warnings, backoff_cap),
        active_deadline_seconds=cfg.timeout_seconds or None,
        memoize=memoize,
        node_selector=dict(res.node_selector) if res and res.node_selector else None,
        tolerations=[_toleration(t) for t in res.tolerations] if res and res.tolerations else None,
        volumes=pod_volumes,
    )


def safe_annotation(value: str) -> str:
    """Annotation text with braces percent-encoded, so Argo never substitutes inside it."""
    return value.replace("{", "%7B").replace("}", "%7D")


def provenance(
    span: ir.Span, code_hash: str | None = None, *, step: str | None = None
) -> dict[str, str]:
    """Where a template came from: stable unless the source changed."""
    out = {"portaflow.dev/source": safe_annotation(f"{span.path}:{span.line}")}
    if step is not None:
        out["portaflow.dev/step"] = safe_annotation(step)
    if code_hash is not None:
        out["portaflow.dev/code-hash"] = code_hash
    return out
