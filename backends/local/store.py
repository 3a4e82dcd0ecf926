"""The embedded metadata store: runs, executions, artifacts, lineage, metrics, models in SQLite.

One file, `<store>/portaflow.db`, in WAL mode with a busy timeout, so several
runners (and `portaflow runs list` beside them) can use it at once. Every
write is one short `BEGIN IMMEDIATE` transaction: a runner killed at any
moment leaves the database as it was before or after that write, never in
between. The schema carries its version in `PRAGMA user_version`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Version of the schema below; bump it and add a migration on any change.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    pipeline    TEXT NOT NULL,
    source      TEXT NOT NULL,
    root        TEXT NOT NULL,
    status      TEXT NOT NULL,          -- running | succeeded | failed | cancelled
    params      TEXT NOT NULL,          -- JSON object
    ir          TEXT NOT NULL,          -- canonical IR JSON the run executes
    created     REAL NOT NULL,
    finished    REAL,
    message     TEXT
);
CREATE TABLE executions (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    key         TEXT NOT NULL,          -- task id plus loop indices: "score[1]"
    task        TEXT NOT NULL,
    step        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    started     REAL,
    finished    REAL,
    cache_key   TEXT,
    cache_hit   INTEGER NOT NULL DEFAULT 0,
    cached_from TEXT,                   -- "run_id/key" of the execution reused
    log_path    TEXT,
    pid         INTEGER,
    exit_code   INTEGER,
    message     TEXT,
    inputs      TEXT,                   -- JSON: resolved inputs
    outputs     TEXT,                   -- JSON: name -> {"kind", "value" | "uri"...}
    metadata    TEXT,                   -- JSON written by the task runtime
    PRIMARY KEY (run_id, key)
);
CREATE INDEX executions_by_cache_key ON executions(cache_key, state);
CREATE TABLE attempts (
    run_id      TEXT NOT NULL,
    key         TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started     REAL NOT NULL,
    finished    REAL,
    exit_code   INTEGER,
    message     TEXT,
    PRIMARY KEY (run_id, key, attempt)
);
CREATE TABLE artifacts (
    id          INTEGER PRIMARY KEY,
    uri         TEXT NOT NULL UNIQUE,
    type        TEXT,
    materializer TEXT,
    sha256      TEXT,
    size        INTEGER,
    created     REAL NOT NULL
);
CREATE TABLE lineage (
    run_id      TEXT NOT NULL,
    execution   TEXT NOT NULL,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    direction   TEXT NOT NULL CHECK (direction IN ('input', 'output')),
    name        TEXT NOT NULL,
    PRIMARY KEY (run_id, execution, artifact_id, direction, name)
);
CREATE TABLE metrics (
    run_id      TEXT NOT NULL,
    execution   TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,          -- JSON
    PRIMARY KEY (run_id, execution, name)
);
CREATE TABLE models (
    name        TEXT PRIMARY KEY,
    description TEXT,
    tags        TEXT NOT NULL,          -- JSON list
    created     REAL NOT NULL
);
CREATE TABLE model_versions (
    model       TEXT NOT NULL REFERENCES models(name),
    version     INTEGER NOT NULL,
    run_id      TEXT NOT NULL,
    stage       TEXT,                   -- NULL | staging | production | archived
    created     REAL NOT NULL,
    PRIMARY KEY (model, version)
);
CREATE TABLE model_artifacts (
    model       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,          -- "execution.output"
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    PRIMARY KEY (model, version, name)
);
"""

#: Stages a model version can be promoted to.
STAGES = ("staging", "production", "archived")

Row = dict[str, Any]


class StoreError(Exception):
    """The store cannot be used (newer schema, unknown run or model...)."""


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """An artifact directory as its sidecar describes it."""

    uri: str
    type: str | None
    materializer: str | None
    sha256: str | None
    size: int | None


def default_location(root: Path) -> Path:
    """The store directory: env PORTAFLOW_STORE, else `<root>/.portaflow`."""
    env = os.environ.get("PORTAFLOW_STORE")
    return Path(env) if env else root / ".portaflow"


class Store:
    """The SQLite database and the folders beside it (artifacts, run logs)."""

    def __init__(self, location: Path) -> None:
        self.location = Path(location).resolve()
        self.artifacts_dir = self.location / "artifacts"
        self.runs_dir = self.location / "runs"
        self.location.mkdir(parents=True, exist_ok=True)
        self.db_path = self.location / "portaflow.db"
        # Autocommit mode: transactions are explicit (`_tx`), so none stays open by accident.
        self._db = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable against a killed process in WAL mode; only power loss may drop
        # the last commits, and never corrupts.
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

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
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    def _row(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        r = self._db.execute(sql, args).fetchone()
        return dict(r) if r is not None else None

    # ----------------------------------------------------------------- runs

    def create_run(
        self,
        *,
        run_id: str,
        pipeline: str,
        source: str,
        root: str,
        params: Mapping[str, Any],
        ir_json: str,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, pipeline, source, root, status, params, ir, created)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, pipeline, source, root, _dump(params), ir_json, time.time()),
            )

    def set_run_status(self, run_id: str, status: str, message: str | None = None) -> None:
        finished = None if status == "running" else time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, message = ?, finished = ? WHERE id = ?",
                (status, message, finished, run_id),
            )

    def get_run(self, run_id: str) -> Row:
        row = self._row("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            prefix = self._rows("SELECT id FROM runs WHERE id LIKE ? LIMIT 2", (run_id + "%",))
            if len(prefix) == 1:
                return self.get_run(prefix[0]["id"])
            raise StoreError(f"no run {run_id!r} in {self.location} (see `portaflow runs list`)")
        return row

    def list_runs(self, *, pipeline: str | None = None, limit: int = 50) -> list[Row]:
        sql = "SELECT * FROM runs"
        args: list[Any] = []
        if pipeline:
            sql += " WHERE pipeline = ?"
            args.append(pipeline)
        sql += " ORDER BY created DESC, id DESC LIMIT ?"
        args.append(limit)
        return self._rows(sql, args)

    # ----------------------------------------------------------------- executions

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

    def forget_unfinished(self, run_id: str) -> None:
        """Drop a resumed run's executions that did not succeed; they are planned again."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM executions WHERE run_id = ? AND state NOT IN ('succeeded', 'cached')",
                (run_id,),
            )

    def start_attempt(self, run_id: str, key: str, attempt: int, started: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO attempts (run_id, key, attempt, started) VALUES (?, ?, ?, ?)",
                (run_id, key, attempt, started),
            )

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

    def executions(self, run_id: str) -> list[Row]:
        rows = self._rows("SELECT * FROM executions WHERE run_id = ? ORDER BY rowid", (run_id,))
        for r in rows:
            for name in ("inputs", "outputs", "metadata"):
                r[name] = json.loads(r[name]) if r[name] else None
        return rows

    def attempts(self, run_id: str) -> list[Row]:
        return self._rows(
            "SELECT * FROM attempts WHERE run_id = ? ORDER BY key, attempt", (run_id,)
        )

    def find_cached(self, cache_key: str) -> Row | None:
        """The newest successful execution with this cache key, if any."""
        row = self._row(
            "SELECT * FROM executions WHERE cache_key = ? AND state IN ('succeeded', 'cached')"
            " ORDER BY finished DESC LIMIT 1",
            (cache_key,),
        )
        if row is not None:
            for name in ("inputs", "outputs", "metadata"):
                row[name] = json.loads(row[name]) if row[name] else None
        return row

    def record_results(
        self,
        run_id: str,
        key: str,
        *,
        inputs: Sequence[tuple[str, ArtifactInfo]],
        outputs: Sequence[tuple[str, ArtifactInfo]],
        metrics: Mapping[str, Any],
    ) -> None:
        """Artifacts, lineage edges and metrics of one finished execution, in one transaction."""
        now = time.time()
        with self._tx() as db:
            for direction, items in (("input", inputs), ("output", outputs)):
                for name, art in items:
                    db.execute(
                        "INSERT INTO artifacts (uri, type, materializer, sha256, size, created)"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (uri) DO UPDATE SET"
                        " type = excluded.type, materializer = excluded.materializer,"
                        " sha256 = excluded.sha256, size = excluded.size",
                        (art.uri, art.type, art.materializer, art.sha256, art.size, now),
                    )
                    art_id = db.execute(
                        "SELECT id FROM artifacts WHERE uri = ?", (art.uri,)
                    ).fetchone()[0]
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

    def artifacts(self, run_id: str, direction: str = "output") -> list[Row]:
        return self._rows(
            "SELECT l.execution, l.name, a.* FROM lineage l JOIN artifacts a ON a.id = l.artifact_id"
            " WHERE l.run_id = ? AND l.direction = ? ORDER BY l.execution, l.name",
            (run_id, direction),
        )

    def lineage(self, run_id: str) -> list[Row]:
        return self._rows(
            "SELECT l.execution, l.direction, l.name, a.uri, a.sha256 FROM lineage l"
            " JOIN artifacts a ON a.id = l.artifact_id WHERE l.run_id = ?"
            " ORDER BY l.execution, l.direction, l.name",
            (run_id,),
        )

    def metrics(self, run_id: str) -> list[Row]:
        rows = self._rows(
            "SELECT execution, name, value FROM metrics WHERE run_id = ? ORDER BY execution, name",
            (run_id,),
        )
        for r in rows:
            r["value"] = json.loads(r["value"])
        return rows

    # ----------------------------------------------------------------- models

    def register_model_version(
        self, *, model: str, description: str | None, tags: Sequence[str], run_id: str
    ) -> int:
        """A new version of `model` linked to every output artifact of the run."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO models (name, description, tags, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET description = excluded.description,"
                " tags = excluded.tags",
                (model, description, _dump(list(tags)), now),
            )
            version = int(
                db.execute(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model = ?",
                    (model,),
                ).fetchone()[0]
            )
            db.execute(
                "INSERT INTO model_versions (model, version, run_id, stage, created) VALUES (?, ?, ?, NULL, ?)",
                (model, version, run_id, now),
            )
            db.execute(
                "INSERT OR IGNORE INTO model_artifacts (model, version, name, artifact_id)"
                " SELECT ?, ?, execution || '.' || name, artifact_id FROM lineage"
                " WHERE run_id = ? AND direction = 'output'",
                (model, version, run_id),
            )
        return version

    def list_models(self) -> list[Row]:
        return self._rows(
            "SELECT m.name, m.description, COUNT(v.version) AS versions, MAX(v.version) AS latest,"
            " (SELECT version FROM model_versions p WHERE p.model = m.name AND p.stage = 'production'"
            "  ORDER BY version DESC LIMIT 1) AS production"
            " FROM models m LEFT JOIN model_versions v ON v.model = m.name GROUP BY m.name ORDER BY m.name"
        )

    def model_versions(self, model: str) -> list[Row]:
        if self._row("SELECT name FROM models WHERE name = ?", (model,)) is None:
            raise StoreError(f"no model {model!r} (see `portaflow models list`)")
        versions = self._rows(
            "SELECT v.*, r.status AS run_status FROM model_versions v JOIN runs r ON r.id = v.run_id"
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

    def promote(self, model: str, version: int, stage: str) -> None:
        """Set a version's stage; promoting to production archives the previous production one."""
        if stage not in STAGES:
            raise StoreError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")
        with self._tx() as db:
            found = db.execute(
                "SELECT 1 FROM model_versions WHERE model = ? AND version = ?", (model, version)
            ).fetchone()
            if found is None:
                raise StoreError(
                    f"model {model!r} has no version {version} (see `portaflow models show {model}`)"
                )
            if stage == "production":
                db.execute(
                    "UPDATE model_versions SET stage = 'archived'"
                    " WHERE model = ? AND stage = 'production' AND version != ?",
                    (model, version),
                )
            db.execute(
                "UPDATE model_versions SET stage = ? WHERE model = ? AND version = ?",
                (stage, model, version),
            )


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
