"""Stable diagnostic codes of the Argo backend (PF5xx); never reused."""

from __future__ import annotations

#: `options.kind` is not "workflow" or "workflow-template".
UNKNOWN_KIND = "PF501"
#: A retry policy Argo's retryStrategy cannot express (linear backoff, fractional factor).
RETRY = "PF502"
#: A string Argo would read as a template tag (`{{...}}`) in a place where it cannot be escaped.
TEMPLATE_TAG = "PF503"
#: A name Kubernetes rejects (secret, label) that portaflow cannot rename safely.
INVALID_NAME = "PF504"
#: Artifact fan-in Argo cannot aggregate (run-time list, or consumed in another scope).
ARTIFACT_FAN_IN = "PF505"
#: An exit or failure hook reads the output of a pipeline task.
HOOK_INPUT = "PF506"
#: A value the artifact repository setting cannot express (warning).
ARTIFACT_STORE = "PF507"
#: A parameter value or literal list large enough to risk Argo's size limits (warning).
SIZE = "PF508"
#: A binding shape the Argo backend does not support.
UNSUPPORTED = "PF509"
#: An `argo_version` that is not one of the supported release lines.
ARGO_VERSION = "PF510"
#: A setting the chosen Argo release cannot express, dropped from the output (warning).
DROPPED = "PF511"
#: An integer beyond 2**53 where Argo's JSON handling (float64) would round it (warning).
BIG_INT = "PF512"
#: A merged branch value whose arms' steps sit in different scopes (sub-pipelines, loops).
MERGE_SCOPE = "PF520"

#: A volume mounted over the paths the task protocol reads and writes (/portaflow/...).
VOLUME_PATH = "PF530"

#: A container step whose command Argo would misread (literal braces forming a `{{` tag).
CONTAINER_STEP = "PF531"

#: A step's `packages=` without a code package to install them with (warning; docs/deploy.md).
PACKAGES_IGNORED = "PF532"
