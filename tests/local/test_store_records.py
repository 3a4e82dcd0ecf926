"""The store is the system of record: records on a folder, file://, memory:// and a real S3 API
(moto's server through s3fs); the SQLite index is rebuilt from them; two machines share one
S3 prefix, its cache and its model registry."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from portaflow.backends.local import Store
from portaflow.backends.local import records as recs
from portaflow.backends.local.cli import models_group, run_cmd, runs_group
from portaflow.materializers import SIDECAR, save_artifact, verify_artifact
from portaflow.models import read_model_versions
from portaflow.storage import decode_record, encode_record, open_location
from s3kit import S3Server

PIPELINE = """
from portaflow import Model, pipeline, step


@step
def make(n: int) -> bytes:
    return bytes(range(n))


@step
def size(data: bytes) -> int:
    return len(data)


@pipeline(model=Model(name="demo"))
def demo(n: int = 5):
    size(make(n))
"""


def _machine(base: Path, name: str) -> Path:
    """A project folder: the pipeline, a pyproject, and (after a run) its own local index."""
    root = base / name
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (root / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    return root


def _cli(group, args: list[str], root: Path) -> str:
    old = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(group, args)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    return result.output


def _run(root: Path, store: str | None) -> dict:
    args = ["pipeline.py", "--plain", "-q"] + (["--store", store] if store else [])
    _cli(run_cmd, args, root)
    listed = json.loads(_cli(runs_group, ["list", "--json", *_store(store)], root))
    return listed[0]


def _store(store: str | None) -> list[str]:
    return ["--store", store] if store else []


@pytest.fixture(params=["local", "s3"])
def shared(request: pytest.FixtureRequest) -> str | None:
    """The store under test: None (the default folder) or a fresh prefix on moto's S3."""
    if request.param == "local":
        return None
    server: S3Server = request.getfixturevalue("s3_server")
    return server.fresh_prefix()


# --------------------------------------------------------------------------- locations


@pytest.fixture(params=["path", "file", "memory", "s3"])
def location_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "path":
        return str(tmp_path / "store")
    if request.param == "file":
        return (tmp_path / "store").as_uri()
    if request.param == "memory":
        return f"memory://portaflow-{uuid.uuid4().hex[:8]}"
    server: S3Server = request.getfixturevalue("s3_server")
    return server.fresh_prefix()


def test_records_are_put_once_and_checked_on_read(location_uri: str, tmp_path: Path) -> None:
    loc = open_location(location_uri)
    assert loc.put_if_absent("records/r1/run.json", encode_record("run", {"id": "r1"}))
    # Never rewritten: a second writer of the same name is refused, the first stays.
    assert not loc.put_if_absent("records/r1/run.json", encode_record("run", {"id": "other"}))
    assert decode_record(loc.read("records/r1/run.json")) == ("run", {"id": "r1"})
    assert loc.read("records/r1/none.json") is None
    # What a writer cut short (or anyone who edited it) leaves is no record.
    whole = encode_record("task", {"run_id": "r1", "key": "t", "state": "succeeded"})
    assert decode_record(whole[:-10]) is None
    assert decode_record(whole.replace(b"succeeded", b"failed\x20\x20\x20")) is None
    assert loc.list("records/") == ["records/r1/run.json"]
    # An artifact goes up with its sidecar and comes back byte for byte.
    art = save_artifact(b"\x00\x01payload", tmp_path / "art")
    remote = loc.upload_dir(tmp_path / "art", "artifacts/r1/t/output")
    back = tmp_path / "back"
    back.mkdir()
    loc.download_dir(remote, back)
    assert verify_artifact(back).sha256 == art.sha256
    assert sorted(p.name for p in back.iterdir()) == sorted(["data.bin", SIDECAR])


def test_a_url_store_without_fsspec_is_one_clear_error(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['fsspec'] = None\n"
        "from portaflow.storage import open_location, StoreLocationError\n"
        "try:\n    open_location('s3://b/p')\nexcept StoreLocationError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "needs the Python package 'fsspec'" in out.stdout
    assert "pip install 'portaflow[store]'" in out.stdout
    # ...and the runtime never imports it unless a URL store is opened.
    probe = (
        "import portaflow, portaflow.task, portaflow.storage, sys; print('fsspec' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- the index


def test_deleting_the_index_loses_nothing(shared: str | None, tmp_path: Path) -> None:
    root = _machine(tmp_path, "m")
    first = _run(root, shared)
    second = _run(root, shared)
    _cli(models_group, ["promote", "demo", "1", "--stage", "production", *_store(shared)], root)
    before = {
        "runs": _cli(runs_group, ["list", *_store(shared)], root),
        "show": json.loads(
            _cli(runs_group, ["show", first["id"], "--json", *_store(shared)], root)
        ),
        "models": _cli(models_group, ["show", "demo", *_store(shared)], root),
    }
    for db in root.glob(".portaflow/**/portaflow.db*"):
        db.unlink()
    after = {
        "runs": _cli(runs_group, ["list", *_store(shared)], root),
        "show": json.loads(
            _cli(runs_group, ["show", first["id"], "--json", *_store(shared)], root)
        ),
        "models": _cli(models_group, ["show", "demo", *_store(shared)], root),
    }
    assert after["runs"] == before["runs"]
    assert first["id"] in after["runs"] and second["id"] in after["runs"]
    for key in ("status", "params", "pipeline", "metrics", "lineage"):
        assert after["show"][key] == before["show"][key], key
    strip = ("damaged", "pid")
    assert [
        {k: v for k, v in e.items() if k not in strip} for e in after["show"]["executions"]
    ] == [{k: v for k, v in e.items() if k not in strip} for e in before["show"]["executions"]]
    assert after["models"] == before["models"]
    assert "version 1  stage: production" in after["models"]


# --------------------------------------------------------------------------- two machines


def test_two_machines_share_one_s3_prefix(s3_store: str, tmp_path: Path) -> None:
    a, b = _machine(tmp_path, "a"), _machine(tmp_path, "b")
    run_a = _run(a, s3_store)
    # Machine A's work copies are gone: B can only get the artifacts from the store.
    shutil.rmtree(next(a.glob(".portaflow/index/*")) / "artifacts")
    run_b = _run(b, s3_store)
    shown = json.loads(_cli(runs_group, ["show", run_b["id"], "--json", "--store", s3_store], b))
    assert [(e["key"], e["state"]) for e in shown["executions"]] == [
        ("make", "cached"),
        ("size", "cached"),
    ]
    fetched = shown["executions"][0]["outputs"]["output"]
    assert "/fetched/" in fetched["uri"] and fetched["store_uri"].startswith(s3_store)
    assert verify_artifact(Path(fetched["uri"])).sha256 == fetched["sha256"]
    for machine in (a, b):
        listed = _cli(runs_group, ["list", "--store", s3_store], machine)
        assert run_a["id"] in listed and run_b["id"] in listed
        assert "demo   2" in _cli(models_group, ["list", "--store", s3_store], machine)


def test_a_changed_artifact_in_the_store_is_never_a_cache_hit(
    s3_store: str, tmp_path: Path
) -> None:
    a, b = _machine(tmp_path, "a"), _machine(tmp_path, "b")
    _run(a, s3_store)
    shutil.rmtree(next(a.glob(".portaflow/index/*")) / "artifacts")
    loc = open_location(s3_store)
    data = [n for n in loc.list("artifacts/") if n.endswith("/make/output/data.bin")]
    assert len(data) == 1
    loc.fs.pipe_file(f"{loc.root}/{data[0]}", b"\x09\x09\x09\x09\x09")  # same size, other bytes
    run_b = _run(b, s3_store)
    shown = json.loads(_cli(runs_group, ["show", run_b["id"], "--json", "--store", s3_store], b))
    make = shown["executions"][0]
    assert make["state"] == "succeeded" and "not reused" in make["message"]


# --------------------------------------------------------------------------- killed writers

_WRITER = """
import sys
from portaflow.storage import encode_record, open_location
loc = open_location(sys.argv[1])
body = {"run_id": "r", "key": "k", "state": "succeeded", "attempt": 1, "blob": "x" * (2 << 20)}
i = 0
while True:
    loc.put_if_absent(f"records/r/task-k-a{i}.json", encode_record("task", body))
    print(i, flush=True)
    i += 1
"""


def test_a_writer_killed_mid_write_leaves_no_record_a_reader_accepts(
    shared: str | None, tmp_path: Path
) -> None:
    uri = shared or str(tmp_path / "store")
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, uri], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # one record is complete; the next one is being written
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    loc = open_location(uri)
    names = loc.list("records/")
    assert names, "the first record was written"
    assert all(decode_record(loc.read(n)) is not None for n in names)
    # A record cut short by a store that is not atomic (a hand copy, a broken sync) is refused.
    cut = encode_record("task", {"run_id": "r", "key": "cut", "attempt": 1, "state": "succeeded"})
    loc.put_if_absent("records/r/task-cut-a1.json", cut[: len(cut) // 2])
    with Store(tmp_path / "store", uri=shared) as st:
        st.refresh()
        keys = {e["key"] for e in st.executions("r")}
    assert "cut" not in keys and keys == {"k"}


# --------------------------------------------------------------------------- the registry


def _register(st: Store, run_id: str) -> int:
    st.create_run(run_id=run_id, pipeline="p", source="p.py", root="/", params={}, ir_json="{}")
    return st.register_model_version(model="m", description=None, tags=(), run_id=run_id)


def test_concurrent_promotions_resolve_the_same_on_every_index(
    shared: str | None, tmp_path: Path
) -> None:
    uri = shared or str(tmp_path / "store")
    one, two = Store(tmp_path / "one", uri=uri), Store(tmp_path / "two", uri=uri)
    try:
        assert _register(one, "r1") == 1
        assert _register(two, "r2") == 2  # sees r1's version record in the store
        # Two promotions to production at the same instant: the record name breaks the tie.
        ts = time.time()
        for st, version, run, stamp in ((one, 1, "r1", "b"), (two, 2, "r2", "a")):
            body = {
                "model": "m",
                "version": version,
                "run_id": run,
                "stage": "production",
                "ts": ts,
            }
            recs.put(st, f"registry/m/promote-{int(ts * 1000):013d}-{stamp}.json", "promote", body)
        for st in (one, two):
            st.refresh()
            stages = {v["version"]: v["stage"] for v in st.model_versions("m")}
            assert stages == {1: "production", 2: "archived"}  # (ts, "...-b") is the later record
        # A later promotion wins on both, in whichever index it was made.
        two.promote("m", 2, "production")
        for st in (one, two):
            assert {v["version"]: v["stage"] for v in st.model_versions("m")} == {
                1: "archived",
                2: "production",
            }
            assert st.list_models()[0]["production"] == 2
        # Code without the index (a pod) reads the same from the records alone.
        from_records = read_model_versions(uri, "m")
        assert [(v["version"], v["run_id"], v["stage"]) for v in from_records] == [
            (1, "r1", "archived"),
            (2, "r2", "production"),
        ]
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("foo://x", "the store foo://x is not a usable fsspec URL: Protocol not known: foo"),
        ("gs://b/p", "install it (s3fs for s3://, gcsfs for gs://, adlfs for az://)"),
    ],
)
def test_an_unusable_store_url_is_one_line(tmp_path: Path, url: str, why: str) -> None:
    root = _machine(tmp_path, "m")
    for group, args in ((runs_group, ["list"]), (run_cmd, ["pipeline.py", "-q"])):
        old = Path.cwd()
        os.chdir(root)
        try:
            result = CliRunner().invoke(group, [*args, "--store", url])
        finally:
            os.chdir(old)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.output.strip().splitlines() == [f"error: {result.output.strip()[7:]}"]
        assert why in result.output
