"""Kubernetes pod features of `@step`: `volumes=[Volume...]` and `secrets=[..., SecretEnv(...)]`.

Checked here against what Kubernetes accepts, so a value the API server would
refuse at submit time is a located error at `check`: mount paths are absolute
and distinct, claim and secret names are DNS-1123 subdomains, environment
variable names are C identifiers and are set once. A secret's VALUE never
reaches the IR: only the secret's name, the key and the variable name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from portaflow.compiler import ir
from portaflow.compiler.configvalues import _QUANTITY, ConfigCall

Report = Callable[..., None]

#: A DNS-1123 subdomain: what Kubernetes accepts as a secret or claim name.
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: A secret key: Kubernetes' ConfigMap/Secret key rule.
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
#: An environment variable every shell and engine accepts.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_SECRETS_HINT = (
    'e.g. secrets=["aws-creds", SecretEnv(secret="creds", key="token", env="API_TOKEN")]; '
    "values are never written into manifests"
)


def _dns_name(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 253 and bool(_DNS_SUBDOMAIN.match(value))


def secret_list(
    val: Any, node: ast.expr, report: Report
) -> tuple[tuple[str, ...], tuple[ir.SecretKeyEnv, ...]]:
    """`secrets=[...]` split into whole-secret names and single keys as variables."""
    if val is None:
        return (), ()
    if not isinstance(val, list):
        report("PF302", node, "secrets must be a list", _SECRETS_HINT)
        return (), ()
    names: list[str] = []
    keys: list[ir.SecretKeyEnv] = []
    for item in val:
        if isinstance(item, str) and item:
            names.append(item)
        elif isinstance(item, ConfigCall) and item.type_name == "SecretEnv":
            one = _secret_env(item, report)
            if one is not None:
                keys.append(one)
        elif item is not None:  # None: a bad config call, already reported
            report("PF302", node, "secrets holds names and SecretEnv(...) only", _SECRETS_HINT)
    return tuple(names), tuple(keys)


def _secret_env(call: ConfigCall, report: Report) -> ir.SecretKeyEnv | None:
    v = call.values
    missing = [f for f in ("secret", "key", "env") if not isinstance(v.get(f), str)]
    if missing:
        report(
            "PF302",
            call.node,
            f"SecretEnv needs {missing[0]}= as a string",
            'e.g. SecretEnv(secret="creds", key="token", env="API_TOKEN")',
        )
        return None
    ok = True
    if not _dns_name(v["secret"]):
        report(
            "PF302",
            call.node,
            f"{v['secret']!r} is not a valid Kubernetes secret name",
            "secret names are lower-case letters, digits, '-' and '.'",
        )
        ok = False
    if not _SECRET_KEY.match(v["key"]) or len(v["key"]) > 253:
        report(
            "PF302",
            call.node,
            f"{v['key']!r} is not a valid secret key",
            "secret keys are letters, digits, '-', '_' and '.'",
        )
        ok = False
    if not _ENV_NAME.match(v["env"]):
        report(
            "PF302",
            call.node,
            f"{v['env']!r} is not an environment variable name",
            "use letters, digits and '_', not starting with a digit, e.g. API_TOKEN",
        )
        ok = False
    return ir.SecretKeyEnv(secret=v["secret"], key=v["key"], env=v["env"]) if ok else None


def volume_specs(val: Any, node: ast.expr, report: Report) -> tuple[ir.VolumeSpec, ...]:
    """`volumes=[Volume.empty_dir(...), Volume.pvc(...)]`, checked."""
    if val is None:
        return ()
    if not isinstance(val, list):
        report(
            "PF302",
            node,
            "volumes must be a list of Volume.empty_dir(...) / Volume.pvc(...)",
            'e.g. volumes=[Volume.empty_dir("/dev/shm", medium="Memory")]',
        )
        return ()
    out: list[ir.VolumeSpec] = []
    for item in val:
        if isinstance(item, ConfigCall) and item.type_name == "Volume":
            one = _volume(item, report)
            if one is not None:
                out.append(one)
        elif item is not None:
            report(
                "PF302",
                node,
                "volumes holds Volume.empty_dir(...) and Volume.pvc(...) only",
                'e.g. volumes=[Volume.pvc("/data", claim="datasets")]',
            )
    return tuple(out)


def _volume(call: ConfigCall, report: Report) -> ir.VolumeSpec | None:
    v = call.values
    path = v.get("mount_path")
    ok = True
    if not isinstance(path, str) or not path.startswith("/") or ".." in path.split("/"):
        report(
            "PF302",
            call.node,
            f"mount path {path!r} is not an absolute path",
            'write an absolute path without "..", e.g. "/data"',
        )
        ok = False
    medium = v.get("medium", "")
    if medium not in ("", "Memory"):
        report("PF302", call.node, f"emptyDir medium {medium!r} is unknown", 'use "" or "Memory"')
        ok = False
    size = v.get("size_limit")
    if size is not None and not (isinstance(size, str) and _QUANTITY.match(size)):
        report(
            "PF302",
            call.node,
            f"size_limit {size!r} is not a Kubernetes quantity",
            'e.g. size_limit="1Gi"',
        )
        ok = False
    claim = v.get("claim")
    if v["kind"] == "pvc" and not _dns_name(claim):
        report(
            "PF302",
            call.node,
            f"claim {claim!r} is not a valid PersistentVolumeClaim name",
            "claim names are lower-case letters, digits, '-' and '.'",
        )
        ok = False
    read_only = v.get("read_only", False)
    if not isinstance(read_only, bool):
        report("PF302", call.node, "read_only must be True or False", "")
        ok = False
    if not ok:
        return None
    assert isinstance(path, str)
    return ir.VolumeSpec(
        kind=v["kind"],
        mount_path=path.rstrip("/") or "/",
        medium=str(medium),
        size_limit=size,
        claim=claim if v["kind"] == "pvc" else None,
        read_only=read_only,
    )


def check_pod_names(
    config: ir.StepConfig, args: dict[str, tuple[Any, ast.expr]], report: Report
) -> None:
    """PF260: two volumes at one mount path; PF261: one environment variable set twice."""
    seen: set[str] = set()
    for vol in config.volumes:
        if vol.mount_path in seen:
            report(
                "PF260",
                args["volumes"][1],
                f"two volumes are mounted at {vol.mount_path!r}",
                "give each volume its own mount path",
            )
        seen.add(vol.mount_path)
    names = {k for k, _ in config.env}
    for key in config.secret_env:
        if key.env in names:
            report(
                "PF261",
                args["secrets"][1],
                f"environment variable {key.env!r} is set twice (env= or another SecretEnv)",
                "give each SecretEnv its own variable, not one set in env= too",
            )
        names.add(key.env)
