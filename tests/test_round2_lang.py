"""The round-2 language (issue 13, constructs 6-9): what the compiler builds and each backend writes.

Bounded fan-out (`parallel(xs, limit=N)`), merged branch values (`ir.OneOf`),
pipeline outputs (`return`), module constants in decorator arguments, and a
hook's inputs. Execution is covered by tests/local/test_round2.py and the
cross-target conformance suite (examples/bounded_fanout, examples/branch_merge).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.airflow.emit import emit as airflow_emit
from portaflow.backends.argo import emit as argo_emit
from portaflow.backends.kfp import emit as kfp_emit
from portaflow.compiler import compile_file, ir, ircheck, irjson
from portaflow.compiler.render import describe_binding

HEAD = """
from portaflow import parallel, pipeline, step

@step
def a(x: int) -> int:
    return x

@step
def b(x: int) -> int:
    return -x

@step
def s(x: int) -> str:
    return str(x)
"""


def _compile(tmp_path: Path, body: str, name: str = "pipeline.py") -> ir.Pipeline:
    f = tmp_path / name
    f.write_text(HEAD + textwrap.dedent(body))
    return compile_file(f, root=tmp_path)


def _argo(p: ir.Pipeline) -> dict:  # type: ignore[type-arg]
    text = argo_emit(p, options=EmitOptions()).files[0].text
    return next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == "Workflow")


def _kfp(p: ir.Pipeline) -> dict:  # type: ignore[type-arg]
    return next(yaml.safe_load_all(kfp_emit(p, options=EmitOptions()).files[0].text))


def _airflow(p: ir.Pipeline) -> str:
    return airflow_emit(p, options=EmitOptions()).files[0].text


# ---------------------------------------------------------------- 6 bounded fan-out

BOUNDED = """
LIMIT = 3

@pipeline
def flow(xs: list[int] = [1, 2, 3]):
    ys = [a(x) for x in parallel(xs, limit=LIMIT)]
    for x in parallel([4, 5], limit=1):
        b(x)
    s(1)
    return s(2)
"""


def test_parallel_sets_loop_parallelism_and_each_backend_bounds_it(tmp_path: Path) -> None:
    p = _compile(tmp_path, BOUNDED.replace("    s(1)\n", "    t = s(1)\n    _u = ys\n"))
    assert [lp.parallelism for lp in p.loops] == [3, 1]
    assert not ircheck.problems(p)
    templates = {t["name"]: t for t in _argo(p)["spec"]["templates"]}
    assert templates["flow-loop-1-bounded"]["parallelism"] == 3
    assert templates["flow-loop-2-bounded"]["parallelism"] == 1
    (inner,) = templates["flow-loop-1-bounded"]["dag"]["tasks"]
    assert inner["template"] == "flow-loop-1" and "withParam" in inner
    tasks = _kfp(p)["root"]["dag"]["tasks"]
    limits = {k: v.get("iteratorPolicy") for k, v in tasks.items() if "parameterIterator" in v}
    assert sorted(limits.values(), key=str) == [
        {"parallelismLimit": 1},
        {"parallelismLimit": 3},
    ]
    dag = _airflow(p)
    assert "max_active_tis_per_dagrun=3," in dag and "max_active_tis_per_dagrun=1," in dag


def test_bounded_loop_around_another_loop_is_pf720_on_airflow_only(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        """
        @pipeline
        def flow():
            for x in parallel([1, 2], limit=1):
                for y in [3, 4]:
                    b(a(y))
        """,
    )
    _argo(p)
    _kfp(p)
    with pytest.raises(BackendError) as err:
        _airflow(p)
    (msg,) = err.value.messages
    assert msg.code == "PF720" and msg.span is not None and "pool" in msg.hint


def test_parallel_is_a_plain_function_outside_a_pipeline() -> None:
    from portaflow import parallel

    assert list(parallel([1, 2], limit=1)) == [1, 2]
    with pytest.raises(ValueError):
        parallel([1], limit=0)


# ---------------------------------------------------------------- 7 merged branch values

MERGE = """
@pipeline
def flow(n: int = 1):
    x = a(n)
    if x > 2:
        y = a(x)
    elif x > 1:
        if x == 2:
            y = b(x)
        else:
            y = a(x)
    else:
        y = b(x)
    s(y)
"""


def test_a_name_assigned_in_every_arm_merges_into_one_of(tmp_path: Path) -> None:
    p = _compile(tmp_path, MERGE)
    (inp,) = p.task("s").inputs
    assert inp.binding == ir.OneOf(
        options=tuple(
            ir.TaskOutput(task=t, output="output") for t in ("a_2", "b", "a_3", "b_2")
        )  # the nested if/else is flattened into the outer arm
    )
    assert describe_binding(inp.binding) == "a_2.output | b.output | a_3.output | b_2.output"
    sources = {e.source for e in p.edges if e.target == "s"}
    assert sources == {"a_2", "b", "a_3", "b_2"}
    assert irjson.loads(irjson.dumps(p)) == p
    assert not ircheck.problems(p)


def test_merged_value_on_argo_kfp_and_airflow(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        """
        @pipeline
        def flow(n: int = 1):
            x = a(n)
            if x > 2:
                y = a(x)
            else:
                y = b(x)
            s(y)
        """,
    )
    tasks = {t["name"]: t for t in _argo(p)["spec"]["templates"][0]["dag"]["tasks"]}
    arg = tasks["s"]["arguments"]["parameters"][1]["value"]
    assert arg == (
        "{{=(tasks['a-2'].status == 'Succeeded' ? tasks['a-2'].outputs.parameters.output"
        " : tasks.b.outputs.parameters.output)}}"
    )
    assert tasks["s"]["depends"] == (
        "(a-2.Succeeded || a-2.Skipped || a-2.Omitted) && (b.Succeeded || b.Skipped || "
        "b.Omitted) && (a-2.Succeeded || b.Succeeded)"
    )
    spec = _kfp(p)
    branches = spec["components"]["comp-condition-branches-1"]
    (out,) = branches["dag"]["outputs"]["parameters"].values()
    assert [sel["producerSubtask"] for sel in out["valueFromOneof"]["parameterSelectors"]] == [
        "condition-2",
        "condition-3",
    ]
    reader = spec["root"]["dag"]["tasks"]["s"]
    assert reader["inputs"]["parameters"]["x"]["taskOutputParameter"]["producerTask"] == (
        "condition-branches-1"
    )
    assert "{'oneof': [{'task': 'a_2', 'output': 'output'}, {'task': 'b'" in _airflow(p)


MERGE_FROM_SUB = """
@pipeline
def inner(v: int):
    return a(v)

@pipeline
def flow(n: int = 1):
    x = a(n)
    if x > 2:
        y = inner(x)
    else:
        y = b(x)
    s(y)
"""


def test_merged_value_made_in_a_sub_pipeline_is_pf520_on_argo(tmp_path: Path) -> None:
    p = _compile(tmp_path, MERGE_FROM_SUB)
    with pytest.raises(BackendError) as err:
        argo_emit(p, options=EmitOptions())
    assert [m.code for m in err.value.messages] == ["PF520"]
    assert err.value.messages[0].span is not None


def test_merged_value_made_in_a_sub_pipeline_merges_on_kfp(tmp_path: Path) -> None:
    """A sub-pipeline called in an arm is a DAG task inside that arm's condition DAG (as kfp
    nests a pipeline task in a dsl.If), so its output is one option of the dsl.OneOf."""
    from kfp_backend import checks

    p = _compile(tmp_path, MERGE_FROM_SUB)
    result = kfp_emit(p, options=EmitOptions())
    (spec,) = checks.check_result(result)
    selectors = [
        sel
        for comp in spec["components"].values()
        for out in comp.get("dag", {}).get("outputs", {}).get("parameters", {}).values()
        for sel in out.get("valueFromOneof", {}).get("parameterSelectors", [])
    ]
    assert {s["outputParameterKey"] for s in selectors} == {
        "pipelinechannel--inner-a-Output",
        "pipelinechannel--b-Output",
    }


@pytest.mark.slow
@pytest.mark.parametrize("n", [5, 1])
def test_merged_value_made_in_a_sub_pipeline_runs_alike_on_kfp_local(
    n: int, tmp_path: Path
) -> None:
    sys.path.insert(0, str(Path(__file__).parent / "conformance"))
    from targets import TARGETS, by_task

    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.py").write_text(HEAD + textwrap.dedent(MERGE_FROM_SUB))
    (project / "pyproject.toml").write_text('[project]\nname = "m"\nversion = "0"\n')
    reference = TARGETS["local"](project, {"n": n}, tmp_path / "local")
    other = TARGETS["kfp-local"](project, {"n": n}, tmp_path / "kfp")
    assert reference.status == other.status == "succeeded"
    assert by_task(other) == by_task(reference)


def test_incomplete_if_or_mixed_types_do_not_merge(tmp_path: Path) -> None:
    from portaflow.compiler.frontend import analyze

    f = tmp_path / "pipeline.py"
    f.write_text(
        HEAD
        + textwrap.dedent(
            """
            @pipeline
            def flow(n: int = 1):
                x = a(n)
                if x > 2:
                    y = a(x)
                elif x > 1:
                    y = b(x)
                s(y)
            """
        )
    )
    assert [d.code for d in analyze(f, root=tmp_path).errors] == ["PF234"]


# ---------------------------------------------------------------- 8 pipeline outputs


def test_return_declares_pipeline_outputs_on_every_backend(tmp_path: Path) -> None:
    p = _compile(
        tmp_path,
        """
        @pipeline
        def flow(n: int = 1):
            x = a(n)
            return x, s(x)
        """,
    )
    assert [(o.name, o.binding, o.type.type) for o in p.outputs] == [
        ("x", ir.TaskOutput(task="a", output="output"), "int"),
        ("output_1", ir.TaskOutput(task="s", output="output"), "str"),
    ]
    root = _argo(p)["spec"]["templates"][0]
    assert root["outputs"]["parameters"] == [
        {"name": "x", "valueFrom": {"parameter": "{{tasks.a.outputs.parameters.output}}"}},
        {"name": "output_1", "valueFrom": {"parameter": "{{tasks.s.outputs.parameters.output}}"}},
    ]
    kroot = _kfp(p)["root"]
    assert kroot["outputDefinitions"]["parameters"] == {
        "output_1": {"parameterType": "STRING"},
        "x": {"parameterType": "NUMBER_INTEGER"},
    }
    assert kroot["dag"]["outputs"]["parameters"]["x"] == {
        "valueFromParameter": {"outputParameterKey": "Output", "producerSubtask": "a"}
    }
    assert "`x` = `a`.`output`" in _airflow(p)


def test_kfp_pipeline_outputs_load_in_the_kfp_sdk(tmp_path: Path) -> None:
    from kfp.components import load_component_from_text

    p = _compile(tmp_path, MERGE.replace("    s(y)\n", "    return s(y), y\n"))
    spec = kfp_emit(p, options=EmitOptions()).files[0].text
    component = load_component_from_text(spec)
    assert set(component.component_spec.outputs or {}) == {"output_0", "y"}


# ---------------------------------------------------------------- hooks (the two bugs)


def test_hook_inputs_named_like_a_body_variable_or_a_parameter(tmp_path: Path) -> None:
    # A body variable of the hook input's name once crashed compile --target argo and run
    # (KeyError); a parameter of that name silently replaced the hook's own default.
    p = _compile(
        tmp_path,
        """
        @step
        def bye(x: int, msg: str = "bye", n: int = 0) -> None:
            pass

        @step
        def shout(m: str) -> None:
            pass

        @pipeline(on_exit=bye)
        def flow(n: int = 5, x: int = 1):
            msg = s(x)
            a(n)
            shout(msg)
        """,
    )
    (hook,) = p.hooks
    # Only the input without a default is bound, to the parameter of its name.
    assert [(i.name, i.binding) for i in hook.inputs] == [("x", ir.ParamRef(param="x"))]
    _argo(p)
    _kfp(p)
    _airflow(p)
