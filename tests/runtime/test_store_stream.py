"""`Location.save_artifact` / `load_artifact`: an artifact streamed into and out of the store.

On an object store (moto's S3 through s3fs) each data file goes straight into
its upload, hashed on the way, and the sidecar last; a load reads each data
file once and returns only a value whose bytes match the sidecar's sha256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from portaflow import materializers
from portaflow.materializers import SIDECAR, NotAnArtifactError, load_artifact
from portaflow.storage import StoreLocationError, open_location


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    if request.param == "memory":  # an fsspec file system without multipart uploads
        return f"memory://stream-tests/{tmp_path.name}"
    return str(request.getfixturevalue("s3_store"))


def _frame():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame({"x": range(20_000), "y": [f"v{i % 7}" for i in range(20_000)]})


def test_a_dataframe_round_trips_and_its_sidecar_is_true(store: str, tmp_path: Path) -> None:
    df = _frame()
    loc = open_location(store)
    uri, info = loc.save_artifact(df, "artifacts/r/t/out")
    assert uri == loc.full("artifacts/r/t/out")
    assert loc.load_artifact(uri).equals(df)
    # The copy a runner fetches is an ordinary artifact, whose sha256 is the streamed one.
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    loc.download_dir(uri, fetched)
    assert materializers.verify_artifact(fetched).sha256 == info.sha256
    data = (fetched / "data.parquet").read_bytes()
    assert info.size == len(data)
    df.to_parquet(tmp_path / "plain.parquet", engine="pyarrow")
    assert data == (tmp_path / "plain.parquet").read_bytes()
    line = f"{hashlib.sha256(data).hexdigest()}  data.parquet\n"
    assert info.sha256 == hashlib.sha256(line.encode()).hexdigest()


@pytest.mark.parametrize(
    "value", [b"bytes", {"a": [1, 2]}, ("a", 1)], ids=["bytes", "json", "tuple"]
)
def test_other_builtins_round_trip(store: str, value: object) -> None:
    loc = open_location(store)
    uri, _ = loc.save_artifact(value, "artifacts/r/t/v")
    assert loc.load_artifact(uri) == value


def test_a_path_goes_through_a_folder_both_ways(store: str, tmp_path: Path) -> None:
    src = tmp_path / "report.txt"
    src.write_text("hello")
    loc = open_location(store)
    uri, info = loc.save_artifact(src, "artifacts/r/t/p")
    assert info.materializer == "path"
    back = loc.load_artifact(uri, workdir=tmp_path)
    assert isinstance(back, Path) and back.read_text() == "hello"


def _s3(store: str):  # type: ignore[no-untyped-def]
    loc = open_location(store)
    return loc, loc.fs, loc.root


def test_damaged_bytes_in_the_bucket_are_never_loaded(s3_store: str) -> None:
    loc, fs, root = _s3(s3_store)
    uri, _ = loc.save_artifact(_frame(), "artifacts/r/t/out")
    key = f"{root}/artifacts/r/t/out/data.parquet"
    data = bytearray(fs.cat_file(key))
    data[len(data) // 2] ^= 0xFF
    fs.pipe_file(key, bytes(data))
    with pytest.raises(NotAnArtifactError, match="changed since it was written"):
        loc.load_artifact(uri)


def test_no_sidecar_no_artifact(s3_store: str) -> None:
    loc, fs, root = _s3(s3_store)
    uri, _ = loc.save_artifact(b"payload", "artifacts/r/t/b")
    fs.rm_file(f"{root}/artifacts/r/t/b/{SIDECAR}")
    with pytest.raises(NotAnArtifactError, match=f"no {SIDECAR}"):
        loc.load_artifact(uri)
    with pytest.raises(StoreLocationError):
        loc.load_artifact("s3://elsewhere/x")


class _Unpicklable:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("cannot pickle this")


def test_a_value_that_fails_half_way_leaves_no_artifact(s3_store: str) -> None:
    loc, fs, root = _s3(s3_store)
    with pytest.raises(materializers.MaterializerError, match="cannot be pickled"):
        loc.save_artifact([_Unpicklable()], "artifacts/r/t/bad")
    assert not fs.exists(f"{root}/artifacts/r/t/bad/{SIDECAR}")
    with pytest.raises(NotAnArtifactError):
        loc.load_artifact(loc.full("artifacts/r/t/bad"))


def test_a_rewrite_never_pairs_the_old_sidecar_with_new_data(s3_store: str) -> None:
    loc = open_location(s3_store)
    loc.save_artifact(b"old", "artifacts/r/t/o")
    uri, _ = loc.save_artifact(b"a new value", "artifacts/r/t/o")
    assert loc.load_artifact(uri) == b"a new value"


def test_a_local_store_keeps_its_folder_layout(tmp_path: Path) -> None:
    loc = open_location(tmp_path / "store")
    uri, info = loc.save_artifact(b"x", "artifacts/r/t/o")
    assert Path(uri) == tmp_path / "store" / "artifacts" / "r" / "t" / "o"
    assert load_artifact(Path(uri)) == b"x" and info.path == Path(uri)
    with pytest.raises(StoreLocationError):
        loc.load_artifact(str(tmp_path / "elsewhere"))
