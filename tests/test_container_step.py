"""`container_step`: a command (not Python) as a step, with argv placeholders, no shell."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from portaflow import container_step
from portaflow.backends import BackendError, EmitOptions, load
from portaflow.backends.local import run_pipeline
from portaflow.compiler import CompileError, compile_file, ir
from strategies import container_step_sources

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "container_step"


def test_the_example_runs_locally_and_its_tools_outputs_reach_a_python_step(
    tmp_path: Path,
) -> None:
    p = compile_file(EXAMPLE / "pipeline.py", root=EXAMPLE)
    (count,) = [s for s in p.steps if s.name == "count-words"]
    assert count.container is not None and count.container.image == "busybox:1.36"
    result = run_pipeline(p, root=EXAMPLE, store=tmp_path / "s", params={"text": "a b  c"})
    assert result.ok, result.failed
    by_task = {e.task: e for e in result.executions}
    assert by_task["count_words"].outputs["words"]["param"] == 3
    assert by_task["shout"].outputs["loud"]["param"] == "A B  C"
    assert by_task["report"].outputs["output"]["param"] == "A B  C (3 words)"


def test_a_value_is_one_argv_item_never_shell_code(tmp_path: Path) -> None:
    hostile = "x; touch pwned $(touch pwned2) `touch pwned3`"
    echo = container_step(
        name="echo",
        image="busybox",
        command=["cp", "{src}", "{outputs.copy}"],
        inputs={"src": str},
        outputs={"copy": str},
    )
    src = tmp_path / hostile
    src.write_text("kept\n")
    assert echo(src=str(src)) == "kept"  # one trailing newline dropped
    assert not any(tmp_path.glob("pwned*")) and not any(Path.cwd().glob("pwned*"))


def test_substring_placeholders_literal_braces_and_typed_outputs(tmp_path: Path) -> None:
    python = shutil.which("python3") or "python3"
    tool = container_step(
        name="tool",
        image="python:3.12",
        command=[
            python,
            "-c",
            "import sys; open(sys.argv[2], 'w').write(sys.argv[1])",
            "--n={n}:{flag}:{{x}}",
            "{outputs.text}",
        ],
        inputs={"n": int, "flag": bool},
        outputs={"text": str},
    )
    assert tool(n=3, flag=True) == "--n=3:true:{x}"
    with pytest.raises(ValueError, match="unknown placeholder"):
        container_step(name="t", image="i", command=["{missing}"])


def test_a_failing_command_fails_the_task_locally(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pipeline.py").write_text(
        textwrap.dedent(
            """
            from portaflow import container_step, pipeline
            fail = container_step(name="fail", image="busybox", command=["false"])
            @pipeline
            def p():
                fail()
            """
        )
    )
    result = run_pipeline(
        compile_file(root / "pipeline.py", root=root), root=root, store=tmp_path / "s"
    )
    assert not result.ok and [e.task for e in result.failed] == ["fail"]


def test_the_code_hash_covers_the_declaration(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    src = """
from portaflow import container_step, pipeline
t = container_step(name="t", image="busybox:IMG", command=["true"])
@pipeline
def p():
    t()
"""
    (root / "pipeline.py").write_text(src.replace("IMG", "1"))
    first = compile_file(root / "pipeline.py", root=root).steps[0].code_hash
    (root / "pipeline.py").write_text(src.replace("IMG", "2"))
    assert compile_file(root / "pipeline.py", root=root).steps[0].code_hash != first


def _emit(target: str, pipeline: ir.Pipeline, **extra: str) -> str:
    (f,) = load(target)(pipeline, options=EmitOptions(extra=dict(extra))).files
    return f.text


def test_argo_and_kfp_run_the_image_and_command_with_their_placeholders() -> None:
    p = compile_file(EXAMPLE / "pipeline.py", root=EXAMPLE)
    argo = yaml.safe_load(_emit("argo", p))
    (tpl,) = [t for t in argo["spec"]["templates"] if t["name"] == "count-words"]
    assert tpl["container"]["image"] == "busybox:1.36"
    text = "inputs.parameters.text"
    assert tpl["container"]["command"][-2:] == [
        # JSON text is decoded, a raw string (a loop item, a command's output) taken as is
        f"{{{{=({text} startsWith '\"' ? jsonpath({text}, '$') : {text})}}}}",
        "/portaflow/out/words",
    ]
    assert tpl["outputs"]["parameters"] == [
        {"name": "words", "valueFrom": {"path": "/portaflow/out/words"}}
    ]
    for flavour in ("python", "container"):
        kfp = yaml.safe_load(_emit("kfp", p, kfp_executor=flavour))
        exe = kfp["deploymentSpec"]["executors"]["exec-count-words"]["container"]
        assert exe["image"] == "busybox:1.36"
        assert exe["command"][-2:] == [
            "{{$.inputs.parameters['text']}}",
            "{{$.outputs.parameters['words'].output_file}}",
        ]


def _errors(target: str, src: str, tmp_path: Path, **extra: str) -> list[str]:
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(src))
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    with pytest.raises(BackendError) as info:
        load(target)(p, options=EmitOptions(extra=dict(extra)))
    return [f"{m.code} {m.message} {m.hint}" for m in info.value.messages]


KFP_TOOL = """
from kfp import dsl


@dsl.container_component
def tool(n: int, text: str, words: dsl.OutputPath(int)):
    return dsl.ContainerSpec(image="busybox:1.36", command=["tool", f"--n={n}", text, words])


@dsl.pipeline
def p(n: int = 3, text: str = "x"):
    tool(n=n, text=text)
"""


def test_kfp_output_is_what_kfp_compiles_for_the_same_container_component(
    tmp_path: Path,
) -> None:
    from kfp import compiler as kfp_compiler

    # kfp reads real annotations: compiled apart from this module's `from __future__` import.
    ns: dict[str, object] = {}
    exec(compile(KFP_TOOL, "<kfp>", "exec", dont_inherit=True), ns)
    kfp_compiler.Compiler().compile(ns["p"], str(tmp_path / "kfp.yaml"))
    theirs = yaml.safe_load((tmp_path / "kfp.yaml").read_text())
    src = """
    from portaflow import container_step, pipeline
    tool = container_step(name="tool", image="busybox:1.36",
                          command=["tool", "--n={n}", "{text}", "{outputs.words}"],
                          inputs={"n": int, "text": str}, outputs={"words": int})
    @pipeline
    def p(n: int = 3, text: str = "x"):
        tool(n=n, text=text)
    """
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(src))
    ours = yaml.safe_load(_emit("kfp", compile_file(tmp_path / "pipeline.py", root=tmp_path)))
    for spec in (ours, theirs):
        assert (
            spec["deploymentSpec"]["executors"]["exec-tool"]
            == theirs["deploymentSpec"]["executors"]["exec-tool"]
        )
        comp = spec["components"]["comp-tool"]
        assert {k: comp[k] for k in ("inputDefinitions", "outputDefinitions")} == {
            k: theirs["components"]["comp-tool"][k]
            for k in ("inputDefinitions", "outputDefinitions")
        }


def test_literal_braces_next_to_a_tag_are_refused_by_argo_and_kfp(tmp_path: Path) -> None:
    src = """
    from portaflow import container_step, pipeline
    t = container_step(name="t", image="i", command=["tool", "{{{{x}}}}", "{n}"], inputs={"n": int})
    @pipeline
    def p():
        t(n=3)
    """
    (argo,) = _errors("argo", src, tmp_path)
    (kfp_err,) = _errors("kfp", src, tmp_path)
    assert argo.startswith("PF531") and kfp_err.startswith("PF631")


def test_airflow_runs_it_on_the_worker_and_refuses_the_pod_flavour(tmp_path: Path) -> None:
    p = compile_file(EXAMPLE / "pipeline.py", root=EXAMPLE)
    assert "step='pipeline:count_words'" in _emit("airflow", p, airflow_operator="local")
    msgs = _errors("airflow", (EXAMPLE / "pipeline.py").read_text(), tmp_path)
    assert msgs and all(m.startswith("PF731") and "local flavour" in m for m in msgs)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(container_step_sources())
def test_hostile_commands_compile_to_one_argv_item_each_or_a_located_error(
    tmp_path: Path, case: tuple[str, str]
) -> None:
    """Whatever the command items and values: a located diagnostic or, on every target, argv
    items that stay items (never a shell string) and Argo documents that pass the checks."""
    from argo.checks import check_result as argo_checks
    from kfp_backend.checks import check_result as kfp_checks

    src, a = case
    (tmp_path / "pipeline.py").write_text(src, encoding="utf-8")
    try:
        p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    except CompileError as e:
        assert all(d.code.startswith("PF2") and d.span is not None for d in e.diagnostics)
        return
    (step,) = p.steps
    assert step.container is not None
    for target, checks, code in (("argo", argo_checks, "PF531"), ("kfp", kfp_checks, "PF631")):
        try:
            result = load(target)(p, options=EmitOptions())
        except BackendError as e:
            assert {m.code for m in e.messages} == {code}
            continue
        assert load(target)(p, options=EmitOptions()) == result  # byte-deterministic
        checks(result)
    runtime = container_step(
        name="t",
        image="i",
        command=step.container.command,
        inputs={"a": str, "n": int},
        outputs={"out": str},
    )
    argv = runtime.argv({"a": a, "n": 1}, tmp_path)
    assert len(argv) == len(step.container.command)  # one argv item per command item
    if any("{a}" in item.replace("{{", "") for item in step.container.command):
        assert a in "".join(argv)
