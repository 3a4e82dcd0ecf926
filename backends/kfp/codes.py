"""Stable diagnostic codes of the Kubeflow Pipelines backend (PF6xx); never reused."""

from __future__ import annotations

#: `--kfp-executor` (or the stack's `kfp_executor`) is not "python" or "container".
UNKNOWN_EXECUTOR = "PF601"
#: A retry policy KFP's retryPolicy cannot express (linear backoff).
RETRY = "PF602"
#: A retry condition KFP cannot express: KFP retries every failure (warning).
RETRY_ON = "PF603"
#: A step whose input and output share a name: a KFP component cannot hold both.
NAME_CLASH = "PF604"
#: A fan-in of artifacts in the container executor: no KFP placeholder expands a list of paths.
ARTIFACT_LIST = "PF605"
#: An exit or failure hook reads the output of a pipeline task.
HOOK_INPUT = "PF606"
#: A condition KFP's CEL cannot test (the truthiness of a value of unknown type).
CONDITION = "PF607"
#: A setting KFP has no field for, dropped from the output (warning).
DROPPED = "PF608"
#: A secret: KFP maps only named secret keys to environment variables; mounted as files (warning).
SECRET = "PF609"
#: A binding shape the KFP backend does not support.
UNSUPPORTED = "PF610"
#: `run="failed"` after several upstream nodes: KFP reads the final status of exactly one.
RUN_FAILED = "PF625"
#: A merged branch value whose arms' steps are not the branches of one dsl.If/Elif/Else.
MERGE_SCOPE = "PF620"
#: A pod setting kfp-kubernetes' schema cannot express (a read-only PVC mount).
POD_SETTING = "PF630"
#: A container step's command KFP cannot express (a literal `{{` in an argv item).
CONTAINER_STEP = "PF631"
#: The stack's `store_secret` on a store whose credential variables portaflow does not know
#: (kfp-kubernetes maps only named secret keys to env vars), or bad `store_secret_keys`.
STORE_SECRET = "PF632"
#: A step's `packages=` without a code package to install them with (warning; docs/deploy.md).
PACKAGES_IGNORED = "PF633"
#: `model_version(...)` on KFP without a stack store URL for the pod to read the registry from.
IMPORT = "PF634"
#: An importer URI or metadata string holding `{{`, which KFP's driver reads as a placeholder.
IMPORT_PLACEHOLDER = "PF635"
