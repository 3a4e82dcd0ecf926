"""The Argo objects the backend builds, as plain ordered dicts: hera's field names, no hera.

Each builder takes the snake_case field names of the hera model of the same name
(`hera.workflows.models`) and returns the dict `model_dump(by_alias=True,
exclude_none=True, mode="json")` would give: Argo's camelCase keys, None dropped, keys
in hera's field order except that `name` comes first, as Argo's own examples write it.
Importing hera's pydantic models costs about two seconds; these dicts cost nothing to
import. `FIELDS` is the table the builders follow; tests/argo/test_manifest.py checks it
against hera's models, and every emitted document is validated with them in the tests,
so this layer cannot drift from hera.

Wrapper types of hera (`Item`, `IntOrString`, `Quantity`) are their plain values here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: One Argo object, ready for yamlout.
Obj = dict[str, Any]

#: hera model name -> ((hera field name, Argo key), ...) in emitted order.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Parameter": (("name", "name"), ("value", "value"), ("value_from", "valueFrom")),
    "Artifact": (
        ("name", "name"),
        ("from_", "from"),
        ("from_expression", "fromExpression"),
        ("gcs", "gcs"),
        ("http", "http"),
        ("path", "path"),
        ("raw", "raw"),
        ("s3", "s3"),
    ),
    "GCSArtifact": (("bucket", "bucket"), ("key", "key")),
    "HTTPArtifact": (("url", "url"),),
    "RawArtifact": (("data", "data"),),
    "S3Artifact": (
        ("access_key_secret", "accessKeySecret"),
        ("bucket", "bucket"),
        ("endpoint", "endpoint"),
        ("insecure", "insecure"),
        ("key", "key"),
        ("region", "region"),
        ("secret_key_secret", "secretKeySecret"),
        ("use_sdk_creds", "useSDKCreds"),
    ),
    "ValueFrom": (
        ("default", "default"),
        ("expression", "expression"),
        ("parameter", "parameter"),
        ("path", "path"),
    ),
    "Arguments": (("artifacts", "artifacts"), ("parameters", "parameters")),
    "Inputs": (("artifacts", "artifacts"), ("parameters", "parameters")),
    "Outputs": (("artifacts", "artifacts"), ("parameters", "parameters")),
    "DAGTask": (
        ("name", "name"),
        ("arguments", "arguments"),
        ("depends", "depends"),
        ("template", "template"),
        ("when", "when"),
        ("with_items", "withItems"),
        ("with_param", "withParam"),
    ),
    "DAGTemplate": (("fail_fast", "failFast"), ("tasks", "tasks")),
    "Metadata": (("annotations", "annotations"),),
    "Template": (
        ("name", "name"),
        ("active_deadline_seconds", "activeDeadlineSeconds"),
        ("container", "container"),
        ("dag", "dag"),
        ("inputs", "inputs"),
        ("memoize", "memoize"),
        ("metadata", "metadata"),
        ("node_selector", "nodeSelector"),
        ("outputs", "outputs"),
        ("parallelism", "parallelism"),
        ("retry_strategy", "retryStrategy"),
        ("tolerations", "tolerations"),
        ("volumes", "volumes"),
    ),
    "Container": (
        ("command", "command"),
        ("env", "env"),
        ("env_from", "envFrom"),
        ("image", "image"),
        ("resources", "resources"),
        ("volume_mounts", "volumeMounts"),
    ),
    "EnvVar": (("name", "name"), ("value", "value"), ("value_from", "valueFrom")),
    "EnvVarSource": (("field_ref", "fieldRef"), ("secret_key_ref", "secretKeyRef")),
    "ObjectFieldSelector": (("field_path", "fieldPath"),),
    "SecretKeySelector": (("name", "name"), ("key", "key")),
    "Volume": (
        ("name", "name"),
        ("empty_dir", "emptyDir"),
        ("persistent_volume_claim", "persistentVolumeClaim"),
    ),
    "VolumeMount": (("name", "name"), ("mount_path", "mountPath"), ("read_only", "readOnly")),
    "EmptyDirVolumeSource": (("medium", "medium"), ("size_limit", "sizeLimit")),
    "PersistentVolumeClaimVolumeSource": (("claim_name", "claimName"), ("read_only", "readOnly")),
    "EnvFromSource": (("secret_ref", "secretRef"),),
    "SecretEnvSource": (("name", "name"),),
    "ResourceRequirements": (("limits", "limits"), ("requests", "requests")),
    "Toleration": (
        ("effect", "effect"),
        ("key", "key"),
        ("operator", "operator"),
        ("toleration_seconds", "tolerationSeconds"),
        ("value", "value"),
    ),
    "RetryStrategy": (("backoff", "backoff"), ("limit", "limit"), ("retry_policy", "retryPolicy")),
    "Backoff": (("cap", "cap"), ("duration", "duration"), ("factor", "factor")),
    "Memoize": (("cache", "cache"), ("key", "key"), ("max_age", "maxAge")),
    "Cache": (("config_map", "configMap"),),
    "LocalObjectReference": (("name", "name"),),
    "ArtifactRepositoryRef": (("config_map", "configMap"), ("key", "key")),
    "WorkflowTemplateRef": (("name", "name"),),
    "WorkflowSpec": (
        ("arguments", "arguments"),
        ("artifact_repository_ref", "artifactRepositoryRef"),
        ("entrypoint", "entrypoint"),
        ("node_selector", "nodeSelector"),
        ("on_exit", "onExit"),
        ("service_account_name", "serviceAccountName"),
        ("templates", "templates"),
        ("workflow_template_ref", "workflowTemplateRef"),
    ),
    "CronWorkflowSpec": (
        ("concurrency_policy", "concurrencyPolicy"),
        ("schedules", "schedules"),
        ("starting_deadline_seconds", "startingDeadlineSeconds"),
        ("timezone", "timezone"),
        ("workflow_spec", "workflowSpec"),
    ),
    "ObjectMeta": (
        ("name", "name"),
        ("annotations", "annotations"),
        ("generate_name", "generateName"),
        ("labels", "labels"),
        ("namespace", "namespace"),
    ),
    "Workflow": (
        ("api_version", "apiVersion"),
        ("kind", "kind"),
        ("metadata", "metadata"),
        ("spec", "spec"),
    ),
    "WorkflowTemplate": (
        ("api_version", "apiVersion"),
        ("kind", "kind"),
        ("metadata", "metadata"),
        ("spec", "spec"),
    ),
    "CronWorkflow": (
        ("api_version", "apiVersion"),
        ("kind", "kind"),
        ("metadata", "metadata"),
        ("spec", "spec"),
    ),
}


def _make(model: str, fields: Mapping[str, Any]) -> Obj:
    return {key: v for attr, key in FIELDS[model] if (v := fields[attr]) is not None}


def replace(model: str, obj: Obj, **changes: Any) -> Obj:
    """`obj` (built as `model`) with some fields changed, keys still in table order."""
    out: Obj = {}
    for attr, key in FIELDS[model]:
        v = changes[attr] if attr in changes else obj.get(key)
        if v is not None:
            out[key] = v
    return out


def free(d: Mapping[str, Any]) -> Obj:
    """A free-form mapping (labels, annotations, ...) with a `name` key, if any, first."""
    if "name" not in d:
        return dict(d)
    return {"name": d["name"], **{k: v for k, v in d.items() if k != "name"}}


# The builders: keyword-only, hera's field names; `FIELDS[...]` fixes the keys and order.


def parameter(*, name: str, value: str | None = None, value_from: Obj | None = None) -> Obj:
    return _make("Parameter", locals())


def artifact(
    *,
    name: str,
    from_: str | None = None,
    from_expression: str | None = None,
    gcs: Obj | None = None,
    http: Obj | None = None,
    path: str | None = None,
    raw: Obj | None = None,
    s3: Obj | None = None,
) -> Obj:
    return _make("Artifact", locals())


def gcs_artifact(*, bucket: str | None = None, key: str) -> Obj:
    return _make("GCSArtifact", locals())


def http_artifact(*, url: str) -> Obj:
    return _make("HTTPArtifact", locals())


def raw_artifact(*, data: str) -> Obj:
    return _make("RawArtifact", locals())


def s3_artifact(
    *,
    access_key_secret: Obj | None = None,
    bucket: str | None = None,
    endpoint: str | None = None,
    insecure: bool | None = None,
    key: str | None = None,
    region: str | None = None,
    secret_key_secret: Obj | None = None,
    use_sdk_creds: bool | None = None,
) -> Obj:
    return _make("S3Artifact", locals())


def value_from(
    *,
    default: str | None = None,
    expression: str | None = None,
    parameter: str | None = None,
    path: str | None = None,
) -> Obj:
    return _make("ValueFrom", locals())


def arguments(*, artifacts: list[Obj] | None = None, parameters: list[Obj] | None = None) -> Obj:
    return _make("Arguments", locals())


def inputs(*, artifacts: list[Obj] | None = None, parameters: list[Obj] | None = None) -> Obj:
    return _make("Inputs", locals())


def outputs(*, artifacts: list[Obj] | None = None, parameters: list[Obj] | None = None) -> Obj:
    return _make("Outputs", locals())


def dag_task(
    *,
    name: str,
    arguments: Obj | None = None,
    depends: str | None = None,
    template: str | None = None,
    when: str | None = None,
    with_items: list[Any] | None = None,
    with_param: str | None = None,
) -> Obj:
    return _make("DAGTask", locals())


def dag_template(*, tasks: list[Obj], fail_fast: bool | None = None) -> Obj:
    return _make("DAGTemplate", locals())


def metadata(*, annotations: Mapping[str, str] | None = None) -> Obj:
    return _make("Metadata", {"annotations": None if annotations is None else free(annotations)})


def template(
    *,
    name: str | None = None,
    active_deadline_seconds: int | str | None = None,
    container: Obj | None = None,
    dag: Obj | None = None,
    inputs: Obj | None = None,
    memoize: Obj | None = None,
    metadata: Obj | None = None,
    node_selector: Mapping[str, str] | None = None,
    outputs: Obj | None = None,
    parallelism: int | None = None,
    retry_strategy: Obj | None = None,
    tolerations: list[Obj] | None = None,
    volumes: list[Obj] | None = None,
) -> Obj:
    if node_selector is not None:
        node_selector = free(node_selector)
    return _make("Template", locals())


def container(
    *,
    command: list[str] | None = None,
    env: list[Obj] | None = None,
    env_from: list[Obj] | None = None,
    image: str | None = None,
    resources: Obj | None = None,
    volume_mounts: list[Obj] | None = None,
) -> Obj:
    return _make("Container", locals())


def env_var(*, name: str, value: str | None = None, value_from: Obj | None = None) -> Obj:
    return _make("EnvVar", locals())


def env_var_source(*, field_ref: Obj | None = None, secret_key_ref: Obj | None = None) -> Obj:
    return _make("EnvVarSource", locals())


def object_field_selector(*, field_path: str) -> Obj:
    return _make("ObjectFieldSelector", locals())


def secret_key_selector(*, name: str, key: str) -> Obj:
    return _make("SecretKeySelector", locals())


def volume(
    *, name: str, empty_dir: Obj | None = None, persistent_volume_claim: Obj | None = None
) -> Obj:
    return _make("Volume", locals())


def volume_mount(*, name: str, mount_path: str, read_only: bool | None = None) -> Obj:
    return _make("VolumeMount", locals())


def empty_dir_volume_source(*, medium: str | None = None, size_limit: str | None = None) -> Obj:
    return _make("EmptyDirVolumeSource", locals())


def persistent_volume_claim_volume_source(*, claim_name: str, read_only: bool | None = None) -> Obj:
    return _make("PersistentVolumeClaimVolumeSource", locals())


def env_from_source(*, secret_ref: Obj | None = None) -> Obj:
    return _make("EnvFromSource", locals())


def secret_env_source(*, name: str | None = None) -> Obj:
    return _make("SecretEnvSource", locals())


def resource_requirements(
    *, limits: Mapping[str, str] | None = None, requests: Mapping[str, str] | None = None
) -> Obj:
    return _make(
        "ResourceRequirements",
        {
            "limits": None if limits is None else free(limits),
            "requests": None if requests is None else free(requests),
        },
    )


def toleration(
    *,
    effect: str | None = None,
    key: str | None = None,
    operator: str | None = None,
    toleration_seconds: int | None = None,
    value: str | None = None,
) -> Obj:
    return _make("Toleration", locals())


def retry_strategy(
    *, backoff: Obj | None = None, limit: int | str | None = None, retry_policy: str | None = None
) -> Obj:
    return _make("RetryStrategy", locals())


def backoff(
    *, cap: str | None = None, duration: str | None = None, factor: int | str | None = None
) -> Obj:
    return _make("Backoff", locals())


def memoize(*, cache: Obj, key: str, max_age: str) -> Obj:
    return _make("Memoize", locals())


def cache(*, config_map: Obj) -> Obj:
    return _make("Cache", locals())


def local_object_reference(*, name: str | None = None) -> Obj:
    return _make("LocalObjectReference", locals())


def artifact_repository_ref(*, config_map: str | None = None, key: str | None = None) -> Obj:
    return _make("ArtifactRepositoryRef", locals())


def workflow_template_ref(*, name: str | None = None) -> Obj:
    return _make("WorkflowTemplateRef", locals())


def workflow_spec(
    *,
    arguments: Obj | None = None,
    artifact_repository_ref: Obj | None = None,
    entrypoint: str | None = None,
    node_selector: Mapping[str, str] | None = None,
    on_exit: str | None = None,
    service_account_name: str | None = None,
    templates: list[Obj] | None = None,
    workflow_template_ref: Obj | None = None,
) -> Obj:
    if node_selector is not None:
        node_selector = free(node_selector)
    return _make("WorkflowSpec", locals())


def cron_workflow_spec(
    *,
    concurrency_policy: str | None = None,
    schedules: list[str],
    starting_deadline_seconds: int | None = None,
    timezone: str | None = None,
    workflow_spec: Obj,
) -> Obj:
    return _make("CronWorkflowSpec", locals())


def object_meta(
    *,
    name: str | None = None,
    annotations: Mapping[str, str] | None = None,
    generate_name: str | None = None,
    labels: Mapping[str, str] | None = None,
    namespace: str | None = None,
) -> Obj:
    if annotations is not None:
        annotations = free(annotations)
    if labels is not None:
        labels = free(labels)
    return _make("ObjectMeta", locals())


def document(*, kind: str, api_version: str, metadata: Obj, spec: Obj) -> Obj:
    """A top-level object: `kind` is "Workflow", "WorkflowTemplate" or "CronWorkflow"."""
    return _make(kind, locals())


#: hera model name -> builder, for the test that checks builders against `FIELDS`.
BUILDERS = {
    "Parameter": parameter,
    "Artifact": artifact,
    "RawArtifact": raw_artifact,
    "S3Artifact": s3_artifact,
    "GCSArtifact": gcs_artifact,
    "HTTPArtifact": http_artifact,
    "ValueFrom": value_from,
    "Arguments": arguments,
    "Inputs": inputs,
    "Outputs": outputs,
    "DAGTask": dag_task,
    "DAGTemplate": dag_template,
    "Metadata": metadata,
    "Template": template,
    "Container": container,
    "EnvVar": env_var,
    "EnvVarSource": env_var_source,
    "ObjectFieldSelector": object_field_selector,
    "SecretKeySelector": secret_key_selector,
    "Volume": volume,
    "VolumeMount": volume_mount,
    "EmptyDirVolumeSource": empty_dir_volume_source,
    "PersistentVolumeClaimVolumeSource": persistent_volume_claim_volume_source,
    "EnvFromSource": env_from_source,
    "SecretEnvSource": secret_env_source,
    "ResourceRequirements": resource_requirements,
    "Toleration": toleration,
    "RetryStrategy": retry_strategy,
    "Backoff": backoff,
    "Memoize": memoize,
    "Cache": cache,
    "LocalObjectReference": local_object_reference,
    "ArtifactRepositoryRef": artifact_repository_ref,
    "WorkflowTemplateRef": workflow_template_ref,
    "WorkflowSpec": workflow_spec,
    "CronWorkflowSpec": cron_workflow_spec,
    "ObjectMeta": object_meta,
    "Workflow": document,
    "WorkflowTemplate": document,
    "CronWorkflow": document,
}
