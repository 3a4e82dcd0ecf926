"""Hand-built pipelines covering every construct: valid by Argo's rules, stable, and faithful."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from portaflow.backends import BackendError, EmitOptions
from portaflow.backends.argo import emit
from portaflow.compiler import compile_file, ir

from . import fixtures as fx
from .checks import check_result
from .controller import depends_names


@pytest.mark.parametrize("case", sorted(fx.CASES))
@pytest.mark.parametrize("kind", ["workflow", "workflow-template"])
def test_cases_pass_schema_hera_and_lint(case: str, kind: str) -> None:
    p = fx.CASES[case]()
    opts = EmitOptions(
        kind=kind, namespace="ml", service_account="runner", artifact_store="repos/s3"
    )
    first = emit(p, options=opts)
    check_result(first)
    assert emit(p, options=opts) == first  # byte-identical on every run


def _docs(p: ir.Pipeline, **kw: object) -> list[dict]:
    return [yaml.safe_load(f.text) for f in emit(p, options=EmitOptions(**kw)).files]  # type: ignore[arg-type]


def _templates(doc: dict) -> dict[str, dict]:
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    return {t["name"]: t for t in spec["templates"]}


def test_kinds_and_schedule() -> None:
    (wf,) = _docs(fx.ml())
    assert wf["kind"] == "Workflow" and wf["metadata"]["generateName"] == "ml-pipeline-"
    (fixed,) = _docs(fx.ml(), extra={"generate_name": False})
    assert fixed["metadata"]["name"] == "ml-pipeline" and "generateName" not in fixed["metadata"]
    (cron,) = _docs(fx.scheduled())
    assert cron["kind"] == "CronWorkflow"
    assert cron["spec"]["schedules"] == ["0 3 * * *"]
    assert cron["spec"]["timezone"] == "Europe/Paris"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["startingDeadlineSeconds"] == 60
    tmpl, cron2 = _docs(fx.scheduled(), kind="workflow-template")
    assert tmpl["kind"] == "WorkflowTemplate"
    assert cron2["spec"]["workflowSpec"]["workflowTemplateRef"] == {"name": "nightly"}
    with pytest.raises(BackendError) as e:
        emit(fx.ml(), options=EmitOptions(kind="cronjob"))
    assert e.value.messages[0].code == "PF501"


def test_stack_settings() -> None:
    (wf,) = _docs(
        fx.ml(),
        namespace="ml",
        service_account="runner",
        artifact_store="my-repo",
        labels={"team": "ds"},
        annotations={"owner": "me"},
        extra={"gpu_vendor": "amd.com/gpu", "node_selector": {"zone": "a"}, "generate_name": True},
    )
    assert wf["metadata"]["generateName"] == "ml-pipeline-"
    assert wf["metadata"]["namespace"] == "ml"
    assert wf["metadata"]["labels"]["team"] == "ds"
    assert wf["metadata"]["annotations"]["owner"] == "me"
    assert wf["spec"]["serviceAccountName"] == "runner"
    assert wf["spec"]["artifactRepositoryRef"] == {"key": "my-repo"}
    assert wf["spec"]["nodeSelector"] == {"zone": "a"}
    train = _templates(wf)["train"]
    assert train["container"]["resources"]["limits"] == {"amd.com/gpu": "1"}
    assert train["container"]["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    assert train["container"]["envFrom"] == [{"secretRef": {"name": "aws-creds"}}]
    assert train["retryStrategy"] == {
        "backoff": {"cap": "300s", "duration": "10s", "factor": 2},
        "limit": 3,
        "retryPolicy": "Always",
    }
    assert train["activeDeadlineSeconds"] == 3600
    assert train["nodeSelector"] == {"pool": "gpu"}
    assert train["tolerations"] == [{"effect": "NoSchedule", "key": "gpu", "operator": "Exists"}]
    assert (
        train["metadata"]["annotations"]["portaflow.dev/code-hash"]
        == fx.ml().step("steps:train").code_hash
    )
    cmd = train["container"]["command"]
    assert cmd[:5] == ["python", "-m", "portaflow.task", "--step", "steps:train"]
    assert "n_estimators={{inputs.parameters.n_estimators}}" in cmd
    assert "memoize" in _templates(wf)["process"]


def test_mapping_of_loops_conditions_and_hooks() -> None:
    (wf,) = _docs(fx.ml())
    ts = _templates(wf)
    root = {t["name"]: t for t in ts["ml-pipeline"]["dag"]["tasks"]}
    assert root["loop-1"]["withParam"].startswith(
        "{{='[[]' + join(map(jsonpath(workflow.parameters.regions"
    )
    assert root["loop-2"]["withParam"].startswith("{{='[[]' + join(map(jsonpath(tasks.partition.")
    # Artifact fan-in over a literal list is unrolled with a manifest.
    assert {"loop-3-0", "loop-3-1"} <= set(root)
    merge = ts["merge"]
    manifest = next(a for a in merge["inputs"]["artifacts"] if a["name"] == "parts-manifest")
    assert json.loads(manifest["raw"]["data"]) == ["/portaflow/in/parts/0", "/portaflow/in/parts/1"]
    assert root["report"]["arguments"]["parameters"][1]["value"].startswith("{{='[' + join(")
    assert root["alert"]["when"].startswith("{{=") and "check-drift" in root["alert"]["when"]
    assert wf["spec"]["onExit"] == "ml-pipeline-exit"
    exit_tasks = {t["name"]: t for t in ts["ml-pipeline-exit"]["dag"]["tasks"]}
    assert "when" not in exit_tasks["cleanup"]
    assert "workflow.status" in exit_tasks["alert-oncall"]["when"]


def test_with_items_are_json_text() -> None:
    p = fx.ml()
    loops = (
        dataclasses.replace(p.loops[0], items=ir.Literal(value=["eu", 1, {"a": "{{x}}"}])),
        *p.loops[1:],
    )
    (wf,) = _docs(dataclasses.replace(p, loops=loops))
    root = {t["name"]: t for t in _templates(wf)["ml-pipeline"]["dag"]["tasks"]}
    items = root["loop-1"]["withItems"]
    # The sentinel, then each item's JSON text in a one-element list (see loops.py).
    assert items[0] == [] and all(len(i) == 1 for i in items[1:])
    assert [json.loads(i[0]) for i in items[1:]] == ["eu", 1, {"a": "{{x}}"}]
    assert not any("{{" in i[0] for i in items[1:])


def test_dependencies_equal_the_ir_graph() -> None:
    for case in fx.CASES.values():
        p = case()
        (doc, *_) = _docs(p)
        check_depends(p, doc)


def check_depends(p: ir.Pipeline, doc: dict) -> None:
    """Flattened `depends` between the DAG nodes holding each task equals the IR's edges."""
    ts = _templates(doc)
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    got: set[tuple[str, str]] = set()

    def walk(tname: str, prefix: str) -> dict[str, set[str]]:
        """node name -> IR task ids inside it."""
        inside: dict[str, set[str]] = {}
        dag = ts[tname].get("dag")
        if dag is None:
            return inside
        for t in dag["tasks"]:
            child = ts[t["template"]]
            if "dag" in child:
                inside[t["name"]] = set().union(
                    *walk(t["template"], prefix + t["name"] + "/").values() or [set()]
                )
            else:
                task_id = next(
                    a["value"]
                    for a in t["arguments"]["parameters"]
                    if a["name"] == "portaflow-task"
                )
                inside[t["name"]] = {task_id}
        for t in dag["tasks"]:
            for d in depends_names(t.get("depends", "")):
                got.update((a, b) for a in inside[d] for b in inside[t["name"]])
        return inside

    walk(spec["entrypoint"], "")
    main = {t.id for t in p.main_tasks}
    want = {(e.source, e.target) for e in p.edges if e.source in main and e.target in main}
    # A dependency between nodes implies the IR edge or one through a shared enclosing node.
    assert want <= got
    spurious = got - want
    groups = {t.id: (t.loop, t.scope) for t in p.main_tasks}
    for a, b in spurious:
        assert groups[a] != groups[b], (a, b)


def test_hostile_strings_survive_and_form_no_expression() -> None:
    p = fx.hostile()
    result = emit(p, options=EmitOptions())
    (doc,) = check_result(result)
    text = result.files[0].text
    nasty = p.params[0].default
    assert isinstance(nasty, str)
    # The default decodes to exactly the user's string, and holds no tag Argo would substitute.
    value = doc["spec"]["arguments"]["parameters"][0]["value"]
    assert json.loads(value) == nasty and "{{" not in value and "$(" not in value
    # The user's tag never reaches the document as a tag: no string holds it.
    for s in _all_strings(doc):
        assert "{{workflow.name}}" not in s, s
    assert "{{workflow.name}} $(HOME)" not in text
    # Env values: exact after Kubernetes' $$ unescaping.
    env = _templates(doc)["say-hi"]["container"]["env"][0]["value"]
    assert env.replace("$$(", "$(") == p.steps[0].config.env[0][1]
    root = {t["name"]: t for t in _templates(doc)["hostile"]["dag"]["tasks"]}
    when = root["say-hi-2"]["when"]
    assert when.count("{{") == 1 and when.endswith("}}") and when.count("}}") == 1
    # The compared literal is one fully escaped expr string: no quote of the user's ends it.
    literal = when.split("==", 1)[1].strip().removesuffix("}}").strip()
    assert literal.startswith("'") and literal.endswith("'") and "'" not in literal[1:-1], when
    assert literal.isascii(), when
    assert literal[1:-1].encode().decode("unicode_escape") == nasty  # \u / \U escapes only
    lit = root["say-hi-2"]["arguments"]["parameters"][1]["value"]
    assert json.loads(lit) == nasty


def _all_strings(v: object) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [s for x in v for s in _all_strings(x)]
    if isinstance(v, dict):
        return [s for x in v.values() for s in _all_strings(x)]
    return []


def test_unexpressible_things_are_errors_with_spans() -> None:
    p = fx.ml()
    train = p.step("steps:train")
    assert train.config.retry is not None
    linear = dataclasses.replace(train.config.retry, backoff="linear")
    bad_env = (("A", "{{workflow.name}}"),)
    steps = tuple(
        dataclasses.replace(
            s,
            config=dataclasses.replace(s.config, retry=linear, env=bad_env, secrets=("Bad_Name",)),
        )
        if s.ref == "steps:train"
        else s
        for s in p.steps
    )
    loops = (
        p.loops[0],
        p.loops[1],
        dataclasses.replace(p.loops[2], items=ir.ParamRef(param="regions")),
    )
    with pytest.raises(BackendError) as e:
        emit(dataclasses.replace(p, steps=steps, loops=loops), options=EmitOptions())
    codes = sorted(m.code for m in e.value.messages)
    assert codes == ["PF502", "PF503", "PF504", "PF505"]
    assert all(m.span is not None and m.hint for m in e.value.messages if m.code != "PF503")


def test_size_warning() -> None:
    p = fx.ml()
    big = dataclasses.replace(p.params[1], default=["x" * 100] * 1000)
    result = emit(dataclasses.replace(p, params=(p.params[0], big)), options=EmitOptions())
    assert [w.code for w in result.warnings] == ["PF508"]
    assert result.warnings[0].span == big.span


def test_thousand_tasks_emit_valid_output() -> None:
    # Speed is measured in benchmarks/bench_argo.py, not asserted here.
    s = fx.step("work", {"x": "int"}, {"output": "int"})
    tasks = [fx.task("work", s, fx.bind("x", ir.Literal(value=0)))]
    for i in range(2, 1001):
        prev = "work" if i == 2 else f"work_{i - 1}"
        tasks.append(
            fx.task(f"work_{i}", s, fx.bind("x", ir.TaskOutput(task=prev, output="output")))
        )
    p = fx.pipeline("big", [s], tasks)
    result = emit(p, options=EmitOptions())
    assert emit(p, options=EmitOptions()) == result
    check_result(result)


BOUNDED_BLOBS = """
from portaflow import parallel, pipeline, step


@step
def make(x: str) -> bytes:
    return x.encode()


@step
def count(blobs: list[bytes]) -> int:
    return len(blobs)


@pipeline
def flow():
    blobs = [make(x) for x in parallel(["a", "b", "c"], limit=1)]
    count(blobs)
"""


def test_bounded_literal_loop_gathers_artifacts_through_its_wrapper_dag(tmp_path: Path) -> None:
    # `parallel(xs, limit=N)` puts the (unrolled) loop in a `bound:` DAG of its own; every
    # iteration's artifact leaves that DAG as an output of its own, in item order.
    (tmp_path / "pipeline.py").write_text(BOUNDED_BLOBS)
    p = compile_file(tmp_path / "pipeline.py", root=tmp_path)
    result = emit(p, options=EmitOptions())
    doc = check_result(result)[0]
    t = _templates(doc)
    assert t["flow-loop-1-bounded"]["parallelism"] == 1
    bounded = t["flow-loop-1-bounded"]
    node = {task["name"]: task for task in t["flow"]["dag"]["tasks"]}
    (wrapper,) = [n for n, task in node.items() if task["template"] == "flow-loop-1-bounded"]
    exported = [a["from"] for a in bounded["outputs"]["artifacts"]]
    iterations = [task["name"] for task in bounded["dag"]["tasks"]]
    assert len(iterations) == 3
    assert exported == [f"{{{{tasks.{n}.outputs.artifacts.make-output}}}}" for n in iterations]
    consumer = next(task for task in node.values() if task["template"] == "count")
    got = [a["from"] for a in consumer["arguments"]["artifacts"]]
    names = [a["name"] for a in bounded["outputs"]["artifacts"]]
    assert got == [f"{{{{tasks.{wrapper}.outputs.artifacts.{n}}}}}" for n in names]
    assert consumer["depends"] == f"{wrapper}.Succeeded"
