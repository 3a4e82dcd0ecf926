"""The Argo output runs the way `portaflow run` does on every supported release (issue #9).

Each numbered test is one finding of the issue; where the finding is about evaluation,
the value is computed with the controller model in controller.py (which cites the Argo
source it follows) and compared with what the step itself returns. Each test also shows
the previous output's form going wrong under the same model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from portaflow.backends import BackendError, EmitOptions, EmitResult
from portaflow.backends.argo import emit, versions
from portaflow.compiler import ir

from . import controller as ctl
from . import fixtures as fx
from .checks import check_result
from .conftest import argo_examples
from .test_emit import check_depends

#: Patch releases spanning every behaviour change the issue lists.
RELEASES = [(3, 5, 14), (3, 6, 19), (3, 7, 11), (3, 7, 15), (3, 7, 16), (4, 0, 2), (4, 1, 2)]
HOSTILE = [
    "p0",
    '"small"',
    "hi {{workflow.name}}",
    "{{=1+1}}",
    "a }} b {% c %}",
    "$(HOME) and $HOME",
    "line\nbreak 'q' \\ back",
    "{",
    "{{{",
]
BIG = 2**53 + 1


def _emit(p: ir.Pipeline, version: str | None = None, **kw: Any) -> EmitResult:
    extra = dict(kw.pop("extra", {}))
    if version is not None:
        extra["argo_version"] = version
    return emit(p, options=EmitOptions(extra=extra, **kw))


def _doc(p: ir.Pipeline, version: str | None = None, **kw: Any) -> dict[str, Any]:
    result = _emit(p, version, **kw)
    check_result(result)
    doc: dict[str, Any] = yaml.safe_load(result.files[0].text)
    return doc


def _templates(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    return {t["name"]: t for t in spec["templates"]}


def _tasks(doc: dict[str, Any], template: str) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in _templates(doc)[template]["dag"]["tasks"]}


def _arg(task: dict[str, Any], name: str) -> str:
    value: str = next(a["value"] for a in task["arguments"]["parameters"] if a["name"] == name)
    return value


def _runtime_json(value: Any, tmp: Path) -> str:
    """The text the real task runtime writes for a parameter output holding `value`."""
    (tmp / "stepmod.py").write_text(f"def f():\n    return {value!r}\n")
    out = tmp / "out.json"
    subprocess.run(
        [sys.executable, "-m", "portaflow.task", "--step", "stepmod:f", "--root", str(tmp)]
        + ["--output-param", f"output={out}"],
        check=True,
        capture_output=True,
    )
    return out.read_text()


def _fan_out_pipeline(items: ir.Binding | None = None) -> ir.Pipeline:
    """make -> [work(x) for x in items] -> gather(list of work outputs)."""
    make = fx.step("make", outputs={"output": "any"})
    work = fx.step("work", {"x": "any"}, {"output": "any"})
    gather = fx.step("gather", {"xs": "any"})
    lp = ir.Loop(
        id="loop_1",
        var="x",
        items=items or ir.TaskOutput(task="make", output="output"),
        span=fx.span(4),
    )
    return fx.pipeline(
        "fan",
        [make, work, gather],
        [
            fx.task("make", make),
            fx.task("work", work, fx.bind("x", ir.LoopItem(loop="loop_1")), loop="loop_1"),
            fx.task(
                "gather",
                gather,
                fx.bind("xs", ir.Gathered(task="work", output="output", loop="loop_1")),
            ),
        ],
        loops=[lp],
    )


def _run_fan(doc: dict[str, Any], make_out: str, step: Any, release: tuple[int, int, int]) -> str:
    """The `xs` argument `gather` receives, computed as the controller would.

    `step` maps the value `work` decodes from its `--param` to the value it returns; the
    runtime writes that as JSON (`_encode`, the runtime's own rule).
    """
    root = _tasks(doc, "fan")
    loop_task = root["loop-1"]
    body = _templates(doc)[loop_task["template"]]
    work = {t["name"]: t for t in body["dag"]["tasks"]}["work"]
    scope: dict[str, Any] = {"tasks": {"make": {"outputs": {"parameters": {"output": make_out}}}}}
    texts = []
    for item_text in ctl.expand(loop_task, scope, release):
        # The loop task passes `{{item}}` to the body's `item` input.
        it_scope: dict[str, Any] = {"inputs": {"parameters": {"item": item_text}}}
        outputs: dict[str, Any] = {}
        if ctl.substitute(work["when"], it_scope) == "true":
            param = ctl.substitute(_arg(work, "x"), it_scope)
            # The runtime reads --param as JSON (docs/CONTRACTS.md).
            returned = step(json.loads(param))
            outputs = {"work": {"outputs": {"parameters": {"output": _encode(returned)}}}}
        (out,) = body["outputs"]["parameters"]
        texts.append(ctl.template_output(out, {**it_scope, "tasks": outputs}))
    agg = ctl.aggregate(texts)
    node_scope = {"tasks": {"loop-1": {"outputs": {"parameters": {}}}}}
    if agg is not None:
        node_scope["tasks"]["loop-1"]["outputs"]["parameters"]["work-output"] = agg
    return ctl.substitute(_arg(root["gather"], "xs"), node_scope)


def _encode(value: Any) -> str:
    """The runtime's parameter-output rule (runtime/task.py; test_4 runs the real one)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("$", "\\u0024").replace("{{", "{\\u007b")


# --------------------------------------------------------------------------- 1. loop items


@pytest.mark.parametrize("release", RELEASES)
def test_1_literal_items_reach_the_step_exactly(release: tuple[int, int, int]) -> None:
    items: list[ir.JSONValue] = [*HOSTILE, {"a": {"b": [1, "{{x}}"]}}, [1, 2], BIG, True, None]
    doc = _doc(_fan_out_pipeline(ir.Literal(value=items)))
    got = json.loads(_run_fan(doc, "", lambda x: x, release))
    assert got == items
    # The previous form, a JSON text per item, reaches `{{item}}` with its escapes kept.
    if release < (3, 7, 16):
        assert ctl.process_item(json.dumps("p0"), release) == '\\"p0\\"'


@pytest.mark.parametrize("release", RELEASES)
def test_1_run_time_items_reach_the_step_exactly(
    release: tuple[int, int, int], tmp_path: Path
) -> None:
    items: list[Any] = [*HOSTILE, {"k": "{{v}}", "n": [1, {"m": "$x"}]}, [], ""]
    make_out = _runtime_json(items, tmp_path)
    doc = _doc(_fan_out_pipeline())
    got = json.loads(_run_fan(doc, make_out, lambda x: x, release))
    assert got == items


# --------------------------------------------------------------------------- 2. empty fan-out


@pytest.mark.parametrize("release", RELEASES)
def test_2_empty_fan_out_gives_an_empty_list(release: tuple[int, int, int]) -> None:
    doc = _doc(_fan_out_pipeline())
    assert _run_fan(doc, "[]", lambda x: x, release) == "[]"
    doc = _doc(_fan_out_pipeline(ir.Literal(value=[])))
    assert _run_fan(doc, "", lambda x: x, release) == "[]"
    # Without the sentinel an empty loop has no aggregated output at all.
    assert ctl.aggregate([]) is None


def test_2_fan_in_is_exact_for_big_integers_and_lists() -> None:
    doc = _doc(_fan_out_pipeline())
    got = _run_fan(doc, "[1, 2]", lambda x: [BIG * x, {"n": BIG}], (4, 1, 2))
    assert json.loads(got) == [[BIG, {"n": BIG}], [2 * BIG, {"n": BIG}]]
    # Argo's own aggregation of JSON lists goes through float64 and rounds.
    assert json.loads(ctl.aggregate([f"[{BIG}]"]) or "") == [[ctl.float64(BIG)]] != [[BIG]]


# --------------------------------------------------------------------------- 3. nested if


def _nested_if() -> ir.Pipeline:
    a = fx.step("a", outputs={"output": "bool"})
    f = fx.step("f", outputs={"output": "bool"})
    g = fx.step("g")
    h = fx.step("h")
    outer = ir.Truthy(value=ir.TaskOutput(task="a", output="output"))
    inner = ir.Truthy(value=ir.TaskOutput(task="f", output="output"))
    return fx.pipeline(
        "nested",
        [a, f, g, h],
        [
            fx.task("a", a),
            fx.task("f", f, condition=outer),
            fx.task("g", g, condition=ir.All(operands=(outer, inner))),
            fx.task("h", h, after=("g",)),
        ],
    )


def test_3_a_skipped_producer_omits_the_reader_without_evaluating_when() -> None:
    p = _nested_if()
    doc = _doc(p)
    check_depends(p, doc)
    tasks = _tasks(doc, "nested")
    g, h = tasks["g"], tasks["h"]
    # a was false: f is Skipped, so g is Omitted and its `when` (which reads f's output,
    # absent) is never evaluated, on every release.
    assert not ctl.depends_ok(g["depends"], {"a": "Succeeded", "f": "Skipped"})
    assert ctl.depends_ok(g["depends"], {"a": "Succeeded", "f": "Succeeded"})
    # `after=g` still runs once g is Omitted or Skipped, as `portaflow run` does.
    assert ctl.depends_ok(h["depends"], {"g": "Omitted"})
    assert ctl.depends_ok(h["depends"], {"g": "Skipped"})
    # The previous `depends: a && f` lets g proceed to `when`, which reads an absent output.
    assert ctl.depends_ok("a && f", {"a": "Succeeded", "f": "Skipped"})
    # There `when` reads f's absent output: v3.7.11-15 / v4.0.2-6 requeue it forever.
    scope = {"tasks": {"a": {"outputs": {"parameters": {"output": "false"}}}}}
    assert ctl.strict_missing(g["when"], scope) == ["tasks.f.outputs.parameters.output"]
    assert ctl.substitute(g["when"], scope) == "false"  # other releases short-circuit
    # And the previous bare `depends: g` would omit `after=g` tasks too.
    assert not ctl.depends_ok("g", {"g": "Omitted"})


def test_model_matches_argos_own_examples() -> None:
    docs = dict(argo_examples())
    doc = docs["examples/skipped-output-defaults/producer-output-default.yaml"]
    consumer = _tasks(doc, "main")["consumer"]
    # The example's producer is Skipped (`when: "false"`) and its consumer runs.
    assert ctl.depends_ok(consumer["depends"], {"producer": "Skipped"})
    assert not ctl.depends_ok(consumer["depends"], {"producer": "Omitted"})
    # fasttemplate's scanning finds whole tags in every string of Argo's examples, and
    # the loop examples' items format as their comments say (loops.yaml, loops-maps.yaml).
    for d in docs.values():
        _walk_strings(d, ctl.tags)
    (hello,) = [t for t in _templates(docs["examples/loops.yaml"]).values() if "steps" in t]
    items = hello["steps"][0][0]["withItems"]
    assert [ctl.process_item(i, (3, 5, 14)) for i in items] == ["hello world", "goodbye world"]
    maps = docs["examples/loops-maps.yaml"]
    (loop,) = [t for t in _templates(maps).values() if "steps" in t]
    first = loop["steps"][0][0]["withItems"][0]
    assert ctl.process_item(first, (3, 5, 14)) == '{"image":"debian","tag":"9.1"}'
    # Every `depends` of Argo's examples parses under the model.
    for _name, d in docs.items():
        for tmpl in d["spec"].get("templates", []):
            for t in (tmpl.get("dag") or {}).get("tasks", []):
                if "depends" in t:
                    names = ctl.depends_names(t["depends"])
                    ctl.depends_ok(t["depends"], {n: "Succeeded" for n in names})


def _walk_strings(doc: Any, fn: Any) -> None:
    if isinstance(doc, dict):
        for v in doc.values():
            _walk_strings(v, fn)
    elif isinstance(doc, list):
        for v in doc:
            _walk_strings(v, fn)
    elif isinstance(doc, str):
        fn(doc)


# --------------------------------------------------------------------------- 4. run-time {{


@pytest.mark.parametrize("value", HOSTILE + [{"k": "{{workflow.uid}}"}, ["{{", "}}"]])
def test_4_run_time_strings_never_become_tags(value: Any, tmp_path: Path) -> None:
    text = _runtime_json(value, tmp_path)
    assert "{{" not in text and "$" not in text and json.loads(text) == value
    # A value is substituted again as part of the next template (SubstituteParams).
    assert ctl.process_args(text, {"workflow.name": "wf-1", "workflow.uid": "u"}) == text
    # ... which rewrote the previous runtime's output.
    raw = json.dumps(value, ensure_ascii=False)
    if "{{workflow." in raw:
        assert ctl.process_args(raw, {"workflow.name": "wf-1", "workflow.uid": "u"}) != raw


def test_4_values_re_encoded_by_argo_hold_no_tag() -> None:
    doc = _doc(_fan_out_pipeline())
    out = _run_fan(doc, _encode(HOSTILE), lambda x: {"echo": x}, (3, 5, 14))
    assert "{{" not in out and json.loads(out) == [{"echo": x} for x in HOSTILE]


# --------------------------------------------------------------------------- 5. `}}` in tags


def test_5_dict_literal_in_a_condition_keeps_the_tag_whole() -> None:
    a = fx.step("a", outputs={"output": "any"})
    b = fx.step("b")
    lit = {"a": {"b": 1}, "c": "}}"}
    cond = ir.Compare(
        left=ir.TaskOutput(task="a", output="output"), op="==", right=ir.Literal(value=lit)
    )
    p = fx.pipeline("dicts", [a, b], [fx.task("a", a), fx.task("b", b, condition=cond)])
    when = _tasks(_doc(p), "dicts")["b"]["when"]
    (tag,) = ctl.tags(when)
    assert "{{" + tag + "}}" == when
    scope = {"tasks": {"a": {"outputs": {"parameters": {"output": json.dumps(lit)}}}}}
    assert ctl.substitute(when, scope) == "true"
    # The previous literal `{'a': {'b': 1}}` ended the tag at its own `}}`.
    assert ctl.tags("{{=x == {'a': {'b': 1}}}}") == ["=x == {'a': {'b': 1"]


# --------------------------------------------------------------------------- 6. backoff cap


@pytest.mark.parametrize("version", versions.SUPPORTED)
def test_6_backoff_cap_only_where_the_release_has_it(version: str) -> None:
    result = _emit(fx.ml(), version)
    check_result(result)
    train = _templates(yaml.safe_load(result.files[0].text))["train"]
    codes = [w.code for w in result.warnings]
    if version in ("3.5", "3.6"):
        assert "cap" not in train["retryStrategy"]["backoff"] and "PF511" in codes
    else:
        assert train["retryStrategy"]["backoff"]["cap"] == "300s" and "PF511" not in codes


# --------------------------------------------------------------------------- 7. task names


def test_7_task_names_are_identifiers_in_depends() -> None:
    s = fx.step("s", outputs={"output": "int"})
    t = fx.step("t", {"x": "int"})
    p = fx.pipeline(
        "digits",
        [s, t],
        [
            fx.task("_3d", s),
            fx.task("in", s),
            fx.task(
                "use", t, fx.bind("x", ir.TaskOutput(task="_3d", output="output")), after=("in",)
            ),
        ],
    )
    doc = _doc(p)
    check_depends(p, doc)
    tasks = _tasks(doc, "digits")
    assert {"t-3d", "t-in", "use"} <= set(tasks)
    assert ctl.depends_ok(tasks["use"]["depends"], {"t-3d": "Succeeded", "t-in": "Succeeded"})
    # The previous name `3d` is no identifier: Argo's depends evaluation fails.
    with pytest.raises(SyntaxError):
        ctl.depends_ok("3d", {"3d": "Succeeded"})


# --------------------------------------------------------------------------- 8. CronWorkflow


@pytest.mark.parametrize("version", versions.SUPPORTED)
def test_8_cron_schedule_field_per_release(version: str) -> None:
    result = _emit(fx.scheduled(), version)
    check_result(result)
    spec = yaml.safe_load(result.files[0].text)["spec"]
    if version == "3.5":
        assert spec["schedule"] == "0 3 * * *" and "schedules" not in spec
    else:
        assert spec["schedules"] == ["0 3 * * *"] and "schedule" not in spec


# --------------------------------------------------------------------------- the rest


def test_hooks_are_never_memoized() -> None:
    clean = fx.step("clean", config=ir.StepConfig(cache=True))
    work = fx.step("work", config=ir.StepConfig(cache=True))
    p = fx.pipeline(
        "hooks",
        [clean, work],
        [
            fx.task("work", work),
            fx.task("clean", clean, hook="exit"),
            fx.task("page", work, hook="failure"),
        ],
    )
    ts = _templates(_doc(p))
    assert "memoize" in ts["work"]
    hook_templates = {t["template"] for t in ts["hooks-exit"]["dag"]["tasks"]}
    assert hook_templates and all("memoize" not in ts[n] for n in hook_templates)


def test_workflow_gets_generate_name_and_a_fixed_name_is_an_option() -> None:
    meta = _doc(fx.ml())["metadata"]
    assert meta["generateName"] == "ml-pipeline-" and "name" not in meta
    meta = _doc(fx.ml(), extra={"generate_name": False})["metadata"]
    assert meta["name"] == "ml-pipeline" and "generateName" not in meta


def test_big_integer_literals_in_conditions_warn() -> None:
    a = fx.step("a", outputs={"output": "int"})
    b = fx.step("b")
    cond = ir.Compare(
        left=ir.TaskOutput(task="a", output="output"), op="==", right=ir.Literal(value=BIG)
    )
    p = fx.pipeline("big", [a, b], [fx.task("a", a), fx.task("b", b, condition=cond)])
    assert [w.code for w in _emit(p).warnings] == ["PF512"]
    small = fx.pipeline(
        "big",
        [a, b],
        [
            fx.task("a", a),
            fx.task(
                "b",
                b,
                condition=ir.Compare(
                    left=ir.TaskOutput(task="a", output="output"),
                    op="==",
                    right=ir.Literal(value=2**53),
                ),
            ),
        ],
    )
    assert _emit(small).warnings == ()


def test_unknown_argo_version_is_a_located_error() -> None:
    with pytest.raises(BackendError) as e:
        _emit(fx.ml(), "3.4")
    (m,) = e.value.messages
    assert m.code == "PF510" and "3.5" in m.hint
    assert versions.profile("v3.7.16") == versions.Profile("3.7")
    assert versions.profile(None) == versions.Profile(versions.NEWEST)


@pytest.mark.parametrize("version", versions.SUPPORTED)
def test_every_fixture_passes_every_check_under_every_profile(version: str) -> None:
    for case in fx.CASES.values():
        p = case()
        for kind in ("workflow", "workflow-template"):
            docs = check_result(_emit(p, version, kind=kind))
            check_depends(p, docs[0])


def test_cli_flag_and_stack_key_choose_the_release(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from portaflow.compiler.cli import main

    (tmp_path / "pipeline.py").write_text(
        "from portaflow import pipeline, step, Schedule\n\n"
        "@step\ndef a() -> int:\n    return 1\n\n"
        "@pipeline(schedule=Schedule(cron='0 3 * * *'))\ndef nightly():\n    a()\n"
    )
    (tmp_path / "portaflow.toml").write_text(
        'default_stack = "old"\n[stacks.old]\ntarget = "argo"\nargo_version = "3.5"\n'
    )
    f = str(tmp_path / "pipeline.py")
    out = CliRunner().invoke(main, ["compile", f])
    assert out.exit_code == 0, out.output
    assert yaml.safe_load(out.output)["spec"]["schedule"] == "0 3 * * *"
    out = CliRunner().invoke(main, ["compile", f, "--argo-version", "4.1"])
    assert yaml.safe_load(out.output)["spec"]["schedules"] == ["0 3 * * *"]
    out = CliRunner().invoke(main, ["compile", f, "--argo-version", "2.12"])
    assert out.exit_code == 1 and "PF510" in out.output
