"""The schema of the local store's SQLite database, and its migrations.

A new database gets `SCHEMA` (version 1) and then every migration; a database
of version N gets the migrations after N. `PRAGMA user_version` holds the
version, so an older portaflow refuses a newer store instead of misreading it.
"""

from __future__ import annotations

#: Version of the schema (`SCHEMA` plus `MIGRATIONS`); bump it and add a migration on any change.
SCHEMA_VERSION = 4

#: Migrations from version N-1 to N (index N-2): the schema of version 1 plus these is current.
MIGRATIONS = (
    # 2: the options a run started with (`--no-cache`), so a resume keeps them.
    "ALTER TABLE runs ADD COLUMN options TEXT NOT NULL DEFAULT '{}'",
    # 3: the database is an index of the store's records: the names of those it has applied.
    "CREATE TABLE records (name TEXT PRIMARY KEY)",
    # 4: model version and promotion records, replayed in (ts, name) order into model_versions.
    "CREATE TABLE registry (name TEXT PRIMARY KEY, model TEXT NOT NULL, kind TEXT NOT NULL,"
    " ts REAL NOT NULL, body TEXT NOT NULL)",
)

#: The tables of version 1 (statements separated by `;`).
SCHEMA = """
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
    -- version 2 adds: options TEXT NOT NULL DEFAULT '{}'  (JSON object: {"cache": bool})
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
