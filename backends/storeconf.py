"""The stack's store as the cluster backends pass it to every task (docs/stores.md).

Its diagnostics (PF400-PF403) are listed in compiler/diagnostics.py CODES and docs/diagnostics.md.

A stack with `store = "s3://bucket/prefix"` (any fsspec URL) makes each task's
container write its record and artifacts there: the backends set
`PORTAFLOW_STORE_URI`, `PORTAFLOW_PIPELINE` and, from `store_options`,
`PORTAFLOW_STORE_OPTIONS` (endpoints, never secrets), and name the Kubernetes
secret of `store_secret` for the credentials (`envFrom`), never a credential
itself. A plain path is the local runner's folder: the cluster backends ignore it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: `store` is a URL the tasks cannot use: a template tag, control characters, no bucket.
BAD_STORE = "PF400"
#: `store_secret` is not a valid Kubernetes secret name.
BAD_SECRET = "PF401"
#: `store_secret` or `store_options` set without a `store` URL for the tasks to write to.
SECRET_WITHOUT_STORE = "PF402"
#: `store_options` is not a JSON object, or holds what looks like a credential.
BAD_OPTIONS = "PF403"

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s]+$")
_SECRET_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_CREDENTIAL_WORDS = ("secret", "password", "token", "key", "credential")


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """What every task container gets when the stack has a store URL."""

    #: The store URL.
    uri: str
    #: Name of the Kubernetes secret holding the credentials, if any.
    secret: str | None
    #: fsspec options as canonical JSON text, if any.
    options: str | None

    def env(self, pipeline: str) -> list[tuple[str, str]]:
        """The environment variables, sorted by name."""
        out = [("PORTAFLOW_PIPELINE", pipeline), ("PORTAFLOW_STORE_URI", self.uri)]
        if self.options:
            out.append(("PORTAFLOW_STORE_OPTIONS", self.options))
        return sorted(out)


def store_settings(
    extra: Mapping[str, Any],
) -> tuple[StoreSettings | None, list[tuple[str, str, str]]]:
    """The settings from `extra` (store, store_secret, store_options) and (code, message, hint)s."""
    problems: list[tuple[str, str, str]] = []
    uri = extra.get("store")
    secret = extra.get("store_secret")
    options = extra.get("store_options")
    if uri is None or not _looks_like_url(str(uri)):
        if secret is not None or options is not None:
            problems.append(
                (
                    SECRET_WITHOUT_STORE,
                    "the stack sets store_secret or store_options but no store URL",
                    'set store = "s3://bucket/prefix" in the stack, or drop them',
                )
            )
        return None, problems
    uri = str(uri)
    if "{{" in uri or "$(" in uri or not _URL.fullmatch(uri) or uri.split("://", 1)[1] in ("", "/"):
        problems.append(
            (
                BAD_STORE,
                f"the stack's store {uri!r} is not a URL the tasks can write to",
                'write it as scheme://bucket/prefix, e.g. "s3://ml-store/team-a"',
            )
        )
    if secret is not None and (
        not isinstance(secret, str) or len(secret) > 253 or not _SECRET_NAME.fullmatch(secret)
    ):
        problems.append(
            (
                BAD_SECRET,
                f"store_secret {secret!r} is not a valid Kubernetes secret name",
                "name the secret holding the credentials: lower-case letters, digits, '-' and '.'",
            )
        )
    text = None
    if options is not None:
        try:
            value = json.loads(options) if isinstance(options, str) else options
        except ValueError:
            value = None
        if not isinstance(value, dict):
            problems.append(
                (BAD_OPTIONS, "store_options must be a JSON object of fsspec options", "")
            )
        else:
            leaked = sorted(
                k for k in _keys(value) if any(w in k.lower() for w in _CREDENTIAL_WORDS)
            )
            if leaked:
                problems.append(
                    (
                        BAD_OPTIONS,
                        f"store_options holds {', '.join(leaked)}: credentials never go into a manifest",
                        "put them in the Kubernetes secret named by store_secret",
                    )
                )
            text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    if problems:
        return None, problems
    return StoreSettings(uri=uri, secret=secret, options=text), problems


def _looks_like_url(text: str) -> bool:
    return "://" in text


def _keys(value: Any) -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += [str(k), *_keys(v)]
    return out
