"""Model versions as the store's registry records say (docs/stores.md), standard library only.

The registry of a model is its records under `registry/<model>/`: one
`version` record per run that registered a version, and one `promote` record
per promotion. `replay` turns them into versions and stages the same way in
every process: versions numbered in (creation time, record name) order,
promotions applied in (time, record name) order, a promotion to production
archiving the previous production version. The local runner's SQLite index and
code running in a pod both use it, so they agree.

    from portaflow.models import read_model_versions
    versions = read_model_versions("s3://ml-store/team-a", "regressor")
    production = [v for v in versions if v["stage"] == "production"]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from portaflow.storage import decode_record, open_location, safe_part

__all__ = ["read_model_versions", "replay"]


def _ts(body: Mapping[str, Any]) -> float:
    for k in ("ts", "created"):
        v = body.get(k)
        if isinstance(v, (int, float)):
            return float(v)
    return 0.0


def replay(events: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Versions of one model from its (record name, kind, body) records, oldest first.

    Each version: {"version", "run_id", "stage" (None | staging | production |
    archived), "created", "description", "tags", "artifacts", "record"}.
    """
    ordered = sorted(events, key=lambda e: (_ts(e[2]), e[0]))
    versions: list[dict[str, Any]] = []
    by_run: dict[str, dict[str, Any]] = {}
    for name, kind, body in ordered:
        run_id = str(body.get("run_id"))
        if kind != "version" or run_id in by_run:
            continue
        v = {
            "version": len(versions) + 1,
            "run_id": run_id,
            "stage": None,
            "created": _ts(body),
            "description": body.get("description"),
            "tags": list(body.get("tags") or []),
            "artifacts": list(body.get("artifacts") or []),
            "record": name,
        }
        versions.append(v)
        by_run[run_id] = v
    for _name, kind, body in ordered:
        target = by_run.get(str(body.get("run_id"))) if kind == "promote" else None
        if target is None:
            continue  # not a promotion, or of a version whose record is not (yet) here
        if body.get("stage") == "production":
            for v in versions:
                if v["stage"] == "production" and v is not target:
                    v["stage"] = "archived"
        target["stage"] = body.get("stage")
    return versions


def read_model_versions(store: str | os.PathLike[str], model: str) -> list[dict[str, Any]]:
    """The versions of `model` in the store at a path or URL, read from its records now."""
    loc = open_location(store)
    events = []
    for name in loc.list(f"registry/{safe_part(model)}/"):
        found = decode_record(loc.read(name))
        if found is not None and found[0] in ("version", "promote"):
            events.append((name, found[0], found[1]))
    return replay(events)
