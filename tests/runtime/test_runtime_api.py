"""The public helpers around the task runtime: hashing, cache keys, argv, registry, selection."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import portaflow
from pf_taskrun import Project
from portaflow import _annotations as ann
from portaflow import materializers as mz
from portaflow import registry
from portaflow.protocol import step_identity
from portaflow.task import _decode_param, cache_key, hash_inputs, task_command


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTERED", [])


def test_hash_inputs(tmp_path: Path) -> None:
    a = mz.save_artifact([1, 2], tmp_path / "a")
    b = mz.save_artifact(b"b", tmp_path / "b")
    hashes = hash_inputs(
        inputs={"a": tmp_path / "a"},
        input_lists={"ab": [tmp_path / "a", str(tmp_path / "b")]},
        params={"p": {"y": 1, "x": [1.5, "s"]}},
    )
    assert hashes["a"] == a.sha256
    import hashlib

    assert hashes["ab"] == hashlib.sha256(f"{a.sha256}\n{b.sha256}\n".encode()).hexdigest()
    same = hash_inputs(params={"p": {"x": [1.5, "s"], "y": 1}})  # key order does not matter
    assert same["p"] == hashes["p"]
    with pytest.raises(mz.NotAnArtifactError):
        hash_inputs(inputs={"x": tmp_path / "missing"})


def test_step_identity_covers_code_image_env_and_secret_names() -> None:
    base = step_identity(code_hash="c1", image="i", env={"A": "1", "B": "2"}, secrets=["s", "t"])
    # the order env and secrets are given in does not matter; a mapping equals its pairs
    assert base == step_identity(
        code_hash="c1", image="i", env=[("B", "2"), ("A", "1")], secrets=["t", "s"]
    )
    for changed in (
        {"code_hash": "c2"},
        {"image": "j"},
        {"env": {"A": "1", "B": "3"}},
        {"env": {"A": "1"}},
        {"secrets": ["s"]},
    ):
        kw = {"code_hash": "c1", "image": "i", "env": {"A": "1", "B": "2"}, "secrets": ["s", "t"]}
        assert step_identity(**{**kw, **changed}) != base, changed  # type: ignore[arg-type]


def test_cache_key_changes_with_each_part(tmp_path: Path) -> None:
    mz.save_artifact("one", tmp_path / "a")
    base = {
        "code_hash": "c1",
        "image": "img:1",
        "inputs": {"d": tmp_path / "a"},
        "params": {"n": 1},
    }
    key = cache_key(**base)  # type: ignore[arg-type]
    assert key == cache_key(**base)  # type: ignore[arg-type]
    assert key != cache_key(**{**base, "code_hash": "c2"})  # type: ignore[arg-type]
    assert key != cache_key(**{**base, "image": "img:2"})  # type: ignore[arg-type]
    assert key != cache_key(**{**base, "params": {"n": 2}})  # type: ignore[arg-type]
    assert key != cache_key(**{**base, "env": {"MODE": "a"}})  # type: ignore[arg-type]
    assert key != cache_key(**{**base, "secrets": ["creds"]})  # type: ignore[arg-type]
    mz.save_artifact("two", tmp_path / "a")
    assert key != cache_key(**base)  # type: ignore[arg-type]


STEPS = """
from portaflow import step

@step
def show(text: str, config: dict, n: int, data) -> list:
    return [text, config, n, data]
"""


def test_task_command_runs(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    mz.save_artifact({"k": "v"}, tmp_path / "data")
    argv = task_command(
        "steps:show",
        root=project.root,
        inputs={"data": tmp_path / "data"},
        params={"text": "two words", "config": {"a": [1, None]}, "n": 3},
        output_params={"output": tmp_path / "out.json"},
        metadata=tmp_path / "meta.json",
        task_id="t1",
        run_id="r1",
        code_hash="h",
    )
    assert argv[1:3] == ["-m", "portaflow.task"]
    import subprocess

    done = subprocess.run(argv, env=project.env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == [
        "two words",
        {"a": [1, None]},
        3,
        {"k": "v"},
    ]
    assert json.loads((tmp_path / "meta.json").read_text())["task_id"] == "t1"


class Base:
    pass


class Child(Base):
    pass


@pytest.mark.usefixtures("clean_registry")
def test_registry_function_pair_and_most_specific_class_wins(tmp_path: Path) -> None:
    def save_base(obj: Base, dir: Path) -> None:
        (dir / "kind").write_text("base")

    def save_child(obj: Child, dir: Path) -> None:
        (dir / "kind").write_text("child")

    def load(dir: Path) -> str:
        return (dir / "kind").read_text()

    portaflow.materializer(Child, save=save_child, load=load, name="tests.child")
    portaflow.materializer(Base, save=save_base, load=load, name="tests.base")
    assert mz.select_materializer(Child()).name == "tests.child"
    assert mz.select_materializer(Base()).name == "tests.base"
    info = mz.save_artifact(Child(), tmp_path / "c")
    assert info.materializer == "tests.child" and info.type.endswith("Child")
    assert info.materializer_module == __name__
    assert mz.load_artifact(tmp_path / "c") == "child"


@pytest.mark.usefixtures("clean_registry")
def test_registry_class_form_default_name() -> None:
    @portaflow.materializer(Base)
    class BaseMaterializer:
        def save(self, obj: Base, dir: Path) -> None: ...

        def load(self, dir: Path) -> Base:
            return Base()

    assert isinstance(BaseMaterializer, type)
    chosen = mz.select_materializer(Base())
    assert chosen.name.endswith("test_registry_class_form_default_name.<locals>.BaseMaterializer")
    assert isinstance(chosen, mz.Materializer)


@pytest.mark.usefixtures("clean_registry")
def test_registry_rejects_misuse() -> None:
    with pytest.raises(ValueError, match="taken by a built-in"):
        portaflow.materializer(Base, save=lambda o, d: None, load=lambda d: None, name="json")
    with pytest.raises(TypeError, match="both save= and load="):
        portaflow.materializer(Base, save=lambda o, d: None)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="needs a class"):
        portaflow.materializer(Base())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs save"):

        @portaflow.materializer(Base)
        class NoLoad:
            def save(self, obj: Base, dir: Path) -> None: ...


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (b"x", "bytes"),
        (bytearray(b"x"), "bytes"),
        (Path("."), "path"),
        (pd.DataFrame({"a": [1]}), "pandas.parquet"),
        (pd.Series([1]), "pandas.series.parquet"),
        (np.zeros(3), "numpy.npy"),
        (np.array([object()]), "joblib"),  # object arrays need pickle
        (np.int64(3), "joblib"),  # keeps its numpy type
        ((1, "a"), "joblib"),  # a tuple stays a tuple
        ([1, (2,)], "joblib"),
        ([1, {"a": None}], "json"),
        (True, "json"),
        ({"a": [None]}, "json"),
        ({1: "int key"}, "joblib"),
        (3.5, "json"),
        (Base(), "joblib"),
    ],
)
def test_builtin_selection(value: Any, name: str) -> None:
    assert mz.select_materializer(value).name == name


def test_round_trip_of_awkward_values(tmp_path: Path) -> None:
    frame = pd.DataFrame(np.arange(6).reshape(3, 2))  # non-string column names
    assert mz.load_artifact(mz.save_artifact(frame, tmp_path / "f").path).equals(frame)
    series = pd.Series([1, 2], name="s")
    assert mz.load_artifact(mz.save_artifact(series, tmp_path / "s").path).equals(series)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert list(mz.load_artifact(mz.save_artifact(empty, tmp_path / "e").path).iterdir()) == []
    with pytest.raises(mz.MaterializerError, match="neither a file nor a folder"):
        mz.save_artifact(tmp_path / "absent", tmp_path / "x")


def test_missing_library_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    with pytest.raises(mz.MaterializerError, match=r"pip install pyarrow"):
        mz.save_artifact(pd.DataFrame({"a": [1]}), tmp_path / "f")
    assert not (tmp_path / "f").exists()


def test_unknown_materializer_in_sidecar(tmp_path: Path) -> None:
    mz.save_artifact(1, tmp_path / "a")
    sidecar = tmp_path / "a" / mz.SIDECAR
    sidecar.write_text(sidecar.read_text().replace('"json"', '"acme.gone"'))
    with pytest.raises(mz.MaterializerError, match=r"acme\.gone.*not registered"):
        mz.load_artifact(tmp_path / "a")


def test_canonical_json() -> None:
    assert mz.canonical_json({"b": 1, "a": (np.int64(2), "é")}) == '{"a":[2,"é"],"b":1}'
    with pytest.raises(TypeError):
        mz.canonical_json({"a": object()})


def test_output_specs() -> None:
    def specs(ret: Any) -> Any:
        return ann.output_specs({"return": ret})

    assert specs(int) == [("output", int)]
    assert specs(None) == []
    assert specs(Annotated[int, "n"]) == [("n", int)]
    assert specs(tuple[Annotated[int, "a"], str]) == [("a", int), ("output_1", str)]
    assert specs(tuple[int, ...]) == [("output", tuple[int, ...])]
    assert specs(Annotated[tuple[int, int], "pair"]) == [("pair", tuple[int, int])]
    assert ann.output_specs({}) is None


def test_accepts_str_and_check_type() -> None:
    assert ann.accepts_str(str) and ann.accepts_str(Optional[str])  # noqa: UP045 and ann.accepts_str(Any)
    assert ann.accepts_str("str | None") and not ann.accepts_str(int)
    assert _decode_param("p", "/data/in", Path) == Path("/data/in")
    assert ann.check_type(float, 1) and ann.check_type(int, np.int32(1))
    assert ann.check_type(int, "1") is False and ann.check_type(Any, "1") is None
    assert ann.check_type(int | None, None) and ann.check_type(list[int], [1])
    assert ann.coerce(int, np.int64(3)) == 3 and type(ann.coerce(int, np.int64(3))) is int


def test_pickle_fallback_without_joblib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mz, "_has_joblib", lambda: False)
    info = mz.save_artifact(Base(), tmp_path / "p")
    assert info.materializer == "pickle" and info.files == ("data.pkl",)
    assert isinstance(mz.load_artifact(tmp_path / "p"), Base)


def test_version_drift_warns_on_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mz.save_artifact(Base(), tmp_path / "j")
    sidecar = tmp_path / "j" / mz.SIDECAR
    record = json.loads(sidecar.read_text())
    record["versions"]["python"] = "2.7.18"
    sidecar.write_text(json.dumps(record))
    assert isinstance(mz.load_artifact(tmp_path / "j"), Base)
    assert "pickled with other versions (python 2.7 ->" in capsys.readouterr().err


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_json_encoded_params_decode_losslessly(value: Any) -> None:
    assert _decode_param("x", json.dumps(value), Any) == value
    if isinstance(value, str):
        assert _decode_param("x", json.dumps(value), str) == value


@given(st.text())
def test_raw_text_for_str_inputs(text: str) -> None:
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    expected = decoded if isinstance(decoded, str) else text
    assert _decode_param("x", text, str) == expected
