"""Hand-built IR pipelines covering every construct the Argo backend maps."""

from __future__ import annotations

from portaflow.compiler import ir

SRC = "pipeline.py"


def span(line: int = 1) -> ir.Span:
    return ir.Span(path=SRC, line=line, col=1, end_line=line, end_col=10)


def t(typ: str) -> ir.TypeInfo:
    kind: ir.OutputKind = (
        "parameter"
        if typ
        in ("int", "str", "float", "bool", "list[str]", "list[int]", "dict[str, float]", "any")
        else "artifact"
    )
    return ir.TypeInfo(annotation=typ, type=typ, kind=kind)


def step(
    name: str,
    inputs: dict[str, str] | None = None,
    outputs: dict[str, str] | None = None,
    config: ir.StepConfig | None = None,
) -> ir.StepDef:
    return ir.StepDef(
        ref=f"steps:{name}",
        name=name,
        inputs=tuple(
            ir.StepInput(name=k, type=t(v), has_default=False) for k, v in (inputs or {}).items()
        ),
        outputs=tuple(ir.StepOutput(name=k, type=t(v)) for k, v in (outputs or {}).items()),
        config=config or ir.StepConfig(),
        code_hash="0" * 63 + str(len(name) % 10),
        doc="",
        span=span(len(name)),
    )


def bind(name: str, b: ir.Binding, kind: ir.OutputKind = "parameter") -> ir.InputBinding:
    return ir.InputBinding(name=name, binding=b, kind=kind, span=span(3))


def edges_of(tasks: list[ir.Task], loops: list[ir.Loop] = ()) -> tuple[ir.Edge, ...]:  # type: ignore[assignment]
    loop_by_id = {lp.id: lp for lp in loops}
    out: set[tuple[str, str, str]] = set()
    for tk in tasks:
        srcs: list[tuple[str, str]] = []
        for b in tk.inputs:
            srcs += [(s, "data") for s in ir.binding_tasks(b.binding)]
        srcs += [(a, "order") for a in tk.after]
        if tk.condition is not None:
            for b2 in ir.condition_bindings(tk.condition):
                srcs += [(s, "condition") for s in ir.binding_tasks(b2)]
        lid = tk.loop
        while lid is not None:
            srcs += [(s, "loop") for s in ir.binding_tasks(loop_by_id[lid].items)]
            lid = loop_by_id[lid].parent
        for s, kind in srcs:
            if s != tk.id:
                out.add((s, tk.id, kind))
    return tuple(ir.Edge(source=s, target=d, kind=k) for s, d, k in sorted(out))  # type: ignore[arg-type]


def pipeline(
    name: str,
    steps: list[ir.StepDef],
    tasks: list[ir.Task],
    *,
    params: list[ir.Param] = (),  # type: ignore[assignment]
    loops: list[ir.Loop] = (),  # type: ignore[assignment]
    subs: list[ir.SubPipeline] = (),  # type: ignore[assignment]
    schedule: ir.ScheduleSpec | None = None,
    image: str | None = None,
) -> ir.Pipeline:
    return ir.Pipeline(
        name=name,
        params=tuple(params),
        steps=tuple(sorted(steps, key=lambda s: s.ref)),
        tasks=tuple(tasks),
        loops=tuple(loops),
        subpipelines=tuple(subs),
        edges=edges_of(tasks, loops),
        schedule=schedule,
        image=image,
        source=SRC,
        span=span(1),
    )


def param(name: str, typ: str, default: ir.JSONValue = None, has_default: bool = True) -> ir.Param:
    return ir.Param(name=name, type=t(typ), has_default=has_default, default=default, span=span(2))


def task(tid: str, st: ir.StepDef, *inputs: ir.InputBinding, **kw: object) -> ir.Task:
    return ir.Task(id=tid, step=st.ref, inputs=tuple(inputs), span=span(5), **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the cases


def ml() -> ir.Pipeline:
    """The design document's pipeline: every construct at once."""
    ingest = step("ingest", outputs={"output": "pandas.DataFrame"})
    split = step(
        "split",
        {"df": "pandas.DataFrame"},
        {"train": "pandas.DataFrame", "test": "pandas.DataFrame"},
    )
    train = step(
        "train",
        {"df": "pandas.DataFrame", "n_estimators": "int"},
        {"model": "sklearn.Model"},
        ir.StepConfig(
            retry=ir.RetryPolicy(
                max=3,
                backoff="exponential",
                delay_seconds=10,
                factor=2.0,
                max_delay_seconds=300,
                on="always",
            ),
            timeout_seconds=3600,
            resources=ir.ResourceSpec(
                cpu="2",
                memory="4Gi",
                gpu=1,
                node_selector=(("pool", "gpu"),),
                tolerations=((("effect", "NoSchedule"), ("key", "gpu"), ("operator", "Exists")),),
            ),
            image="ghcr.io/acme/train:1.4",
            env=(("OMP_NUM_THREADS", "2"),),
            secrets=("aws-creds",),
            cache=True,
        ),
    )
    evaluate = step(
        "evaluate", {"model": "sklearn.Model", "df": "pandas.DataFrame"}, {"output": "float"}
    )
    drift = step("check_drift", {"df": "pandas.DataFrame"}, {"output": "bool"})
    alert = step("alert", {"rmse": "float"})
    promote = step("promote", {"model": "sklearn.Model"})
    score = step("score", {"model": "sklearn.Model", "region": "str"}, {"output": "float"})
    report = step("report", {"scores": "list[float]"})
    partition = step("partition", {"df": "pandas.DataFrame"}, {"output": "list[str]"})
    process = step("process", {"p": "str"}, {"output": "pandas.DataFrame"})
    merge = step("merge", {"parts": "list[pandas.DataFrame]"})
    publish = step("publish")
    cleanup = step("cleanup", {"note": "str"})
    oncall = step("alert_oncall")
    loops = [
        ir.Loop(id="loop_1", var="r", items=ir.ParamRef(param="regions"), span=span(20)),
        ir.Loop(
            id="loop_2",
            var="p",
            items=ir.TaskOutput(task="partition", output="output"),
            span=span(23),
        ),
        ir.Loop(id="loop_3", var="q", items=ir.Literal(value=["a", "b"]), span=span(25)),
    ]
    drift_c = ir.Truthy(value=ir.TaskOutput(task="check_drift", output="output"))
    tasks = [
        task("ingest", ingest),
        task(
            "check_drift",
            drift,
            bind("df", ir.TaskOutput(task="ingest", output="output"), "artifact"),
        ),
        task(
            "partition",
            partition,
            bind("df", ir.TaskOutput(task="ingest", output="output"), "artifact"),
        ),
        task("process", process, bind("p", ir.LoopItem(loop="loop_2")), loop="loop_2"),
        task("process_2", process, bind("p", ir.LoopItem(loop="loop_3")), loop="loop_3"),
        task(
            "merge",
            merge,
            bind(
                "parts", ir.Gathered(task="process_2", output="output", loop="loop_3"), "artifact"
            ),
        ),
        task("publish", publish, after=("merge", "process")),
        task("split", split, bind("df", ir.TaskOutput(task="ingest", output="output"), "artifact")),
        task(
            "train",
            train,
            bind("df", ir.TaskOutput(task="split", output="train"), "artifact"),
            bind("n_estimators", ir.ParamRef(param="n_estimators")),
        ),
        task(
            "evaluate",
            evaluate,
            bind("model", ir.TaskOutput(task="train", output="model"), "artifact"),
            bind("df", ir.TaskOutput(task="split", output="test"), "artifact"),
        ),
        task(
            "alert",
            alert,
            bind("rmse", ir.TaskOutput(task="evaluate", output="output")),
            condition=drift_c,
        ),
        task(
            "promote",
            promote,
            bind("model", ir.TaskOutput(task="train", output="model"), "artifact"),
            condition=ir.Not(operand=drift_c),
        ),
        task(
            "score",
            score,
            bind("model", ir.TaskOutput(task="train", output="model"), "artifact"),
            bind("region", ir.LoopItem(loop="loop_1")),
            loop="loop_1",
        ),
        task(
            "report",
            report,
            bind("scores", ir.Gathered(task="score", output="output", loop="loop_1")),
        ),
        task("cleanup", cleanup, bind("note", ir.Literal(value="done")), hook="exit"),
        task("alert_oncall", oncall, hook="failure"),
    ]
    return pipeline(
        "ml_pipeline",
        [
            ingest,
            split,
            train,
            evaluate,
            drift,
            alert,
            promote,
            score,
            report,
            partition,
            process,
            merge,
            publish,
            cleanup,
            oncall,
        ],
        tasks,
        params=[param("n_estimators", "int", 100), param("regions", "list[str]", ["eu", "us"])],
        loops=loops,
    )


def nested() -> ir.Pipeline:
    """Sub-pipelines, nested loops, loop items with paths, comparisons and after=."""
    load = step("load", {"cfg": "dict[str, float]"}, {"output": "pandas.DataFrame", "n": "int"})
    fit = step("fit", {"df": "pandas.DataFrame", "lr": "float", "tag": "str"}, {"score": "float"})
    summarize = step("summarize", {"scores": "any"})
    loops = [
        ir.Loop(
            id="etl.loop_1",
            var="row",
            items=ir.ParamRef(param="grid"),
            scope=("etl",),
            span=span(30),
        ),
        ir.Loop(
            id="etl.loop_2",
            var="tag",
            items=ir.LoopItem(loop="etl.loop_1", path=("tags",)),
            parent="etl.loop_1",
            scope=("etl",),
            span=span(31),
        ),
    ]
    cond = ir.All(
        operands=(
            ir.Compare(
                left=ir.TaskOutput(task="etl.load", output="n"), op=">", right=ir.Literal(value=3)
            ),
            ir.Any(
                operands=(
                    ir.Compare(
                        left=ir.ParamRef(param="mode"),
                        op="==",
                        right=ir.Literal(value="it's {{workflow.name}} $(HOME)"),
                    ),
                    ir.Compare(
                        left=ir.LoopItem(loop="etl.loop_2"),
                        op="in",
                        right=ir.Literal(value=["x", "y"]),
                    ),
                )
            ),
        )
    )
    tasks = [
        task(
            "etl.load", load, bind("cfg", ir.Literal(value={"a": 1.5, "{{b}}": 2})), scope=("etl",)
        ),
        task(
            "etl.fit",
            fit,
            bind("df", ir.TaskOutput(task="etl.load", output="output"), "artifact"),
            bind("lr", ir.LoopItem(loop="etl.loop_1", path=("lr",))),
            bind("tag", ir.LoopItem(loop="etl.loop_2")),
            loop="etl.loop_2",
            scope=("etl",),
            condition=cond,
        ),
        task(
            "summarize",
            summarize,
            bind("scores", ir.Gathered(task="etl.fit", output="score", loop="etl.loop_1")),
            after=("etl.load",),
        ),
    ]
    return pipeline(
        "nested",
        [load, fit, summarize],
        tasks,
        params=[
            param("grid", "list[dict[str, float]]", [{"lr": 0.1, "tags": ["x"]}]),
            param("mode", "str", "fast"),
        ],
        loops=loops,
        subs=[ir.SubPipeline(id="etl", pipeline="etl", span=span(29))],
    )


def scheduled() -> ir.Pipeline:
    a = step("a", outputs={"output": "int"})
    return pipeline(
        "nightly",
        [a],
        [task("a", a)],
        schedule=ir.ScheduleSpec(
            cron="0 3 * * *",
            timezone="Europe/Paris",
            concurrency_policy="Forbid",
            starting_deadline_seconds=60,
        ),
    )


def hostile() -> ir.Pipeline:
    """Quotes, newlines, tags, shell and YAML specials, unicode: in every user string."""
    nasty = "a'b\"c\n{{workflow.name}} $(HOME) `x` : # & * ! | > % @ ünï 🚀 {{=1}} }} \\"
    s = step(
        "say_hi",
        {"msg": "str", "n": "int"},
        config=ir.StepConfig(env=(("X", nasty.replace("{{", "{ {")),)),
    )
    return pipeline(
        "hostile",
        [s],
        [
            task(
                "say_hi", s, bind("msg", ir.ParamRef(param="msg")), bind("n", ir.Literal(value=1))
            ),
            task(
                "say_hi_2",
                s,
                bind("msg", ir.Literal(value=nasty)),
                bind("n", ir.Literal(value=2)),
                condition=ir.Compare(
                    left=ir.ParamRef(param="msg"), op="==", right=ir.Literal(value=nasty)
                ),
            ),
        ],
        params=[param("msg", "str", nasty)],
    )


CASES = {"ml": ml, "nested": nested, "scheduled": scheduled, "hostile": hostile}
