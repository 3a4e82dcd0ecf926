"""The code package on Argo (issue 14, docs/deploy.md): an input artifact and the bootstrap.

In package mode (`EmitOptions.code`, a `CodeRef`) every Python step's container runs
`python -c <bootstrap> --code-sha256 H --code-uri URI --code-path CODE_PATH -- <task args>`
(`portaflow.bootstrap.bootstrap_command`) instead of `python -m portaflow.task ...`.

For an `s3://` store the archive arrives as an S3 input artifact at `CODE_PATH`
(https://argo-workflows.readthedocs.io/en/latest/fields/#s3artifact): bucket and key
from the archive's URL, the endpoint from the stack's `store_options` (`endpoint_url`,
also under `client_kwargs`; default s3.amazonaws.com), and the credentials from the
keys AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the `store_secret` (the same secret
the task reads with envFrom), or the pod's own identity (`useSDKCreds`) when the stack
names no secret; never a credential in the manifest. Argo's executor unpacks an input
artifact only when it is a gzip-compressed tar (workflow/executor: `isTarball` opens
it with a gzip reader), so the uncompressed archive lands as the file itself and the
bootstrap checks its sha256 before unpacking it. Other stores (gs://, az://, ...)
have no artifact: the bootstrap fetches `--code-uri` itself with fsspec, which the
image needs for the store anyway.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from portaflow.backends import CodeRef
from portaflow.backends.storeconf import StoreSettings
from portaflow.bootstrap import bootstrap_command

from . import manifest as mf
from .manifest import Obj

#: Where the archive is delivered in the pod (beside the task protocol's /portaflow/in, /out).
CODE_PATH = "/portaflow/code/code.tar"
#: The input artifact's name.
ARTIFACT = "portaflow-code"


def code_artifact(code: CodeRef, store: StoreSettings | None) -> Obj | None:
    """The S3 input artifact delivering the archive, or None (the bootstrap fetches it)."""
    if code.mode != "package" or code.uri is None:
        return None
    url = urlsplit(code.uri)
    if url.scheme not in ("s3", "s3a") or not url.netloc:
        return None
    options = json.loads(store.options) if store is not None and store.options else {}
    found = options.get("client_kwargs")
    kwargs: dict[str, Any] = found if isinstance(found, dict) else {}
    endpoint = str(options.get("endpoint_url") or kwargs.get("endpoint_url") or "")
    region = options.get("region_name") or kwargs.get("region_name")
    where = urlsplit(endpoint) if "://" in endpoint else None
    secret = store.secret if store is not None else None
    s3 = mf.s3_artifact(
        access_key_secret=mf.secret_key_selector(name=secret, key="AWS_ACCESS_KEY_ID")
        if secret
        else None,
        bucket=url.netloc,
        endpoint=(where.netloc if where else endpoint) or "s3.amazonaws.com",
        insecure=True if where is not None and where.scheme == "http" else None,
        key=url.path.lstrip("/"),
        region=str(region) if region else None,
        secret_key_secret=mf.secret_key_selector(name=secret, key="AWS_SECRET_ACCESS_KEY")
        if secret
        else None,
        use_sdk_creds=None if secret else True,
    )
    return mf.artifact(name=ARTIFACT, path=CODE_PATH, s3=s3)


def command(
    code: CodeRef, task_cmd: list[str], *, delivered: bool, packages: tuple[str, ...] = ()
) -> list[str]:
    """The container command: the bootstrap wrapping `python -m portaflow.task <args>`."""
    assert task_cmd[:3] == ["python", "-m", "portaflow.task"], task_cmd[:3]
    assert code.uri is not None
    return bootstrap_command(
        digest=code.digest,
        uri=code.uri,
        code_path=CODE_PATH if delivered else None,
        packages=packages,
        task_args=task_cmd[3:],
    )
