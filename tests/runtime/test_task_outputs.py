"""How a step's return value becomes its outputs: names, tuples, fan-in lists."""

from __future__ import annotations

import json
from pathlib import Path

from pf_taskrun import Project
from portaflow.materializers import save_artifact

STEPS = """
from typing import Annotated
from portaflow import step

@step
def plain() -> int:
    return 41

@step
def named() -> Annotated[dict, "config"]:
    return {"lr": 0.1}

@step
def pair() -> tuple[Annotated[int, "count"], Annotated[list, "items"]]:
    return 2, ["a", "b"]

@step
def unnamed() -> tuple[int, str]:
    return 1, "one"

def unannotated():
    return 7, "seven"

@step
def nothing() -> None:
    pass

@step
def total(numbers: list) -> int:
    return sum(numbers)

@step
def as_bytes(n: int) -> bytes:
    return bytes([n])
"""


def _read(path: Path) -> object:
    return json.loads(path.read_text())


def test_plain_annotation_is_one_output_named_output(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok("--step=steps:plain", f"--output-param=output={tmp_path / 'o.json'}")
    assert _read(tmp_path / "o.json") == 41


def test_annotated_name_and_json_artifact(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok("--step=steps:named", f"--output=config={tmp_path / 'cfg'}")
    assert _read(tmp_path / "cfg" / "data.json") == {"lr": 0.1}
    assert _read(tmp_path / "cfg" / "portaflow-artifact.json")["materializer"] == "json"


def test_tuple_outputs_by_name_in_any_flag_order(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok(
        "--step=steps:pair",
        f"--output-param=items={tmp_path / 'items.json'}",
        f"--output-param=count={tmp_path / 'count.json'}",
    )
    assert _read(tmp_path / "count.json") == 2
    assert _read(tmp_path / "items.json") == ["a", "b"]


def test_a_subset_of_outputs_may_be_requested(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok("--step=steps:pair", f"--output-param=items={tmp_path / 'items.json'}")
    assert _read(tmp_path / "items.json") == ["a", "b"]


def test_unnamed_tuple_elements_are_output_index(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok(
        "--step=steps:unnamed",
        f"--output-param=output_1={tmp_path / 'b.json'}",
        f"--output-param=output_0={tmp_path / 'a.json'}",
    )
    assert (_read(tmp_path / "a.json"), _read(tmp_path / "b.json")) == (1, "one")


def test_other_names_map_by_position_when_all_outputs_are_requested(
    project: Project, tmp_path: Path
) -> None:
    project.module("steps", STEPS)
    project.ok(
        "--step=steps:unnamed",
        f"--output-param=first={tmp_path / 'a.json'}",
        f"--output-param=second={tmp_path / 'b.json'}",
    )
    assert (_read(tmp_path / "a.json"), _read(tmp_path / "b.json")) == (1, "one")


def test_unannotated_function_maps_outputs_in_flag_order(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok(
        "--step=steps:unannotated",
        f"--output-param=x={tmp_path / 'x.json'}",
        f"--output=y={tmp_path / 'y'}",
    )
    assert _read(tmp_path / "x.json") == 7
    assert _read(tmp_path / "y" / "data.json") == "seven"


def test_none_step_runs_without_outputs(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok("--step=steps:nothing", f"--metadata={tmp_path / 'meta.json'}")
    assert _read(tmp_path / "meta.json")["state"] == "succeeded"  # type: ignore[index]


def test_input_list_loads_every_artifact_in_order(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    for n in (1, 20, 102):
        save_artifact(n, tmp_path / f"n{n}")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(["n1", str(tmp_path / "n20"), "n102"])
    )  # relative to the manifest
    project.ok(
        "--step=steps:total",
        f"--input-list=numbers={manifest}",
        f"--output-param=output={tmp_path / 'sum.json'}",
        f"--metadata={tmp_path / 'meta.json'}",
    )
    assert _read(tmp_path / "sum.json") == 123
    meta = _read(tmp_path / "meta.json")
    assert isinstance(meta, dict)
    record = meta["inputs"]["numbers"]
    assert record["kind"] == "artifact-list" and len(record["items"]) == 3


def test_bytes_output_of_a_param_input(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    project.ok("--step=steps:as_bytes", "--param=n=7", f"--output=output={tmp_path / 'b'}")
    assert (tmp_path / "b" / "data.bin").read_bytes() == b"\x07"


def test_output_replaces_an_existing_artifact(project: Project, tmp_path: Path) -> None:
    project.module("steps", STEPS)
    target = tmp_path / "out"
    project.ok("--step=steps:named", f"--output=config={target}")
    (target / "stray.txt").write_text("left from before")
    project.ok("--step=steps:plain", f"--output=output={target}")
    assert sorted(p.name for p in target.iterdir()) == ["data.json", "portaflow-artifact.json"]
    assert _read(target / "data.json") == 41
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


FLAT = """
from portaflow import step

@step
def best(scores: list[float]) -> float:
    return max(scores)

@step
def echo(text: str) -> str:
    return text
"""


def test_flatten_a_nested_fan_in(project: Project, tmp_path: Path) -> None:
    # Argo gathers one loop at a time: a fan-in over two loops arrives as a list of lists.
    project.module("flat", FLAT)
    out = tmp_path / "best.json"
    project.ok(
        "--step",
        "flat:best",
        "--param",
        "scores=[[1.0, 2.5], [0.5]]",
        "--flatten",
        "scores=1",
        "--output-param",
        f"output={out}",
    )
    assert json.loads(out.read_text()) == 2.5
    bad = project.run("--step", "flat:best", "--param", "scores=[1.0]", "--flatten", "scores=1")
    assert bad.code == 2 and "not a list of lists" in bad.stderr
    stray = project.run("--step", "flat:best", "--param", "scores=[1.0]", "--flatten", "other=1")
    assert stray.code == 2 and "no --param of that name" in stray.stderr


def test_dollar_in_parameter_outputs_cannot_become_a_kubernetes_expansion(
    project: Project, tmp_path: Path
) -> None:
    project.module("flat", FLAT)
    out = tmp_path / "echo.json"
    project.ok(
        "--step",
        "flat:echo",
        "--param",
        'text="$(HOME) and ${X}"',
        "--output-param",
        f"output={out}",
    )
    raw = out.read_text()
    assert "$" not in raw
    assert json.loads(raw) == "$(HOME) and ${X}"
