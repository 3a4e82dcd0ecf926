"""Every materializer, round-tripped through real `python -m portaflow.task` processes."""

from __future__ import annotations

import json
from pathlib import Path

from pf_taskrun import Project

PRODUCER = """
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

import portaflow
from portaflow import step


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


@portaflow.materializer(Point)
class PointMaterializer:
    name = "tests.point"

    def save(self, obj: Point, dir: Path) -> None:
        (dir / "point.txt").write_text(f"{obj.x},{obj.y}")

    def load(self, dir: Path) -> Point:
        x, y = (dir / "point.txt").read_text().split(",")
        return Point(int(x), int(y))


@step
def produce(workdir: str) -> tuple[
    Annotated[pd.DataFrame, "frame"],
    Annotated[pd.Series, "series"],
    Annotated[np.ndarray, "array"],
    Annotated[LinearRegression, "model"],
    Annotated[bytes, "blob"],
    Annotated[Path, "file"],
    Annotated[Path, "folder"],
    Annotated[Point, "point"],
    Annotated[dict, "config"],
]:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    model = LinearRegression().fit(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0]))
    work = Path(workdir)
    (work / "report.txt").write_text("hello")
    (work / "tree" / "sub").mkdir(parents=True)
    (work / "tree" / "top.txt").write_text("top")
    (work / "tree" / "sub" / "deep.txt").write_text("deep")
    return (
        frame,
        pd.Series([1.5, 2.5], name=None),
        np.arange(6, dtype="int32").reshape(2, 3),
        model,
        b"\\x00\\x01binary",
        work / "report.txt",
        work / "tree",
        Point(3, 4),
        {"k": [1, 2.5, None, True, "s"]},
    )
"""

CONSUMER = """
from pathlib import Path

import numpy as np
import pandas as pd

from portaflow import step


@step
def consume(frame: pd.DataFrame, series: pd.Series, array: np.ndarray, model, blob: bytes,
            file: Path, folder: Path, point, config: dict) -> dict:
    assert frame.equals(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})), frame
    assert series.name is None and series.tolist() == [1.5, 2.5]
    assert array.dtype == np.int32 and array.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert abs(float(model.predict(np.array([[3.0]]))[0]) - 7.0) < 1e-9
    assert blob == b"\\x00\\x01binary"
    assert file.name == "report.txt" and file.read_text() == "hello"
    assert (folder / "top.txt").read_text() == "top"
    assert (folder / "sub" / "deep.txt").read_text() == "deep"
    assert type(point).__name__ == "Point" and (point.x, point.y) == (3, 4)
    assert config == {"k": [1, 2.5, None, True, "s"]}
    return {"ok": True}
"""

EXPECTED = {
    "frame": ("pandas.DataFrame", "pandas.parquet", ["data.parquet"]),
    "series": ("pandas.Series", "pandas.series.parquet", ["data.parquet"]),
    "array": ("numpy.ndarray", "numpy.npy", ["data.npy"]),
    "model": ("sklearn.linear_model._base.LinearRegression", "joblib", ["data.joblib"]),
    "blob": ("bytes", "bytes", ["data.bin"]),
    "file": ("pathlib.Path", "path", ["file/report.txt"]),
    "folder": ("pathlib.Path", "path", ["folder/sub/deep.txt", "folder/top.txt"]),
    "point": ("producer.Point", "tests.point", ["point.txt"]),
    "config": ("dict", "json", ["data.json"]),
}


def test_every_materializer_round_trips(project: Project, tmp_path: Path) -> None:
    project.module("producer", PRODUCER)
    project.module(
        "consumer", CONSUMER
    )  # does not import producer: the sidecar says where Point lives
    work = tmp_path / "work"
    work.mkdir()
    out = tmp_path / "out"
    outputs = [f"--output={name}={out / name}" for name in EXPECTED]
    project.ok("--step", "producer:produce", "--param", f"workdir={work}", *outputs)

    for name, (type_name, materializer, files) in EXPECTED.items():
        sidecar = json.loads((out / name / "portaflow-artifact.json").read_text())
        assert sidecar["type"] == type_name
        assert sidecar["materializer"] == materializer
        assert sidecar["files"] == files
        assert sidecar["size"] == sum((out / name / f).stat().st_size for f in files)
        assert len(sidecar["sha256"]) == 64
        assert sidecar["versions"]["python"].count(".") == 2
    versions = json.loads((out / "model" / "portaflow-artifact.json").read_text())["versions"]
    assert {"joblib", "sklearn"} <= set(versions)

    inputs = [f"--input={name}={out / name}" for name in EXPECTED]
    project.ok("--step", "consumer:consume", *inputs, "--output-param", f"output={out / 'ok.json'}")
    assert json.loads((out / "ok.json").read_text()) == {"ok": True}


PARAMS = """
from typing import Any, Optional
from portaflow import step

@step
def echo(i: int, f: float, s: str, b: bool, n: Optional[int], l: list, d: dict,
         anything: Any, nested: dict[str, list[int]]) -> dict:
    assert isinstance(f, float), type(f)
    return {"i": i, "f": f, "s": s, "b": b, "n": n, "l": l, "d": d, "anything": anything,
            "nested": nested, "types": [type(v).__name__ for v in (i, f, s, b, n, l, d)]}
"""


def test_json_params_of_every_type(project: Project, tmp_path: Path) -> None:
    project.module("params", PARAMS)
    out = tmp_path / "echo.json"
    project.ok(
        "--step=params:echo",
        "--param=i=-7",
        "--param=f=2",  # an int for a float input arrives as a float
        '--param=s="héllo \\"quoted\\""',
        "--param=b=true",
        "--param=n=null",
        '--param=l=[1, "two", 3.5, false, null]',
        '--param=d={"z": 1, "a": {"b": []}}',
        "--param=anything=not json at all",
        '--param=nested={"x": [1, 2]}',
        f"--output-param=output={out}",
    )
    assert json.loads(out.read_text()) == {
        "i": -7,
        "f": 2.0,
        "s": 'héllo "quoted"',
        "b": True,
        "n": None,
        "l": [1, "two", 3.5, False, None],
        "d": {"z": 1, "a": {"b": []}},
        "anything": "not json at all",
        "nested": {"x": [1, 2]},
        "types": ["int", "float", "str", "bool", "NoneType", "list", "dict"],
    }


STRINGS = """
from typing import Optional
from portaflow import step

@step
def text(s0: str, s1: str, s2: str, s3: str, s4: str, s5: str, s6: str,
         maybe: Optional[str] = "default", other: Optional[str] = "default") -> list:
    return [s0, s1, s2, s3, s4, s5, s6, maybe, other]
"""

RAW_TEXT = [
    ("hello world", "hello world"),  # raw text, as Argo passes it
    ('"quoted"', "quoted"),  # a JSON string is decoded
    ("123", "123"),  # JSON, but not a string: taken literally
    ("true", "true"),
    ("[1, 2]", "[1, 2]"),
    ("", ""),
    ('{"a": 1}', '{"a": 1}'),
]


def test_str_params_take_raw_text(project: Project, tmp_path: Path) -> None:
    project.module("strings", STRINGS)
    out = tmp_path / "out.json"
    flags = [f"--param=s{i}={value}" for i, (value, _) in enumerate(RAW_TEXT)]
    project.ok("--step=strings:text", *flags, "--param=maybe=null", f"--output-param=output={out}")
    assert json.loads(out.read_text()) == [expected for _, expected in RAW_TEXT] + [None, "default"]
