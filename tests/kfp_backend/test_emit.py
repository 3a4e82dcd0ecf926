"""The KFP backend's mapping of each construct, its diagnostics (PF6xx), and the CLI and stack options."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from portaflow.backends import BackendError, EmitOptions, EmitResult
from portaflow.backends.kfp import emit
from portaflow.compiler import compile_file
from portaflow.compiler.cli import main

from .checks import check_result, parse

HEADER = """
from typing import Annotated

from portaflow import Resources, Retry, pipeline, step


class Blob:
    pass
"""


def compile_source(tmp_path: Path, body: str, **extra: Any) -> EmitResult:
    f = tmp_path / "pipeline.py"
    f.write_text(textwrap.dedent(HEADER) + textwrap.dedent(body))
    return emit(compile_file(f, root=tmp_path), options=EmitOptions(extra=extra))


def codes_of(tmp_path: Path, body: str, **extra: Any) -> list[str]:
    with pytest.raises(BackendError) as info:
        compile_source(tmp_path, body, **extra)
    return [m.code for m in info.value.messages]


def spec_of(result: EmitResult) -> dict[str, Any]:
    return check_result(result)[0]


HOSTILE = [
    "a: #c",
    "{{$.inputs.parameters['x']}}",
    "$(rm -rf /)",
    "quote ' and \" both",
    "line\nbreak\r\n",
    "é\u2028\u0085\ufeff",
    "import os; os.system('x')",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_stay_data(tmp_path: Path, text: str) -> None:
    body = f"""
    @step(env={{"V": {text!r}}})
    def echo(s: str, t: str = "") -> str:
        return s

    @pipeline
    def hostile(p: str = {text!r}):
        echo(p, t={text!r})
    """
    result = compile_source(tmp_path, body)
    spec = spec_of(result)
    assert spec["root"]["inputDefinitions"]["parameters"]["p"]["defaultValue"] == text
    task = spec["root"]["dag"]["tasks"]["echo"]
    assert task["inputs"]["parameters"]["t"]["runtimeValue"]["constant"] == text
    container = spec["deploymentSpec"]["executors"]["exec-echo"]["container"]
    assert container["env"] == [{"name": "V", "value": text}]
    # The generated module is Python that parses, whatever the strings were.
    compile(container["command"][3], "ephemeral_component.py", "exec")


def test_step_settings_map_to_kfp_fields(tmp_path: Path) -> None:
    body = """
    @step(
        retries=Retry(max=2, backoff="exponential", delay="5s", factor=3.0),
        resources=Resources(cpu=2, memory="4Gi", gpu=1, node_selector={"pool": "gpu"},
                            tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]),
        timeout="30m",
        cache=False,
        image="ghcr.io/acme/train:1",
        env={"OMP_NUM_THREADS": "2"},
    )
    def train(n: int = 1) -> int:
        return n

    @pipeline
    def settings(n: int = 3):
        train(n)
    """
    result = compile_source(tmp_path, body)
    spec, platform = parse(result.files[0].text)
    check_result(result)
    task = spec["root"]["dag"]["tasks"]["train"]
    assert task["retryPolicy"] == {
        "backoffDuration": "5s",
        "backoffFactor": 3.0,
        "backoffMaxDuration": "3600s",
        "maxRetryCount": 2,
    }
    assert task["cachingOptions"] == {}
    c = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert c["image"] == "ghcr.io/acme/train:1"
    assert c["resources"] == {
        "accelerator": {"resourceCount": "1", "resourceType": "nvidia.com/gpu"},
        "resourceCpuLimit": "2",
        "resourceCpuRequest": "2",
        "resourceMemoryLimit": "4Gi",
        "resourceMemoryRequest": "4Gi",
    }
    assert platform is not None
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
    assert k8s["activeDeadlineSeconds"] == "1800"
    assert k8s["nodeSelector"] == {"labels": {"pool": "gpu"}}
    assert k8s["tolerations"] == [{"effect": "NoSchedule", "key": "gpu", "operator": "Exists"}]
    root_n = spec["root"]["inputDefinitions"]["parameters"]["n"]
    assert root_n == {"defaultValue": 3, "isOptional": True, "parameterType": "NUMBER_INTEGER"}


def test_artifacts_and_fan_in_of_artifacts(tmp_path: Path) -> None:
    body = """
    @step
    def make(i: int) -> Blob:
        return Blob()

    @step
    def use(blobs: list[Blob]) -> int:
        return len(blobs)

    @pipeline
    def arts():
        blobs = [make(i) for i in [1, 2]]
        use(blobs)
    """
    result = compile_source(tmp_path, body)
    spec = spec_of(result)
    comp = spec["components"]["comp-make"]
    assert comp["outputDefinitions"]["artifacts"]["Output"]["artifactType"]["schemaTitle"] == (
        "system.Artifact"
    )
    loop = spec["components"]["comp-for-loop-1"]
    sel = loop["dag"]["outputs"]["artifacts"]["pipelinechannel--make-Output"]
    assert sel == {
        "artifactSelectors": [{"outputArtifactKey": "Output", "producerSubtask": "make"}]
    }
    assert loop["outputDefinitions"]["artifacts"]["pipelinechannel--make-Output"]["isArtifactList"]
    assert codes_of(tmp_path, body, kfp_executor="container") == ["PF605"]


def test_unknown_executor_is_pf601(tmp_path: Path) -> None:
    body = """
    @step
    def a() -> int:
        return 1

    @pipeline
    def p():
        a()
    """
    assert codes_of(tmp_path, body, kfp_executor="docker") == ["PF601"]


def test_linear_retry_is_pf602_and_retry_on_is_a_warning(tmp_path: Path) -> None:
    body = """
    @step(retries=Retry(max=2, backoff="linear"))
    def a() -> int:
        return 1

    @pipeline
    def p():
        a()
    """
    assert codes_of(tmp_path, body) == ["PF602"]
    body = body.replace('backoff="linear"', 'backoff="fixed", on="on-error"')
    result = compile_source(tmp_path, body)
    assert [w.code for w in result.warnings] == ["PF603"]
    assert spec_of(result)["root"]["dag"]["tasks"]["a"]["retryPolicy"]["backoffFactor"] == 1.0


def test_hook_reading_a_task_output_is_pf606(tmp_path: Path) -> None:
    body = """
    @step
    def a() -> int:
        return 1

    @step
    def notify(x: int = 0) -> None:
        print(x)

    @pipeline(on_exit=notify)
    def p():
        a()
    """
    result = compile_source(tmp_path, body)
    spec = spec_of(result)
    hook = spec["root"]["dag"]["tasks"]["notify"]
    assert hook["dependentTasks"] == ["exit-handler-1"]
    assert hook["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert "a" in spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]


def test_truthiness_of_an_untyped_value_is_pf607(tmp_path: Path) -> None:
    body = """
    @step
    def a() -> int | str:
        return 1

    @step
    def b() -> int:
        return 1

    @pipeline
    def p():
        if a():
            b()
    """
    assert codes_of(tmp_path, body) == ["PF607"]


def test_input_and_output_with_one_name_is_pf604(tmp_path: Path) -> None:
    body = """
    @step
    def a(model: int) -> Annotated[int, "model"]:
        return model

    @pipeline
    def p():
        a(1)
    """
    assert codes_of(tmp_path, body) == ["PF604"]


def test_secrets_and_disk_are_warnings_with_a_platform_spec(tmp_path: Path) -> None:
    body = """
    @step(secrets=["aws-creds"], resources=Resources(disk="10Gi"))
    def a() -> int:
        return 1

    @pipeline
    def p():
        a()
    """
    result = compile_source(tmp_path, body)
    assert sorted(w.code for w in result.warnings) == ["PF608", "PF609"]
    _spec, platform = parse(result.files[0].text)
    assert platform is not None
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-a"]
    assert k8s["secretAsVolume"][0]["secretName"] == "aws-creds"


def test_conditions_compile_to_cel_kfp_local_can_evaluate(tmp_path: Path) -> None:
    body = """
    @step
    def score() -> float:
        return 0.5

    @step
    def flag() -> bool:
        return True

    @step
    def act(x: float) -> None:
        print(x)

    @pipeline
    def p(limit: float = 0.3, mode: str = "a"):
        s = score()
        if s > limit and not flag():
            act(s)
        elif mode in ["x", "y"] or s == 0.5:
            act(1.0)
    """
    spec = spec_of(compile_source(tmp_path, body))
    conds = {
        name: t["triggerPolicy"]["condition"]
        for c in [spec["root"], *spec["components"].values()]
        for name, t in c.get("dag", {}).get("tasks", {}).items()
        if "triggerPolicy" in t
    }
    s = "inputs.parameter_values['pipelinechannel--score-Output']"
    f = "inputs.parameter_values['pipelinechannel--flag-Output']"
    lim = "inputs.parameter_values['pipelinechannel--limit']"
    mode = "inputs.parameter_values['pipelinechannel--mode']"
    # `and` nests, as dsl.If inside dsl.If; the elif negates the whole `if` test.
    assert conds == {
        "condition-1": f"{s} > {lim}",
        "condition-2": f"!({f} == true)",
        "condition-3": f'(!(({s} > {lim}) && (!({f} == true)))) && (({mode} in ["x", "y"]) || ({s} == 0.5))',
    }


def test_cli_flag_and_stack_option_choose_the_executor(tmp_path: Path) -> None:
    (tmp_path / "pipeline.py").write_text(
        "from portaflow import pipeline, step\n\n\n@step\ndef a() -> int:\n    return 1\n\n\n"
        "@pipeline\ndef p():\n    a()\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.portaflow.stacks.kfp]\ntarget = "kfp"\nkfp_executor = "container"\n'
    )
    runner = CliRunner()
    flag = runner.invoke(
        main, ["compile", str(tmp_path / "pipeline.py"), "-t", "kfp", "--kfp-executor", "container"]
    )
    assert flag.exit_code == 0, flag.output
    stack = runner.invoke(main, ["compile", str(tmp_path / "pipeline.py"), "--stack", "kfp"])
    assert stack.exit_code == 0, stack.output
    assert stack.output == flag.output
    doc = yaml.safe_load(flag.output)
    assert doc["deploymentSpec"]["executors"]["exec-a"]["container"]["command"][-1] == (
        "portaflow.kfp_task"
    )
    default = runner.invoke(main, ["compile", str(tmp_path / "pipeline.py"), "-t", "kfp"])
    assert "kfp.dsl.executor_main" in default.output


def test_inputs_named_like_the_components_own_names_still_work(tmp_path: Path) -> None:
    body = """
    @step
    def a(json: int, run: str, Output: int = 0) -> int:
        return json

    @pipeline
    def p():
        a(1, "x")
    """
    result = compile_source(tmp_path, body)
    spec = spec_of(result)
    source = spec["deploymentSpec"]["executors"]["exec-a"]["container"]["command"][3]
    namespace: dict[str, Any] = {}
    exec(compile(source, "ephemeral_component.py", "exec"), namespace)
    called: list[Any] = []
    import portaflow.kfp_task as kt

    original = kt.run
    try:
        kt.run = lambda spec, values: called.append((spec["task"], dict(values)))  # type: ignore[assignment]
        namespace["a"](Output="/tmp/out", pf_metrics="/tmp/m", json=1, run="x")
    finally:
        kt.run = original  # type: ignore[assignment]
    want = {"Output": "/tmp/out", "pf_metrics": "/tmp/m", "json": 1, "run": "x"}
    assert called == [("a", want)]


def test_a_long_pipeline_name_gives_a_file_name_the_file_system_accepts(tmp_path: Path) -> None:
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    paths = []
    for name in (long_a, long_b):
        body = f"@step\ndef s(n: int) -> int:\n    return n\n\n@pipeline(name={name!r})\ndef p():\n    s(1)\n"
        result = compile_source(tmp_path, body)
        (f,) = result.files
        (tmp_path / f.path).write_text(f.text)  # was OSError: File name too long
        assert len(f.path) <= 105 and f.path.endswith(".yaml")
        paths.append(f.path)
    assert paths[0] != paths[1]


def test_loops_inside_a_branch_with_after_across_them_make_no_cycle(tmp_path: Path) -> None:
    body = """
    @step
    def s2(a0: int) -> int:
        return a0

    @step
    def s4(a0: int) -> str:
        return str(a0)

    @step
    def s6(a0: int) -> int:
        return a0

    @step
    def s7(a0: list[int]) -> int:
        return len(a0)

    @pipeline
    def generated(p_int: int = -5, p_list: list[int] = []):
        if p_int:
            s4(a0=p_int)
        else:
            v4 = [s2(x1) for x1 in p_list]
            v5 = s4(a0=p_int, after=[v4])
            v6 = [s6(a0=x2, after=[v5, v4]) for x2 in []]
            s7(a0=v6)
    """
    check_result(compile_source(tmp_path, body))


def test_merged_value_of_an_if_else_inside_an_if_is_read_after_it(tmp_path: Path) -> None:
    # `if not a:` + a nested if/else is `!(a) && b` / `!(a) && !(b)` in the IR, like an
    # `elif`: the inner if/else's condition-branches DAG must nest in the outer branch,
    # and the reader of the merged value sits beside it (as kfp compiles dsl.OneOf).
    body = """
    @step
    def s1() -> int:
        return 1

    @step
    def s2() -> int:
        return 2

    @step
    def s3() -> int:
        return 3

    @step
    def s4(a0: int) -> int:
        return a0

    @pipeline
    def generated(p_int: int = 0, p_str: str = "a"):
        if not (p_int == p_str):
            v1 = s1()
            if p_int:
                v2 = s2(after=[v1])
            else:
                v2 = s3(after=[v1])
            v3 = s4(v2, after=[v1])
    """
    spec = spec_of(compile_source(tmp_path, body))
    assert list(spec["root"]["dag"]["tasks"]) == ["condition-1"]
    outer = spec["components"]["comp-condition-1"]["dag"]["tasks"]
    assert sorted(outer) == ["condition-branches-2", "s1", "s4"]
    assert outer["condition-branches-2"]["dependentTasks"] == ["s1"]
    assert outer["s4"]["dependentTasks"] == ["condition-branches-2", "s1"]
    assert outer["s4"]["inputs"]["parameters"]["a0"]["taskOutputParameter"] == {
        "outputParameterKey": "pipelinechannel--condition-branches-2-oneof-1",
        "producerTask": "condition-branches-2",
    }
    branches = spec["components"]["comp-condition-branches-2"]["dag"]
    assert sorted(branches["tasks"]) == ["condition-3", "condition-4"]
    oneof = branches["outputs"]["parameters"]["pipelinechannel--condition-branches-2-oneof-1"]
    assert [s["producerSubtask"] for s in oneof["valueFromOneof"]["parameterSelectors"]] == [
        "condition-3",
        "condition-4",
    ]


def test_merged_value_inside_an_if_with_a_failure_hook_makes_no_cycle(tmp_path: Path) -> None:
    body = """
    @step
    def s1(a0: int, a1: str) -> int:
        return a0

    @step
    def s2() -> int:
        return 2

    @step
    def s3_ステップ() -> int:
        return 3

    @step
    def s4_δx(a0: int) -> int:
        return a0

    @step
    def h_failure(p_int: int) -> None:
        pass

    @pipeline(on_failure=h_failure)
    def generated(p_int: int = 0, p_str: str = "a"):
        if not (p_int == p_str):
            v1 = s1(p_int, a1=p_str)
            if p_int == p_str:
                v2 = s2(after=[v1])
            else:
                v2 = s3_ステップ()
            v3 = s4_δx(a0=v2)
    """
    spec = spec_of(compile_source(tmp_path, body))
    handler = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    assert list(handler) == ["condition-2"]
    outer = spec["components"]["comp-condition-2"]["dag"]["tasks"]
    assert {name: task.get("dependentTasks") for name, task in outer.items()} == {
        "condition-branches-3": ["s1"],
        "s1": None,
        "s4-x": ["condition-branches-3"],
    }
    branches = spec["components"]["comp-condition-branches-3"]["dag"]["tasks"]
    assert sorted(branches) == ["condition-4", "condition-5"]
