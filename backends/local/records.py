"""The store's records, and the SQLite index built from them (docs/stores.md).

The store location (a folder, or a URL such as `s3://bucket/prefix`) is the
system of record: every fact is one immutable JSON record there
(`portaflow.storage` writes and checks them). The SQLite database beside the
runner is an index of those records: `refresh` reads the records it has not
seen, in name order, and applies them; a deleted database is rebuilt from the
records alone. Model versions and promotions are replayed from their records
in (time, record name) order, so every index over the same records agrees on
version numbers and stages, however the writes raced.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portaflow.models import replay
from portaflow.storage import (
    StoreLocationError,
    decode_record,
    encode_record,
    record_stamp,
    safe_part,
)

__all__ = [
    "apply",
    "consult_cache",
    "fetch_artifact",
    "publish_run",
    "publish_status",
    "publish_task",
    "put",
    "rebuild_model",
    "record_stamp",
    "refresh",
    "safe_part",
    "upsert_artifact",
]

if TYPE_CHECKING:
    import sqlite3

    from .store import Store

#: Execution states no later transition changes: their task record is written at once.
FINAL_FAILURES = frozenset({"failed", "cancelled", "skipped", "upstream_failed", "unknown"})
#: Executions whose outputs a task record carries (and a cache entry points at).
FINAL_OK = frozenset({"succeeded", "cached"})
#: Columns of an execution a task record carries.
_EXEC_FIELDS = (
    "task",
    "step",
    "state",
    "attempt",
    "started",
    "finished",
    "cache_key",
    "cache_hit",
    "cached_from",
    "log_path",
    "exit_code",
    "message",
    "inputs",
    "outputs",
    "metadata",
)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def task_record_name(run_id: str, key: str, attempt: int) -> str:
    return f"records/{safe_part(run_id)}/task-{safe_part(key)}-a{attempt}.json"


# --------------------------------------------------------------------------- writing


def put(store: Store, name: str, kind: str, body: dict[str, Any]) -> bool:
    """Write one record (never over another) and mark it as indexed already."""
    try:
        created = store.records.put_if_absent(name, encode_record(kind, body))
    except (OSError, StoreLocationError) as exc:
        from .store import StoreError

        raise StoreError(f"cannot write the record {store.records.full(name)}: {exc}") from None
    with store._tx() as db:
        db.execute("INSERT OR IGNORE INTO records (name) VALUES (?)", (name,))
    return created


def publish_run(store: Store, row: Mapping[str, Any]) -> None:
    body = {k: row[k] for k in ("id", "pipeline", "source", "root", "created")}
    for k in ("params", "options"):
        body[k] = json.loads(row[k]) if isinstance(row[k], str) else row[k]
    body["ir"] = row["ir"]
    put(store, f"records/{safe_part(row['id'])}/run.json", "run", body)


def publish_status(store: Store, run_id: str, status: str, message: str | None) -> None:
    body = {"run_id": run_id, "status": status, "message": message, "ts": time.time()}
    put(store, f"records/{safe_part(run_id)}/status-{record_stamp()}.json", "status", body)


def publish_task(store: Store, run_id: str, key: str) -> None:
    """The task record of one finished execution, from the index; artifacts uploaded first."""
    row = store._row("SELECT * FROM executions WHERE run_id = ? AND key = ?", (run_id, key))
    run = store._row("SELECT pipeline FROM runs WHERE id = ?", (run_id,))
    if row is None:
        return
    body: dict[str, Any] = {"run_id": run_id, "key": key}
    for f in _EXEC_FIELDS:
        value = row.get(f)
        if f in ("inputs", "outputs", "metadata") and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        body[f] = value
    body["attempt"] = int(body["attempt"] or 0)
    body["pipeline"] = run["pipeline"] if run else None
    outputs = body["outputs"] if isinstance(body["outputs"], dict) else {}
    if not store.records.is_local and row["state"] in FINAL_OK:
        for name, o in outputs.items():
            if o.get("kind") == "artifact" and not o.get("store_uri"):
                rel = f"artifacts/{safe_part(run_id)}/{safe_part(key)}/{safe_part(name)}"
                try:
                    o["store_uri"] = store.records.upload_dir(Path(o["uri"]), rel)
                except OSError as exc:
                    from .store import StoreError

                    raise StoreError(
                        f"cannot upload artifact {key}.{name} to {store.records.full(rel)}: {exc}"
                    ) from None
    body["lineage"] = store._rows(
        "SELECT l.direction, l.name, a.uri, a.sha256, a.type, a.materializer, a.size"
        " FROM lineage l JOIN artifacts a ON a.id = l.artifact_id"
        " WHERE l.run_id = ? AND l.execution = ? AND l.direction = 'input' ORDER BY l.name",
        (run_id, key),
    )
    body["metrics"] = {
        m["name"]: json.loads(m["value"])
        for m in store._rows(
            "SELECT name, value FROM metrics WHERE run_id = ? AND execution = ?", (run_id, key)
        )
    }
    name = task_record_name(run_id, key, body["attempt"])
    put(store, name, "task", body)
    if row["state"] == "succeeded" and row["cache_key"]:
        copy = dict(body, record=name)
        put(
            store,
            f"cache/{row['cache_key']}/{name.split('/', 1)[1].replace('/', '--')}",
            "task",
            copy,
        )
    if outputs and not store.records.is_local:
        with store._tx() as db:  # the index learns where the store keeps the outputs
            db.execute(
                "UPDATE executions SET outputs = ? WHERE run_id = ? AND key = ?",
                (_dump(outputs), run_id, key),
            )


# --------------------------------------------------------------------------- reading


def refresh(store: Store, prefixes: Iterable[str] = ("records/", "registry/")) -> int:
    """Index every record not seen yet; returns how many were applied."""
    names: list[str] = []
    for prefix in prefixes:
        names += store.records.list(prefix)
    known = {r["name"] for r in store._rows("SELECT name FROM records")}
    return apply(store, [n for n in names if n not in known])


def apply(store: Store, names: list[str]) -> int:
    """Read and index these records; a record that is not complete and intact is skipped."""
    decoded: list[tuple[str, str, dict[str, Any]]] = []
    for name in names:
        found = decode_record(store.records.read(name))
        if found is not None and _well_formed(*found):
            decoded.append((name, *found))
    order = {"run": 0, "task": 1, "status": 2, "version": 3, "promote": 4}
    decoded.sort(key=lambda d: (order.get(d[1], 9), _ts(d[2]), d[0]))
    models: set[str] = set()
    derived: set[str] = set()
    with store._tx() as db:
        for name, kind, body in decoded:
            if kind == "run":
                _apply_run(db, body)
            elif kind == "task":
                derived |= _apply_task(db, body)
            elif kind == "status":
                db.execute(
                    "UPDATE runs SET status = ?, message = ?, finished = ? WHERE id = ?",
                    (
                        body.get("status"),
                        body.get("message"),
                        None if body.get("status") == "running" else body.get("ts"),
                        body.get("run_id"),
                    ),
                )
            elif kind in ("version", "promote"):
                db.execute(
                    "INSERT OR IGNORE INTO registry (name, model, kind, ts, body)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (name, str(body.get("model")), kind, _ts(body), _dump(body)),
                )
                models.add(str(body.get("model")))
            db.execute("INSERT OR IGNORE INTO records (name) VALUES (?)", (name,))
        for run_id in derived:
            _derive_status(db, run_id)
        for model in sorted(models):
            rebuild_model(db, model)
    return len(decoded)


#: Fields each kind of record must carry, as text, to be indexed.
_REQUIRED = {
    "run": ("id", "pipeline"),
    "task": ("run_id", "key", "state"),
    "status": ("run_id", "status"),
    "version": ("model", "run_id"),
    "promote": ("model", "run_id", "stage"),
}


def _well_formed(kind: str, body: Mapping[str, Any]) -> bool:
    """Whether a record (intact, by its checksum) has what its kind needs; others are skipped."""
    needed = _REQUIRED.get(kind)
    if needed is None or not all(isinstance(body.get(k), str) for k in needed):
        return False
    outputs = body.get("outputs")
    if kind == "task" and outputs is not None and not isinstance(outputs, dict):
        return False
    return not (kind == "task" and not isinstance(body.get("attempt", 0), int))


def _ts(body: Mapping[str, Any]) -> float:
    for k in ("ts", "created", "finished", "started"):
        v = body.get(k)
        if isinstance(v, (int, float)):
            return float(v)
    return 0.0


def _apply_run(db: sqlite3.Connection, b: Mapping[str, Any]) -> None:
    db.execute(
        "INSERT INTO runs (id, pipeline, source, root, status, params, ir, created, options)"
        " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " pipeline = excluded.pipeline, source = excluded.source, root = excluded.root,"
        " params = excluded.params, ir = excluded.ir, created = excluded.created,"
        " options = excluded.options",
        (
            b["id"],
            b["pipeline"],
            b.get("source") or "",
            b.get("root") or "",
            _dump(b.get("params") or {}),
            b.get("ir") or "{}",
            b.get("created") or 0.0,
            _dump(b.get("options") or {}),
        ),
    )


def _apply_task(db: sqlite3.Connection, b: Mapping[str, Any]) -> set[str]:
    """Index one task record; returns the run id when the run is known only from task records."""
    run_id, key = str(b["run_id"]), str(b["key"])
    derived: set[str] = set()
    if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
        # Written by a pod: no runner recorded the run itself, its tasks tell about it.
        db.execute(
            "INSERT INTO runs (id, pipeline, source, root, status, params, ir, created, options)"
            " VALUES (?, ?, '', '', 'succeeded', '{}', '{}', ?, ?)",
            (run_id, b.get("pipeline") or "?", b.get("started") or 0.0, _dump({"derived": True})),
        )
    options = db.execute("SELECT options FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    if '"derived"' in str(options):
        derived.add(run_id)
    values = {f: b.get(f) for f in _EXEC_FIELDS}
    for f in ("inputs", "outputs", "metadata"):
        values[f] = None if values[f] is None else _dump(values[f])
    values["task"] = values["task"] or key
    values["attempt"] = int(values["attempt"] or 0)
    values["cache_hit"] = 1 if values["cache_hit"] else 0
    values["step"] = values["step"] or ""
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    updates = ", ".join(f"{c} = excluded.{c}" for c in values)
    db.execute(
        f"INSERT INTO executions (run_id, key, {cols}) VALUES (?, ?, {marks})"
        f" ON CONFLICT (run_id, key) DO UPDATE SET {updates}"
        " WHERE excluded.attempt >= executions.attempt",
        (run_id, key, *values.values()),
    )
    ins = [(i["name"], i) for i in b.get("lineage") or () if isinstance(i, dict)]
    outs = [
        (n, o)
        for n, o in (b.get("outputs") or {}).items()
        if isinstance(o, dict) and o.get("kind") == "artifact"
    ]
    for direction, items in (("input", ins), ("output", outs)):
        for name, art in items:
            art_id = upsert_artifact(db, art)
            db.execute(
                "INSERT OR IGNORE INTO lineage (run_id, execution, artifact_id, direction, name)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, key, art_id, direction, name),
            )
    for name, value in (b.get("metrics") or {}).items():
        db.execute(
            "INSERT OR REPLACE INTO metrics (run_id, execution, name, value) VALUES (?, ?, ?, ?)",
            (run_id, key, name, _dump(value)),
        )
    return derived


def upsert_artifact(db: sqlite3.Connection, art: Mapping[str, Any]) -> int:
    db.execute(
        "INSERT INTO artifacts (uri, type, materializer, sha256, size, created)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (uri) DO UPDATE SET"
        " type = excluded.type, materializer = excluded.materializer,"
        " sha256 = excluded.sha256, size = excluded.size",
        (
            art["uri"],
            art.get("type"),
            art.get("materializer"),
            art.get("sha256"),
            art.get("size"),
            time.time(),
        ),
    )
    return int(db.execute("SELECT id FROM artifacts WHERE uri = ?", (art["uri"],)).fetchone()[0])


def _derive_status(db: sqlite3.Connection, run_id: str) -> None:
    """A run known only from task records: failed if a task failed, else succeeded so far."""
    states = [r[0] for r in db.execute("SELECT state FROM executions WHERE run_id = ?", (run_id,))]
    finished = db.execute(
        "SELECT MAX(finished) FROM executions WHERE run_id = ?", (run_id,)
    ).fetchone()[0]
    failed = any(s in FINAL_FAILURES for s in states)
    db.execute(
        "UPDATE runs SET status = ?, finished = ?, message = ? WHERE id = ?",
        (
            "failed" if failed else "succeeded",
            finished,
            f"from {len(states)} task record(s) written by the tasks themselves",
            run_id,
        ),
    )


# --------------------------------------------------------------------------- models


def rebuild_model(db: sqlite3.Connection, model: str) -> None:
    """Replay a model's version and promotion records (`portaflow.models.replay`) into the index."""
    events = [
        (r[0], r[1], json.loads(r[2]))
        for r in db.execute("SELECT name, kind, body FROM registry WHERE model = ?", (model,))
    ]
    db.execute("DELETE FROM model_artifacts WHERE model = ?", (model,))
    db.execute("DELETE FROM model_versions WHERE model = ?", (model,))
    for v in replay(events):
        db.execute(
            "INSERT INTO models (name, description, tags, created) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET description = excluded.description,"
            " tags = excluded.tags",
            (model, v["description"], _dump(v["tags"]), v["created"]),
        )
        db.execute(
            "INSERT INTO model_versions (model, version, run_id, stage, created)"
            " VALUES (?, ?, ?, ?, ?)",
            (model, v["version"], v["run_id"], v["stage"], v["created"]),
        )
        for art in v["artifacts"]:
            db.execute(
                "INSERT OR IGNORE INTO model_artifacts (model, version, name, artifact_id)"
                " VALUES (?, ?, ?, ?)",
                (model, v["version"], art["name"], upsert_artifact(db, art)),
            )


# --------------------------------------------------------------------------- cache


def consult_cache(store: Store, cache_key: str) -> int:
    """Index the task records the store holds under this cache key (another machine's, too)."""
    names = store.records.list(f"cache/{cache_key}/")
    known = {r["name"] for r in store._rows("SELECT name FROM records")}
    fresh = []
    for name in names:
        if name in known:
            continue
        found = decode_record(store.records.read(name))
        if found is None:
            continue
        original = found[1].get("record")
        if isinstance(original, str) and original not in known:
            fresh.append(original)
        with store._tx() as db:
            db.execute("INSERT OR IGNORE INTO records (name) VALUES (?)", (name,))
    # The original task record is what is indexed: read again, checked again.
    return apply(store, fresh) if fresh else 0


def fetch_artifact(store: Store, uri: str, sha256: str) -> Path | None:
    """A local copy of the artifact the store holds at `uri`, under `fetched/<sha256>/`.

    The copy is not trusted for being here: the caller verifies it against the
    sha256 its record names, byte for byte, before anything reuses it.
    """
    if not _HEX64.fullmatch(sha256):
        return None
    dest = store.location / "fetched" / sha256
    if dest.is_dir():
        return dest
    from portaflow._atomic import atomic_dir

    try:
        with atomic_dir(dest) as tmp:
            store.records.download_dir(uri, tmp)
    except (OSError, StoreLocationError):
        return None
    return dest


_HEX64 = re.compile(r"[0-9a-f]{64}")
