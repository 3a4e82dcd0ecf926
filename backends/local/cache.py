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
from portaflow.materializers import NotAnArtifactError, verify_artifact
from portaflow.protocol import step_identity

from . import records
from .plan import ArtifactList, ArtifactRef, ParamValue, Unknown, Value
from .store import Row, Store

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
            secrets=step.config.secret_refs(),
        ),
        "outputs": [[o.name, o.type.kind, o.type.type] for o in step.outputs],
        "inputs": parts,
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def why_not_reusable(step: ir.StepDef, outputs: Any) -> str | None:
    """Why the recorded outputs of an earlier execution cannot be reused; None when they can.

    Every declared output must be recorded, and every artifact must still be the
    one recorded, byte for byte: its sidecar readable, naming the recorded sha256,
    and its data files hashing to it. This reads each artifact once, when the
    cached result is taken, so a changed or damaged one is never a cache hit.
    """
    if not isinstance(outputs, Mapping):
        return "its record in the store is damaged"
    for o in step.outputs:
        got = outputs.get(o.name)
        if not isinstance(got, Mapping) or got.get("kind") != o.type.kind:
            return f"its record in the store has no {o.type.kind} output {o.name!r}"
        if o.type.kind == "parameter":
            if "value" not in got:
                return f"its record in the store has no value for output {o.name!r}"
            continue
        uri, recorded = got.get("uri"), got.get("sha256")
        if not isinstance(uri, str) or not isinstance(recorded, str):
            return f"its record in the store has no location or sha256 for artifact {o.name!r}"
        try:
            info = verify_artifact(Path(uri))
        except NotAnArtifactError as exc:
            return f"artifact {o.name!r}: {exc}"
        if info.sha256 != recorded:
            return f"artifact {o.name!r} at {uri} was replaced since the run recorded it"
    return None


def _from_store(store: Store, step: ir.StepDef, outputs: Any) -> tuple[Any, str | None]:
    """The recorded outputs, with artifacts not intact here fetched from the store.

    A fetched copy goes through `why_not_reusable` like any other: it is reused
    only when its bytes hash to the sha256 the record names.
    """
    rejected = why_not_reusable(step, outputs)
    if rejected is None or not isinstance(outputs, Mapping):
        return outputs, rejected
    fixed = dict(outputs)
    for o in step.outputs:
        got = outputs.get(o.name)
        if o.type.kind != "artifact" or not isinstance(got, Mapping):
            continue
        remote, recorded = got.get("store_uri"), got.get("sha256")
        if not isinstance(remote, str) or not isinstance(recorded, str):
            continue
        if why_not_reusable_one(got) is None:
            continue  # intact here
        local = records.fetch_artifact(store, remote, recorded)
        if local is not None:
            fixed[o.name] = {**got, "uri": str(local)}
    again = why_not_reusable(step, fixed)
    return (fixed, None) if again is None else (outputs, rejected)


def why_not_reusable_one(got: Mapping[str, Any]) -> str | None:
    """Why one recorded artifact output is not intact at its recorded location; None if it is."""
    try:
        info = verify_artifact(Path(str(got.get("uri"))))
    except NotAnArtifactError as exc:
        return str(exc)
    return None if info.sha256 == got.get("sha256") else "replaced since it was recorded"


def verified_hit(store: Store, step: ir.StepDef, key: str) -> tuple[Row | None, str | None]:
    """The newest earlier execution with this key whose outputs are intact, byte for byte.

    The index is asked first; when it has no reusable result, the store's
    records under this key (anyone's who shares the store) are indexed and
    asked too. Artifacts missing or damaged here are fetched from the store and
    verified against the recorded sha256. Returns the execution (or None) and,
    when a newer one was rejected, why: a rejected execution is never reused,
    and the note tells `portaflow runs show` why the step ran again.
    """
    note = None
    tried: set[str] = set()
    for consult in (False, True):
        if consult and records.consult_cache(store, key) == 0:
            break
        for row in store.cached_candidates(key):
            origin = row["cached_from"] or f"{row['run_id']}/{row['key']}"
            if origin in tried:
                continue
            tried.add(origin)
            if row["damaged"]:
                rejected: str | None = "its record in the store is damaged"
            else:
                row["outputs"], rejected = _from_store(store, step, row["outputs"])
            if rejected is None:
                return row, note
            note = note or f"cached result {origin} not reused: {rejected}"
    return None, note
