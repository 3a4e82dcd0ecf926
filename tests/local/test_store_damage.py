"""A damaged or unusable store, and runs whose runner died: one clear line, never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from portaflow.backends.local import Store, StoreError
from portaflow.backends.local.cli import models_group, run_cmd, runs_group
from portaflow.backends.local.housekeeping import holding, sweep_interrupted
from portaflow.backends.local.store import SCHEMA_VERSION
from storekit import index_dir

PIPELINE = """
from portaflow import pipeline, step


@step
def double(x: float) -> float:
    return x * 2


@pipeline
def doubling(x: float = 1.5):
    double(x)
"""


#: These tests run on the default folder and on moto's S3 (tests/local/conftest.py).
STORE_BACKENDS = ("local", "s3")


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_backend: str | None) -> Path:
    """A project whose store is the default folder, or (by env PORTAFLOW_STORE) an S3 prefix."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    monkeypatch.chdir(tmp_path)
    if store_backend is None:
        monkeypatch.delenv("PORTAFLOW_STORE", raising=False)
    else:
        monkeypatch.setenv("PORTAFLOW_STORE", store_backend)
    return tmp_path


def _open_store(proj: Path) -> Store:
    """The store the commands in `proj` use."""
    uri = os.environ.get("PORTAFLOW_STORE")
    return Store(index_dir(proj, uri), uri=uri)


def _one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)  # not an exception escaping the command
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _store_with_a_run(proj: Path) -> Path:
    result = CliRunner().invoke(run_cmd, ["pipeline.py", "--plain", "-q"])
    assert result.exit_code == 0, result.output
    return index_dir(proj, os.environ.get("PORTAFLOW_STORE")) / "portaflow.db"


def _smash_table(db_path: Path, table: str) -> None:
    db = sqlite3.connect(db_path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with db_path.open("r+b") as fh:
        fh.seek((root - 1) * size)
        fh.write(b"\xa5" * size)


def test_a_file_that_is_not_a_database_is_one_clear_error(proj: Path) -> None:
    db_path = _store_with_a_run(proj)
    db_path.write_bytes(b"this is not SQLite " * 100)
    for group, args in ((runs_group, ["list"]), (models_group, ["list"])):
        line = _one_line_error(CliRunner().invoke(group, args), 1)
        assert str(db_path) in line and "is damaged" in line
        assert f"mv {db_path} {db_path}.damaged" in line
    ran = CliRunner().invoke(run_cmd, ["pipeline.py", "--plain", "-q"])
    assert str(db_path) in _one_line_error(ran, 1)


def test_a_damaged_table_is_one_clear_error(proj: Path) -> None:
    db_path = _store_with_a_run(proj)
    _smash_table(db_path, "executions")  # the store opens; reading the executions fails
    for args in (["list"], ["show", "doubling"], ["show", "doubling", "--json"]):
        line = _one_line_error(CliRunner().invoke(runs_group, args), 1)
        assert "database disk image is malformed" in line and str(db_path) in line


def test_a_damaged_row_is_shown_as_damaged(proj: Path) -> None:
    db_path = _store_with_a_run(proj)
    db = sqlite3.connect(db_path)
    db.execute("UPDATE executions SET outputs = '{broken', metadata = '[1,'")
    db.execute("UPDATE runs SET params = 'nope'")
    db.commit()
    db.close()
    run_id = json.loads(CliRunner().invoke(runs_group, ["list", "--json"]).output)[0]["id"]
    shown = CliRunner().invoke(runs_group, ["show", run_id])
    assert shown.exit_code == 0, shown.output
    assert "damaged record (outputs, metadata unreadable)" in shown.output
    as_json = CliRunner().invoke(runs_group, ["show", run_id, "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["params"] == "nope"


@pytest.mark.parametrize(
    ("store", "why"),
    [
        ("pyproject.toml", "is not a folder"),
        ("pyproject.toml/store", "cannot create the store folder"),
        ("", "give the path of a folder"),
    ],
)
def test_an_unusable_store_is_a_usage_error(proj: Path, store: str, why: str) -> None:
    line = _one_line_error(CliRunner().invoke(run_cmd, ["pipeline.py", "--store", store]), 2)
    assert why in line
    if store == "pyproject.toml":
        line = _one_line_error(CliRunner().invoke(runs_group, ["list", "--store", store]), 2)
        assert why in line


def test_an_unusable_store_from_the_environment_is_a_usage_error(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTAFLOW_STORE", str(proj / "pyproject.toml"))
    for command, args in ((run_cmd, ["pipeline.py"]), (runs_group, ["list"])):
        assert "is not a folder" in _one_line_error(CliRunner().invoke(command, args), 2)


def test_an_unwritable_store_is_one_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        with pytest.raises(StoreError, match="cannot create the store folder"):
            Store(Path("/proc/portaflow-store"))  # not even root creates folders in /proc
        return
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(StoreError, match="is not writable"):
        Store(locked)


def test_repeated_and_non_finite_params_are_usage_errors(proj: Path) -> None:
    twice = CliRunner().invoke(run_cmd, ["pipeline.py", "--param", "x=1", "--param", "x=2"])
    assert "--param x is given twice ('x=1' and 'x=2')" in _one_line_error(twice, 2)
    for text in ("NaN", "Infinity", "-Infinity"):
        bad = CliRunner().invoke(run_cmd, ["pipeline.py", "--param", f"x={text}"])
        assert f"{text} is not a JSON number" in _one_line_error(bad, 2)


def _running_run(store: Store, run_id: str) -> None:
    store.create_run(run_id=run_id, pipeline="p", source="p.py", root="/", params={}, ir_json="{}")


def test_a_run_whose_runner_died_is_interrupted(proj: Path) -> None:
    with _open_store(proj) as st:
        _running_run(st, "p-dead")
        _running_run(st, "p-live")
        with holding(st, "p-live") as held:
            assert held
            listed = CliRunner().invoke(runs_group, ["list", "--json"])
            shown = CliRunner().invoke(runs_group, ["show", "p-dead"])
        # reading never changes the record: only the lock tells
        assert st.get_run("p-dead")["status"] == "running"
    statuses = {r["id"]: r["status"] for r in json.loads(listed.output)}
    assert statuses == {"p-dead": "interrupted", "p-live": "running"}
    assert "status    interrupted - its runner was killed" in shown.output
    assert "portaflow run --resume p-dead" in shown.output


def test_later_runs_sweep_what_killed_writes_left(proj: Path) -> None:
    dead_pid = "999999999"
    with _open_store(proj) as st:
        _running_run(st, "p-dead")
        _running_run(st, "p-live")
        left = {
            run: [
                st.artifacts_dir / run / "train" / f".model.tmp-{dead_pid}-x1",
                st.runs_dir / run / "train" / f".metadata.json.tmp-{dead_pid}-x2",
                st.runs_dir / run / "train" / "outputs" / f".rmse.json.tmp-{dead_pid}-x3",
            ]
            for run in ("p-dead", "p-live")
        }
        for paths in left.values():
            paths[0].mkdir(parents=True)
            (paths[0] / "part.bin").write_bytes(b"x")
            for p in paths[1:]:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text("half")
        kept = st.artifacts_dir / "p-dead" / "train" / "model"
        kept.mkdir()
        with holding(st, "p-live"):
            ran = CliRunner().invoke(run_cmd, ["pipeline.py", "--plain", "-q"])
            assert ran.exit_code == 0, ran.output
            assert sweep_interrupted(st) == []  # the run swept them all already
    assert not any(p.exists() for p in left["p-dead"])
    assert all(p.exists() for p in left["p-live"]) and kept.is_dir()
    # a resume holds the run's lock and sweeps the run it continues
    with _open_store(proj) as st, holding(st, "p-live"):
        assert sorted(sweep_interrupted(st, besides="p-live")) == sorted(left["p-live"])


def test_an_old_store_is_migrated(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "portaflow.db")
    db.executescript(
        """
        CREATE TABLE runs (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, source TEXT NOT NULL,
            root TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL, ir TEXT NOT NULL,
            created REAL NOT NULL, finished REAL, message TEXT);
        INSERT INTO runs VALUES ('old', 'p', 'p.py', '/', 'failed', '{}', '{}', 0, 1, NULL);
        PRAGMA user_version = 1;
        """
    )
    db.close()
    with Store(tmp_path) as st:
        assert st.run_options(st.get_run("old")) == {}
        _running_run(st, "new")
        assert st.run_options(st.get_run("new")) == {}
    db = sqlite3.connect(tmp_path / "portaflow.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    db.close()


def test_a_pipeline_path_that_is_not_a_file_is_one_clear_error(proj: Path) -> None:
    os.mkfifo(proj / "pipe.py")  # reading it would block forever
    line = _one_line_error(CliRunner().invoke(run_cmd, ["pipe.py"]), 1)
    assert "pipe.py is not a regular file" in line
