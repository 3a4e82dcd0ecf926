"""Names Kubernetes and Argo accept, made collision-free and stable.

Argo template and DAG task names, and Kubernetes object names, follow DNS-1123 labels
(lower-case alphanumerics and `-`, at most 63 characters; see
https://kubernetes.io/docs/concepts/overview/working-with-objects/names/). Parameter and
artifact names follow Argo's `^[-a-zA-Z0-9_]+$`. A name that had to change lossily, or that
collides with another, gets a short hash of the original so the result does not depend on
the order names were seen in.
"""

from __future__ import annotations

import hashlib
import re

_DNS_BAD = re.compile(r"[^a-z0-9-]+")
_PARAM_OK = re.compile(r"[A-Za-z0-9_-]+")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def short_hash(text: str, n: int = 6) -> str:
    """First `n` hex digits of the sha256 of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def dns_label(raw: str, *, limit: int = 63) -> str:
    """`raw` as a DNS-1123 label; a hash suffix marks any lossy change."""
    name = _DNS_BAD.sub("-", raw.lower().replace("_", "-").replace(".", "-")).strip("-")
    name = re.sub(r"-{2,}", "-", name) or "x"
    if len(name) > limit:
        name = name[: limit - 7].rstrip("-") + "-" + short_hash(raw)
    return name


def param_name(raw: str) -> str:
    """`raw` as an Argo parameter/artifact name (identifiers pass unchanged)."""
    if _PARAM_OK.fullmatch(raw) and len(raw) <= 63:
        return raw
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", raw).strip("_")[:50] or "p"
    return f"{base}-{short_hash(raw)}"


class Namer:
    """Assigns each key a unique name; keys whose names collide all get hash suffixes."""

    def __init__(
        self, *, limit: int = 63, reserved: tuple[str, ...] = (), identifier: bool = False
    ) -> None:
        self._limit = limit
        self._reserved = set(reserved)
        self._identifier = identifier
        self._wanted: dict[str, str] = {}

    def want(self, key: str, raw: str) -> None:
        """Register `key`, to be named after `raw`."""
        self._wanted.setdefault(key, raw)

    def resolve(self) -> dict[str, str]:
        """key -> final name, unique and independent of registration order."""
        base = {k: dns_label(raw, limit=self._limit) for k, raw in self._wanted.items()}
        if self._identifier:
            base = {k: identifier_label(n, limit=self._limit) for k, n in base.items()}
        count: dict[str, int] = {}
        for name in base.values():
            count[name] = count.get(name, 0) + 1
        out: dict[str, str] = {}
        for key, name in base.items():
            if count[name] > 1 or name in self._reserved:
                stem = name[: self._limit - 7].rstrip("-")
                name = f"{stem}-{short_hash(key)}"
            out[key] = name
        return out


#: Words of Argo's expression language (expr-lang) that cannot name a task in `depends`.
EXPR_WORDS = frozenset(
    "in not and or matches contains nil true false let if else len all none any one "
    "filter map count".split()
)


def identifier_label(name: str, *, limit: int = 63) -> str:
    """A DNS label that is also an identifier in `depends` once `-` becomes `_`.

    Argo evaluates `depends` as an expression over task names with `-` replaced by `_`
    (`evaluateDependsLogic` in workflow/controller/dag.go), so a name starting with a
    digit (`3d`) or spelling an operator (`in`) fails `validateDAG`; it gets a `t-` prefix.
    """
    if name[0].isdigit() or name in EXPR_WORDS:
        name = dns_label("t-" + name, limit=limit)
    return name


#: Kubernetes label values (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/).
LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
