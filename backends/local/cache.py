"""Step caching: the key that says two executions would compute the same thing.

key = sha256 over canonical JSON of: the step's identity
(`portaflow.protocol.step_identity`: its code hash from the IR, which covers
the function and the project code it reaches, the image, its env and secret
names — the same value Argo's memoize key is built on), its outputs, and
every input — parameters by their canonical JSON value, artifacts by the
sha256 their sidecar records. The same recipe holds on every backend, so a
local cache hit means the cluster would have reused the result too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portaflow.compiler import ir
from portaflow.protocol import step_identity

from .plan import ArtifactList, ArtifactRef, ParamValue, Unknown, Value

#: Bump when the recipe changes, so old entries stop matching.
CACHE_VERSION = "2"


def cache_key(step: ir.StepDef, image: str | None, inputs: Mapping[str, Value]) -> str | None:
    """The cache key of one execution, or None when an input's content is not known."""
    parts: dict[str, Any] = {}
    for name, value in sorted(inputs.items()):
        match value:
            case ParamValue(value=v):
                parts[name] = ["param", v]
            case ArtifactRef(sha256=h):
                if h is None:
                    return None
                parts[name] = ["artifact", h]
            case ArtifactList(items=items):
                if any(a.sha256 is None for a in items):
                    return None
                parts[name] = ["artifacts", [a.sha256 for a in items]]
            case Unknown():
                return None
    record = {
        "v": CACHE_VERSION,
        "step": step.ref,
        "identity": step_identity(
            code_hash=step.code_hash,
            image=image,
            env=step.config.env,
            secrets=step.config.secrets,
        ),
        "outputs": [[o.name, o.type.kind, o.type.type] for o in step.outputs],
        "inputs": parts,
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def outputs_exist(outputs: Mapping[str, Any]) -> bool:
    """Whether every stored output of a cached execution is still on disk."""
    for out in outputs.values():
        if out.get("kind") == "artifact" and not Path(out["uri"]).is_dir():
            return False
    return True
