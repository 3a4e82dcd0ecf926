"""Hypothesis strategies: random *valid* pipeline sources with the DAG they must compile to.

`pipelines()` draws a `GeneratedPipeline`: the source text of a pipeline file
(steps with one to three outputs, parameters, literals, fan-out over literal
lists and list parameters, fan-in, conditions, `after=`) and the set of
(upstream, downstream) task pairs its IR must have. Each step function is
called once, so task ids equal function names. Backend tests reuse it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st


@dataclass
class GeneratedPipeline:
    source: str
    edges: set[tuple[str, str]] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)
    looped: set[str] = field(default_factory=set)
    conditional: set[str] = field(default_factory=set)


_HOSTILE_LITERALS = [
    "a",
    "b: #c",
    "{{workflow.name}}",
    "$(rm -rf /)",
    "quote ' and \" both",
    "line\nbreak",
]


@dataclass
class _Val:
    name: str
    task: str | None
    type: str  # "int" | "list[int]" | "Blob"


@st.composite
def pipelines(draw: st.DrawFn, max_steps: int = 10) -> GeneratedPipeline:
    n = draw(st.integers(min_value=1, max_value=max_steps))
    header = [
        "from typing import Annotated",
        "",
        "from portaflow import Resources, Retry, pipeline, step",
        "",
        "",
        "class Blob:",
        '    """An artifact type: not JSON, so it travels as an artifact."""',
        "",
    ]
    defs: list[str] = []
    body: list[str] = []
    gen = GeneratedPipeline(source="")
    values: list[_Val] = [_Val("p_int", None, "int"), _Val("p_list", None, "list[int]")]
    var_no = 0

    def fresh() -> str:
        nonlocal var_no
        var_no += 1
        return f"v{var_no}"

    for i in range(n):
        name = f"s{i}"
        gen.tasks.add(name)
        shape = draw(
            st.sampled_from(["plain", "plain", "multi", "fanout", "fanin", "cond", "after"])
        )
        lists = [v for v in values if v.type == "list[int]" and v.task is not None]
        if shape == "fanin" and not lists:
            shape = "plain"
        ints = [v for v in values if v.type == "int"]
        blobs = [v for v in values if v.type == "Blob"]
        n_in = draw(st.integers(min_value=0, max_value=3))
        chosen: list[_Val] = []
        for _ in range(n_in):
            pool = ints + blobs
            chosen.append(draw(st.sampled_from(pool)))
        if shape == "fanin":
            chosen = [draw(st.sampled_from(lists))]
        # step definition
        params = []
        args = []
        for k, v in enumerate(chosen):
            ann = v.type if v.type != "Blob" else "Blob"
            params.append(f"a{k}: {ann}")
            args.append(v.name)
        literal_param = draw(st.booleans())
        if literal_param:
            params.append("lit: str = 'x'")
        out_kind = draw(st.sampled_from(["int", "Blob", "list[int]"]))
        outputs: list[tuple[str, str]] = []
        if shape == "multi":
            k = draw(st.integers(min_value=2, max_value=3))
            outputs = [(f"o{j}", draw(st.sampled_from(["int", "Blob"]))) for j in range(k)]
            ret = "tuple[" + ", ".join(f'Annotated[{t}, "{o}"]' for o, t in outputs) + "]"
        else:
            outputs = [("output", out_kind)]
            ret = out_kind
        decorator = draw(
            st.sampled_from(
                [
                    "@step",
                    "@step(retries=Retry(max=2))",
                    '@step(resources=Resources(cpu=1, memory="1Gi"))',
                ]
            )
        )
        if shape == "fanout":
            params.insert(0, "item: int")
        defs += [
            decorator,
            f"def {name}({', '.join(params)}) -> {ret}:",
            "    raise NotImplementedError",
            "",
            "",
        ]
        for v in chosen:
            if v.task is not None:
                gen.edges.add((v.task, name))
        call_args = list(args)
        if literal_param and draw(st.booleans()):
            lit = draw(st.sampled_from(_HOSTILE_LITERALS))
            call_args.append(f"lit={lit!r}")
        if shape == "after":
            done = [v for v in values if v.task is not None]
            if done:
                dep = draw(st.sampled_from(done))
                call_args.append(f"after=[{dep.name}]")
                gen.edges.add((dep.task, name))  # type: ignore[arg-type]
        call = f"{name}({', '.join(call_args)})"
        if shape == "fanout":
            dynamic = [v for v in values if v.type == "list[int]" and v.task is not None]
            source_val = draw(st.sampled_from([None, None, *dynamic]))
            if source_val is None:
                source = draw(st.sampled_from(["[1, 2, 3]", "p_list", "range(2)"]))
            else:
                source = source_val.name
                gen.edges.add((source_val.task, name))  # type: ignore[arg-type]
            target = fresh()
            body.append(
                f"    {target} = [{name}(x{', ' if call_args else ''}{', '.join(call_args)}) for x in {source}]"
            )
            gen.looped.add(name)
            if outputs[0][1] == "int":
                values.append(_Val(target, name, "list[int]"))
            continue
        if shape == "cond":
            tests = [v for v in ints if v.task is not None]
            if tests:
                t = draw(st.sampled_from(tests))
                op = draw(st.sampled_from([">", "==", "!=", "<="]))
                body.append(f"    if {t.name} {op} p_int:")
                body.append(f"        {call}")
                gen.edges.add((t.task, name))  # type: ignore[arg-type]
                gen.conditional.add(name)
                continue
        if shape == "multi":
            names = [fresh() for _ in outputs]
            body.append(f"    {', '.join(names)} = {call}")
            for nm, (_o, t) in zip(names, outputs, strict=True):
                values.append(_Val(nm, name, t))
            continue
        target = fresh()
        body.append(f"    {target} = {call}")
        values.append(_Val(target, name, outputs[0][1]))
    src = "\n".join(header + [""] + defs)
    src += "@pipeline\ndef generated(p_int: int = 1, p_list: list[int] = [1, 2]):\n"
    src += "\n".join(body) + "\n"
    gen.source = src
    return gen
