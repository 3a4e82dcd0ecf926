"""The SQLite store: schema versioning, concurrent writers in WAL mode, models, parameters parsing."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from irkit import Builder, lit, step
from portaflow.backends.local import ParamError, Store, StoreError, parse_assignments
from portaflow.backends.local.params import resolve
from portaflow.backends.local.store import SCHEMA_VERSION, ArtifactInfo

#: The store tests run on the default folder and on moto's S3 (tests/local/conftest.py).
STORE_BACKENDS = ("local", "s3")


def _writer(location: str, worker: int, n: int, uri: str | None) -> None:
    with Store(Path(location), uri=uri) as st:
        for i in range(n):
            run_id = f"w{worker}-{i}"
            st.create_run(
                run_id=run_id, pipeline="p", source="p.py", root="/", params={}, ir_json="{}"
            )
            st.save_execution(run_id, "t", task="t", step="m:f", state="running", attempt=1)
            st.save_execution(
                run_id, "t", state="succeeded", outputs={"o": {"kind": "parameter", "value": i}}
            )
            art = ArtifactInfo(
                uri=f"/a/{run_id}", type="bytes", materializer="bytes", sha256="x", size=1
            )
            st.record_results(run_id, "t", inputs=[], outputs=[("o", art)], metrics={"m": i})
            st.set_run_status(run_id, "succeeded")


def test_concurrent_writers_from_several_processes(
    tmp_path: Path, store_backend: str | None
) -> None:
    location = tmp_path / "store"  # not created yet: the processes race to create the schema too
    ctx = multiprocessing.get_context("spawn")
    # On S3 two writers and fewer runs: each process pays for importing s3fs, each record a PUT.
    n, writers = (40, 4) if store_backend is None else (3, 2)
    procs = [
        ctx.Process(target=_writer, args=(str(location), w, n, store_backend))
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * writers
    db = sqlite3.connect(location / "portaflow.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert (
        db.execute("SELECT COUNT(*) FROM runs WHERE status = 'succeeded'").fetchone()[0]
        == writers * n
    )
    assert db.execute("SELECT COUNT(*) FROM lineage").fetchone()[0] == writers * n
    assert db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == writers * n
    db.close()
    # Every write is a record too: a fresh index over the same store sees all of it.
    (location / "portaflow.db").unlink()
    for wal in location.glob("portaflow.db-*"):
        wal.unlink()
    with Store(location, uri=store_backend) as st:
        assert st.refresh() == writers * n * 3  # run, task and status records
        assert len(st.list_runs(limit=1000)) == writers * n
        assert {r["status"] for r in st.list_runs(limit=1000)} == {"succeeded"}
        last = n - 1
        assert st.metrics(f"w{writers - 1}-{last}") == [
            {"execution": "t", "name": "m", "value": last}
        ]


def test_newer_schema_is_refused(tmp_path: Path, store_backend: str | None) -> None:
    Store(tmp_path, uri=store_backend).close()
    db = sqlite3.connect(tmp_path / "portaflow.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="upgrade portaflow"):
        Store(tmp_path, uri=store_backend)


def test_model_versions_and_promotion(tmp_path: Path, store_backend: str | None) -> None:
    with Store(tmp_path, uri=store_backend) as st:
        for i in (1, 2):
            st.create_run(
                run_id=f"r{i}", pipeline="p", source="p.py", root="/", params={}, ir_json="{}"
            )
            art = ArtifactInfo(
                uri=f"/a/{i}", type="bytes", materializer="bytes", sha256="x", size=1
            )
            st.record_results(
                f"r{i}", "train", inputs=[], outputs=[("model", art)], metrics={"rmse": i}
            )
            assert (
                st.register_model_version(model="m", description=None, tags=("a",), run_id=f"r{i}")
                == i
            )
        st.promote("m", 1, "production")
        st.promote("m", 2, "production")
        versions = st.model_versions("m")
        assert [v["stage"] for v in versions] == ["archived", "production"]
        assert versions[1]["artifacts"][0]["uri"] == "/a/2"
        assert versions[1]["metrics"][0]["value"] == 2
        assert st.list_models()[0]["production"] == 2
        with pytest.raises(StoreError, match="unknown stage"):
            st.promote("m", 1, "prod")
        with pytest.raises(StoreError, match="no model"):
            st.model_versions("nope")


def _params_pipeline():
    b = Builder(
        params={
            "n": ("int", 1),
            "lr": ("float", 0.1),
            "name": ("str", "x"),
            "regions": ("list[str]", ["eu"]),
            "cfg": ("dict[str, int]", {}),
            "flag": ("bool", False),
            "maybe": ("int | null", None),
        }
    )
    b.task("const", step("steps:const", {"value": "int"}, {"output": "int"}), {"value": lit(1)})
    return b.build()


def test_params_are_parsed_by_their_declared_type() -> None:
    p = _params_pipeline()
    got = parse_assignments(
        p,
        [
            "n=3",
            "lr=2",
            "name=hello world",
            'regions=["eu", "us"]',
            'cfg={"a": 1}',
            "flag=true",
            "maybe=null",
        ],
    )
    assert got == {
        "n": 3,
        "lr": 2.0,
        "name": "hello world",
        "regions": ["eu", "us"],
        "cfg": {"a": 1},
        "flag": True,
        "maybe": None,
    }
    assert isinstance(got["lr"], float)
    assert parse_assignments(p, ["name=3"]) == {"name": "3"}  # str params take the text as written
    assert parse_assignments(p, ['name="quoted"']) == {"name": "quoted"}


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("n=1.5", "expected int, got a float"),
        ("flag=1", "expected bool, got an int"),
        ("regions=eu", "not valid JSON for type list[str]"),
        ("regions=[1]", "expected list[str]"),
        ("nn=3", "no parameter 'nn'; did you mean 'n'?"),
        ("n", "write it as NAME=VALUE"),
        ("lr=NaN", "NaN is not a JSON number"),
        ("lr=-Infinity", "-Infinity is not a JSON number"),
        ("regions=[NaN]", "NaN is not a JSON number"),
        ('cfg={"a": Infinity}', "Infinity is not a JSON number"),
        ("n=" + "[" * 100_000, "nested too deeply"),
    ],
)
def test_param_errors_say_what_is_wrong(pair: str, message: str) -> None:
    with pytest.raises(
        ParamError, match=message.replace("[", r"\[").replace("]", r"\]").replace("?", r"\?")
    ):
        parse_assignments(_params_pipeline(), [pair])


def test_resolve_fills_defaults_and_requires_the_rest() -> None:
    p = _params_pipeline()
    assert resolve(p, {"n": 2})["regions"] == ["eu"]
    with pytest.raises(ParamError, match="expected int"):
        resolve(p, {"n": "2"})


def test_nan_is_text_for_a_str_parameter_and_refused_everywhere_else() -> None:
    p = _params_pipeline()
    assert parse_assignments(p, ["name=NaN"]) == {"name": "NaN"}
    with pytest.raises(ParamError, match="given twice"):
        parse_assignments(p, ["n=1", "n=2"])
    for value in (float("nan"), float("inf"), [1.0, float("-inf")], {"a": float("nan")}):
        with pytest.raises(ParamError, match="NaN and Infinity are not JSON numbers"):
            resolve(p, {"lr": value} if not isinstance(value, dict) else {"cfg": value})
