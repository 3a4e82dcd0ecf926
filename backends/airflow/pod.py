"""`PortaflowPodTask`: one step in a Kubernetes pod, through the cncf provider's KubernetesPodOperator.

The pod runs `python -m portaflow.xcom SPEC`, which runs the task protocol
(`portaflow.task`) and writes the parameter outputs and artifact paths to
/airflow/xcom/return.json, where the operator's XCom sidecar collects them
(https://airflow.apache.org/docs/apache-airflow-providers-cncf-kubernetes/stable/operators.html).
The inputs are resolved on the worker before the pod starts (operators.Resolver),
and the spec is one JSON argument: no shell, and no template fields, so nothing
a user wrote is rendered by Jinja.

In package mode (`code={"digest": ..., "uri": ...}`, issue 14, docs/deploy.md) the
image holds neither portaflow nor the project's code: an init container of the same
image, with the same env and secrets, fetches the code package from the store into an
emptyDir volume at /portaflow/code (`portaflow.backends.codeboot.fetch_command`), and
the task container runs `python -c <bootstrap prelude> --code-sha256 H --code-uri URI
--code-path /portaflow/code/code.tar -- SPEC`, which checks the archive's sha256,
unpacks it and runs `portaflow.xcom` from it (`codeboot.command`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# The cncf provider is installed where the DAGs run; no stubs for mypy here.
from airflow.providers.cncf.kubernetes.operators.pod import (  # type: ignore[import-not-found,unused-ignore]
    KubernetesPodOperator,
)
from airflow.providers.cncf.kubernetes.secret import (  # type: ignore[import-not-found,unused-ignore]
    Secret,
)
from kubernetes.client import models as k8s  # type: ignore[import-not-found,import-untyped,unused-ignore]

from portaflow.backends import CodeRef, codeboot

from .names import CODE_DIR, CODE_PATH, CODE_VOLUME, XCOM_RETURN
from .operators import Source, _StepMixin, default_store


def _volumes(specs: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[Any]]:
    """k8s.V1Volume / V1VolumeMount pairs for the step's volumes (named volume-0, volume-1...)."""
    vols: list[Any] = []
    mounts: list[Any] = []
    for i, v in enumerate(specs):
        name = f"volume-{i}"
        if v["kind"] == "empty_dir":
            src = k8s.V1EmptyDirVolumeSource(medium=v.get("medium"), size_limit=v.get("size_limit"))
            vols.append(k8s.V1Volume(name=name, empty_dir=src))
        else:
            pvc = k8s.V1PersistentVolumeClaimVolumeSource(
                claim_name=v["claim"], read_only=v.get("read_only")
            )
            vols.append(k8s.V1Volume(name=name, persistent_volume_claim=pvc))
        mounts.append(
            k8s.V1VolumeMount(name=name, mount_path=v["mount_path"], read_only=v.get("read_only"))
        )
    return vols, mounts


class PortaflowPodTask(_StepMixin, KubernetesPodOperator):  # type: ignore[misc]
    """Runs one step in the step's image, with its resources, env and secrets."""

    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        step: str,
        code_hash: str,
        inputs: Mapping[str, Source],
        outputs: Mapping[str, str],
        image: str,
        condition: Source | None = None,
        iteration: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        resources: Mapping[str, Any] | None = None,
        node_selector: Mapping[str, str] | None = None,
        tolerations: Sequence[Mapping[str, str]] = (),
        secret_env: Sequence[Mapping[str, str]] = (),
        volumes: Sequence[Mapping[str, Any]] = (),
        artifact_store: str | None = None,
        project_root: str | None = None,
        code: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        res = dict(resources or {})
        requests: dict[str, str] = {k: str(res.pop(k)) for k in ("cpu", "memory") if k in res}
        if "disk" in res:
            requests["ephemeral-storage"] = str(res.pop("disk"))
        limits: dict[str, str] = {
            **requests,
            **{
                k.removesuffix("_limit"): str(res.pop(k))
                for k in ("cpu_limit", "memory_limit")
                if k in res
            },
            **{k: str(v) for k, v in res.items()},
        }  # GPUs are limits only
        pod_volumes, mounts = _volumes(volumes)
        cmds = ["python", "-m", "portaflow.xcom"]
        init: list[Any] = []
        if code is not None:
            ref = CodeRef(mode="package", digest=code["digest"], uri=code["uri"])
            packages = tuple(code.get("packages", ()))
            cmds = codeboot.command(ref, "portaflow.xcom", CODE_PATH, packages)
            shared = k8s.V1VolumeMount(name=CODE_VOLUME, mount_path=CODE_DIR)
            pod_volumes.append(
                k8s.V1Volume(name=CODE_VOLUME, empty_dir=k8s.V1EmptyDirVolumeSource())
            )
            mounts.append(shared)
            init.append(
                k8s.V1Container(
                    name=CODE_VOLUME,
                    image=image,
                    command=codeboot.fetch_command(ref, CODE_PATH),
                    env=[k8s.V1EnvVar(name=k, value=v) for k, v in sorted((env or {}).items())],
                    env_from=[
                        k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=name))
                        for name in secrets
                    ]
                    or None,
                    volume_mounts=[shared],
                )
            )
        super().__init__(
            image=image,
            cmds=cmds,
            init_containers=init or None,
            env_vars=dict(env or {}),
            secrets=[Secret("env", None, name) for name in secrets]
            + [Secret("env", k["env"], k["secret"], k["key"]) for k in secret_env],
            volumes=pod_volumes,
            volume_mounts=mounts,
            container_resources=k8s.V1ResourceRequirements(requests=requests, limits=limits)
            if requests or limits
            else None,
            node_selector=dict(node_selector or {}),
            tolerations=[k8s.V1Toleration(**dict(t)) for t in tolerations],
            do_xcom_push=True,
            **kwargs,
        )
        self.step, self.code_hash = step, code_hash
        self.inputs, self.outputs, self.condition = inputs, outputs, condition
        self.iteration = iteration
        self.artifact_store, self.project_root = artifact_store, project_root
        self.code = dict(code) if code is not None else None

    def execute(self, context: Any) -> Any:
        self.arguments = self.pod_arguments(context)
        return super().execute(context)

    def pod_arguments(self, context: Any) -> list[str]:
        """The task container's one argument, the `portaflow.xcom` SPEC, for this run."""
        from portaflow.protocol import task_command

        args = self.prepare(context, self.artifact_store or default_store())
        lists = args.pop("_lists")
        # Package mode: the task's root is the unpacked code package (PORTAFLOW_ROOT).
        root = None if self.code is not None else self.project_root
        argv = task_command(self.step, root=root, python="python", **args)[3:]
        spec = {
            "argv": argv,
            "lists": {args["input_lists"][n]: paths for n, paths in lists.items()},
            "outputs": args["outputs"],
            "output_params": args["output_params"],
            "return": XCOM_RETURN,
            "attempt": context["ti"].try_number,
        }
        return [json.dumps(spec, sort_keys=True)]
