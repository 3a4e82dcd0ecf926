"""The index of the store: runs, executions, artifacts, lineage, metrics, models in SQLite.

The store's records (`records.py`, docs/stores.md) are the system of record;
this database indexes them and holds the live state of local runs. One file, `<store>/portaflow.db`, in WAL mode with a busy timeout, so several
runners (and `portaflow runs list` beside them) can use it at once. Every
write is one short `BEGIN IMMEDIATE` transaction: a runner killed at any
moment leaves the database as it was before or after that write, never in
between. The schema carries its version in `PRAGMA user_version`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from portaflow.storage import Location, StoreLocationError, is_url, open_location

from . import records
from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

#: Columns holding JSON text, by table, decoded on read.
_JSON_COLUMNS = ("inputs", "outputs", "metadata")

#: Stages a model version can be promoted to.
STAGES = ("staging", "production", "archived")

Row = dict[str, Any]


class StoreError(Exception):
    """The store cannot be used (newer schema, damaged file, unknown run or model...)."""


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _explained(exc: sqlite3.Error, db_path: Path) -> StoreError:
    """One sentence for an SQLite failure: what is wrong with which file, and what to do."""
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and any(
        sign in text for sign in ("not a database", "malformed", "corrupt")
    ):
        return StoreError(
            f"the local store database {db_path} is damaged ({text}); move it aside "
            f"(mv {db_path} {db_path}.damaged) and run again: it is only an index, rebuilt "
            "from the store's records (runs, tasks, models), and the artifacts stay in the store"
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"the local store database {db_path} stayed locked by another process ({text}); "
            "try again when the other portaflow command has finished"
        )
    return StoreError(
        f"cannot use the local store database {db_path} ({text}); check that the folder is "
        "writable and the disk not full"
    )


def _guarded(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """Turn any SQLite failure inside a Store method into one StoreError naming the file."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            store = args[0]
            assert isinstance(store, Store)
            raise _explained(exc, store.db_path) from None

    return wrapper


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """An artifact directory as its sidecar describes it."""

    uri: str
    type: str | None
    materializer: str | None
    sha256: str | None
    size: int | None


def prepare_location(location: Path) -> str | None:
    """Create the store folder if needed; what makes it unusable, or None when it is fine."""
    location = Path(location)
    if location.exists() and not location.is_dir():
        return f"the store {location} is not a folder"
    try:
        location.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the store folder {location}: {exc.strerror or exc}"
    if not os.access(location, os.W_OK | os.X_OK):
        return f"the store folder {location} is not writable"
    return None


def default_location(root: Path) -> Path:
    """The store directory: env PORTAFLOW_STORE, else `<root>/.portaflow`."""
    env = os.environ.get("PORTAFLOW_STORE")
    return Path(env) if env else root / ".portaflow"


def index_location(root: Path, uri: str) -> Path:
    """The local folder (index, logs, work copies) of a URL store: `<root>/.portaflow/index/<hash>`."""
    import hashlib

    digest = hashlib.sha256(uri.rstrip("/").encode("utf-8")).hexdigest()[:16]
    return Path(root) / ".portaflow" / "index" / digest


def resolve_store(root: Path, store: str | os.PathLike[str] | None) -> tuple[Path, str | None]:
    """(local folder, URL or None) of a store given as a path, a URL, or None (the default)."""
    if store is None:
        store = default_location(root)
    text = os.fspath(store)
    if is_url(text):
        return index_location(root, text), text
    return Path(text), None


class Store:
    """The SQLite index and the folders beside it (artifacts, run logs), over the store's records.

    `uri` is the store's URL when it is not the folder itself (`s3://bucket/prefix`...):
    records and artifacts go there, and `location` holds the index and work copies.
    """

    def __init__(self, location: Path, *, uri: str | None = None) -> None:
        self.location = Path(location).resolve()
        self.artifacts_dir = self.location / "artifacts"
        self.runs_dir = self.location / "runs"
        self.db_path = self.location / "portaflow.db"
        problem = prepare_location(self.location)
        if problem is not None:
            raise StoreError(problem)
        try:
            #: Where the records are: the URL, or this folder.
            self.records: Location = open_location(uri or self.location)
        except StoreLocationError as exc:
            raise StoreError(str(exc)) from None
        # Autocommit mode: transactions are explicit (`_tx`), so none stays open by accident.
        try:
            self._db = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise _explained(exc, self.db_path) from None
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout = 30000")
            self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable against a killed process in WAL mode; only power loss may drop
            # the last commits, and never corrupts.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise _explained(exc, self.db_path) from None
        except StoreError:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- plumbing

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.db_path} has schema version {version}, newer than this portaflow "
                    f"understands ({SCHEMA_VERSION}); upgrade portaflow"
                )
            if version == 0:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                version = 1
            for statement in MIGRATIONS[version - 1 :]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    def _row(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        r = self._db.execute(sql, args).fetchone()
        return dict(r) if r is not None else None

    # ----------------------------------------------------------------- runs

    @_guarded
    def create_run(
        self,
        *,
        run_id: str,
        pipeline: str,
        source: str,
        root: str,
        params: Mapping[str, Any],
        ir_json: str,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """A new run, `running`; `options` are the runner's settings a resume keeps ({"cache"})."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, pipeline, source, root, status, params, ir, created, options)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                (
                    run_id,
                    pipeline,
                    source,
                    root,
                    _dump(params),
                    ir_json,
                    time.time(),
                    _dump(dict(options or {})),
                ),
            )
        row = self._row("SELECT * FROM runs WHERE id = ?", (run_id,))
        assert row is not None
        records.publish_run(self, row)

    def run_options(self, run: Row) -> dict[str, Any]:
        """The options a run started with; {} when its record of them is unreadable."""
        value = _loads(run.get("options"))
        return value if isinstance(value, dict) else {}

    @_guarded
    def set_run_status(self, run_id: str, status: str, message: str | None = None) -> None:
        finished = None if status == "running" else time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, message = ?, finished = ? WHERE id = ?",
                (status, message, finished, run_id),
            )
        records.publish_status(self, run_id, status, message)

    @_guarded
    def get_run(self, run_id: str) -> Row:
        row = self._row("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            prefix = self._rows("SELECT id FROM runs WHERE id LIKE ? LIMIT 2", (run_id + "%",))
            if len(prefix) == 1:
                return self.get_run(prefix[0]["id"])
            raise StoreError(f"no run {run_id!r} in {self.location} (see `portaflow runs list`)")
        return row

    @_guarded
    def list_runs(self, *, pipeline: str | None = None, limit: int = 50) -> list[Row]:
        sql = "SELECT * FROM runs"
        args: list[Any] = []
        if pipeline:
            sql += " WHERE pipeline = ?"
            args.append(pipeline)
        sql += " ORDER BY created DESC, id DESC LIMIT ?"
        args.append(limit)
        return self._rows(sql, args)

    @_guarded
    def runs_with_status(self, status: str) -> list[Row]:
        return self._rows("SELECT id, status FROM runs WHERE status = ? ORDER BY id", (status,))

    # ----------------------------------------------------------------- executions

    @_guarded
    def save_execution(self, run_id: str, key: str, **fields: Any) -> None:
        """Insert or update one execution; JSON fields are given as Python values.

        Without `task` and `step` the execution must exist and only the given fields change.
        """
        for name in ("inputs", "outputs", "metadata"):
            if name in fields and fields[name] is not None:
                fields[name] = _dump(fields[name])
        if "task" not in fields:
            sets = ", ".join(f"{c} = ?" for c in fields)
            with self._tx() as db:
                db.execute(
                    f"UPDATE executions SET {sets} WHERE run_id = ? AND key = ?",
                    (*fields.values(), run_id, key),
                )
            return
        cols = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        updates = ", ".join(f"{c} = excluded.{c}" for c in fields)
        with self._tx() as db:
            db.execute(
                f"INSERT INTO executions (run_id, key, {cols}) VALUES (?, ?, {marks})"
                f" ON CONFLICT (run_id, key) DO UPDATE SET {updates}",
                (run_id, key, *fields.values()),
            )
        if fields.get("state") in records.FINAL_FAILURES:
            records.publish_task(self, run_id, key)

    @_guarded
    def forget_unfinished(self, run_id: str) -> None:
        """Drop a resumed run's executions that did not succeed; they are planned again."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM executions WHERE run_id = ? AND state NOT IN ('succeeded', 'cached')",
                (run_id,),
            )

    @_guarded
    def start_attempt(self, run_id: str, key: str, attempt: int, started: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO attempts (run_id, key, attempt, started) VALUES (?, ?, ?, ?)",
                (run_id, key, attempt, started),
            )

    @_guarded
    def finish_attempt(
        self,
        run_id: str,
        key: str,
        attempt: int,
        finished: float,
        exit_code: int | None,
        message: str | None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET finished = ?, exit_code = ?, message = ?"
                " WHERE run_id = ? AND key = ? AND attempt = ?",
                (finished, exit_code, message, run_id, key, attempt),
            )

    @_guarded
    def executions(self, run_id: str) -> list[Row]:
        """Every execution of a run; a row whose JSON is unreadable says so in `damaged`."""
        rows = self._rows("SELECT * FROM executions WHERE run_id = ? ORDER BY rowid", (run_id,))
        for r in rows:
            _decode(r)
        return rows

    @_guarded
    def attempts(self, run_id: str) -> list[Row]:
        return self._rows(
            "SELECT * FROM attempts WHERE run_id = ? ORDER BY key, attempt", (run_id,)
        )

    @_guarded
    def cached_candidates(self, cache_key: str, limit: int = 5) -> list[Row]:
        """Successful executions with this cache key, newest first (damaged ones say so)."""
        rows = self._rows(
            "SELECT * FROM executions WHERE cache_key = ? AND state IN ('succeeded', 'cached')"
            " ORDER BY finished DESC LIMIT ?",
            (cache_key, limit),
        )
        for r in rows:
            _decode(r)
        return rows

    def find_cached(self, cache_key: str) -> Row | None:
        """The newest successful execution with this cache key whose record is readable."""
        for row in self.cached_candidates(cache_key):
            if not row["damaged"]:
                return row
        return None

    @_guarded
    def record_results(
        self,
        run_id: str,
        key: str,
        *,
        inputs: Sequence[tuple[str, ArtifactInfo]],
        outputs: Sequence[tuple[str, ArtifactInfo]],
        metrics: Mapping[str, Any],
    ) -> None:
        """Artifacts, lineage edges and metrics of one finished execution, in one transaction.

        The execution is finished (succeeded or cached): its task record is written too.
        """
        with self._tx() as db:
            for direction, items in (("input", inputs), ("output", outputs)):
                for name, art in items:
                    art_id = records.upsert_artifact(
                        db,
                        {
                            "uri": art.uri,
                            "type": art.type,
                            "materializer": art.materializer,
                            "sha256": art.sha256,
                            "size": art.size,
                        },
                    )
                    db.execute(
                        "INSERT OR IGNORE INTO lineage (run_id, execution, artifact_id, direction, name)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (run_id, key, art_id, direction, name),
                    )
            for name, value in metrics.items():
                db.execute(
                    "INSERT OR REPLACE INTO metrics (run_id, execution, name, value) VALUES (?, ?, ?, ?)",
                    (run_id, key, name, _dump(value)),
                )
        records.publish_task(self, run_id, key)

    @_guarded
    def artifacts(self, run_id: str, direction: str = "output") -> list[Row]:
        return self._rows(
            "SELECT l.execution, l.name, a.* FROM lineage l JOIN artifacts a ON a.id = l.artifact_id"
            " WHERE l.run_id = ? AND l.direction = ? ORDER BY l.execution, l.name",
            (run_id, direction),
        )

    @_guarded
    def lineage(self, run_id: str) -> list[Row]:
        return self._rows(
            "SELECT l.execution, l.direction, l.name, a.uri, a.sha256 FROM lineage l"
            " JOIN artifacts a ON a.id = l.artifact_id WHERE l.run_id = ?"
            " ORDER BY l.execution, l.direction, l.name",
            (run_id,),
        )

    @_guarded
    def metrics(self, run_id: str) -> list[Row]:
        rows = self._rows(
            "SELECT execution, name, value FROM metrics WHERE run_id = ? ORDER BY execution, name",
            (run_id,),
        )
        for r in rows:
            value = _loads(r["value"])
            r["value"] = r["value"] if value is None and r["value"] != "null" else value
        return rows

    # ----------------------------------------------------------------- models

    @_guarded
    def register_model_version(
        self, *, model: str, description: str | None, tags: Sequence[str], run_id: str
    ) -> int:
        """A new version of `model` linked to every output artifact of the run; its number.

        The version is a record in the store (`registry/<model>/version-<run>.json`);
        numbers count versions in (time, record name) order, the same in every index.
        """
        arts = self._rows(
            "SELECT l.execution || '.' || l.name AS name, a.uri, a.type, a.materializer,"
            " a.sha256, a.size FROM lineage l JOIN artifacts a ON a.id = l.artifact_id"
            " WHERE l.run_id = ? AND l.direction = 'output' ORDER BY name",
            (run_id,),
        )
        stored = {
            f"{e['key']}.{n}": o.get("store_uri")
            for e in self.executions(run_id)
            for n, o in (e["outputs"] or {}).items()
            if isinstance(o, dict)
        }
        for art in arts:
            if stored.get(art["name"]):
                art["store_uri"] = stored[art["name"]]
        body = {
            "model": model,
            "description": description,
            "tags": list(tags),
            "run_id": run_id,
            "created": time.time(),
            "artifacts": arts,
        }
        name = f"registry/{records.safe_part(model)}/version-{records.safe_part(run_id)}.json"
        records.put(self, name, "version", body)
        self._index_registry(model, [name])
        row = self._row(
            "SELECT version FROM model_versions WHERE model = ? AND run_id = ?", (model, run_id)
        )
        assert row is not None
        return int(row["version"])

    def _index_registry(self, model: str, written: Sequence[str]) -> None:
        """Index the model's records, those just written and any other machine's."""
        names = self.records.list(f"registry/{records.safe_part(model)}/")
        known = {r["name"] for r in self._rows("SELECT name FROM registry")}
        # Ours were marked seen by `put`, and are applied here, with everyone else's.
        todo = {n for n in names if n not in known} | {w for w in written if w not in known}
        if todo:
            records.apply(self, sorted(todo))

    @_guarded
    def refresh(self) -> int:
        """Index the store's records written since the last refresh (by anyone); how many."""
        return records.refresh(self)

    @_guarded
    def list_models(self) -> list[Row]:
        """Every model, from the registry records in the store (anyone's, read now)."""
        records.refresh(self, ("registry/",))
        return self._rows(
            "SELECT m.name, m.description, COUNT(v.version) AS versions, MAX(v.version) AS latest,"
            " (SELECT version FROM model_versions p WHERE p.model = m.name AND p.stage = 'production'"
            "  ORDER BY version DESC LIMIT 1) AS production"
            " FROM models m LEFT JOIN model_versions v ON v.model = m.name GROUP BY m.name ORDER BY m.name"
        )

    @_guarded
    def model_versions(self, model: str) -> list[Row]:
        """Every version of `model` with its stage, artifacts and metrics, oldest first.

        Read from the model's registry records in the store at this moment (versions
        numbered, promotions applied, in (time, record name) order).
        """
        self._index_registry(model, [])
        if self._row("SELECT name FROM models WHERE name = ?", (model,)) is None:
            raise StoreError(f"no model {model!r} (see `portaflow models list`)")
        versions = self._rows(
            "SELECT v.*, r.status AS run_status FROM model_versions v"
            " LEFT JOIN runs r ON r.id = v.run_id"
            " WHERE v.model = ? ORDER BY v.version",
            (model,),
        )
        for v in versions:
            v["artifacts"] = self._rows(
                "SELECT ma.name, a.uri, a.type, a.size, a.sha256 FROM model_artifacts ma"
                " JOIN artifacts a ON a.id = ma.artifact_id WHERE ma.model = ? AND ma.version = ?"
                " ORDER BY ma.name",
                (model, v["version"]),
            )
            v["metrics"] = self.metrics(v["run_id"])
        return versions

    @_guarded
    def promote(self, model: str, version: int, stage: str) -> None:
        """Set a version's stage; promoting to production archives the previous production one."""
        if stage not in STAGES:
            raise StoreError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")
        self._index_registry(model, [])
        found = self._row(
            "SELECT run_id FROM model_versions WHERE model = ? AND version = ?", (model, version)
        )
        if found is None:
            raise StoreError(
                f"model {model!r} has no version {version} (see `portaflow models show {model}`)"
            )
        # An appended record; every index replays promotions in (time, record name) order.
        body = {
            "model": model,
            "version": version,
            "run_id": found["run_id"],
            "stage": stage,
            "ts": time.time(),
        }
        name = f"registry/{records.safe_part(model)}/promote-{records.record_stamp()}.json"
        records.put(self, name, "promote", body)
        self._index_registry(model, [name])


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _loads(text: Any) -> Any:
    """JSON text decoded; None for NULL, and for text that is not JSON (a damaged row)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None


def _decode(row: Row) -> None:
    """Decode an execution row's JSON columns in place; `damaged` lists the unreadable ones."""
    damaged = []
    for name in _JSON_COLUMNS:
        text = row.get(name)
        value = _loads(text)
        if text is not None and value is None and text != "null":
            damaged.append(name)
        row[name] = value
    row["damaged"] = damaged
