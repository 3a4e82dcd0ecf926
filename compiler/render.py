"""Drawing the DAG: Mermaid and Graphviz DOT text from the IR.

Tasks are nodes labelled with the step name; data edges carry the data
names; loops and sub-pipelines are drawn as clusters; conditional tasks show
their condition. Labels are escaped, so a step name cannot break the syntax.
"""

from __future__ import annotations

import json

from portaflow.compiler import ir


def describe_binding(b: ir.Binding) -> str:
    match b:
        case ir.ParamRef(param=p):
            return p
        case ir.Literal(value=v):
            return json.dumps(v, ensure_ascii=False)
        case ir.TaskOutput(task=t, output=o):
            return f"{t}.{o}"
        case ir.LoopItem(loop=_, path=path):
            return "item" + "".join(f"[{json.dumps(p)}]" for p in path)
        case ir.Gathered(task=t, output=o):
            return f"[{t}.{o} ...]"
        case ir.OneOf(options=opts):
            return " | ".join(describe_binding(o) for o in opts)
    raise AssertionError(b)  # pragma: no cover


def describe_condition(c: ir.Condition) -> str:
    match c:
        case ir.Truthy(value=v):
            return describe_binding(v)
        case ir.Compare(left=a, op=op, right=b):
            return f"{describe_binding(a)} {op} {describe_binding(b)}"
        case ir.Not(operand=x):
            return f"not ({describe_condition(x)})"
        case ir.All(operands=xs):
            return " and ".join(f"({describe_condition(x)})" for x in xs)
        case ir.Any(operands=xs):
            return " or ".join(f"({describe_condition(x)})" for x in xs)
    raise AssertionError(c)  # pragma: no cover


def _node_label(p: ir.Pipeline, t: ir.Task) -> str:
    name = p.step(t.step).name
    label = name if t.id.rsplit(".", 1)[-1] == name else f"{t.id.rsplit('.', 1)[-1]} ({name})"
    if t.hook:
        label += f" [on {t.hook}]"
    if t.condition is not None:
        label += f"\nif {describe_condition(t.condition)}"
    return label


def _clusters(p: ir.Pipeline) -> dict[str | None, list[str]]:
    """Cluster id -> member ids (tasks and child clusters); None is the top level."""
    parent_of: dict[str, str | None] = {}
    for sp in p.subpipelines:
        parent_of["sub:" + sp.id] = ("sub:" + sp.scope[-1]) if sp.scope else None
    for lp in p.loops:
        if lp.parent is not None:
            parent_of["loop:" + lp.id] = "loop:" + lp.parent
        else:
            parent_of["loop:" + lp.id] = ("sub:" + lp.scope[-1]) if lp.scope else None
    members: dict[str | None, list[str]] = {}
    for cid, parent in parent_of.items():
        members.setdefault(parent, []).append(cid)
    for t in p.tasks:
        if t.loop is not None:
            home: str | None = "loop:" + t.loop
        elif t.scope:
            home = "sub:" + t.scope[-1]
        else:
            home = None
        members.setdefault(home, []).append(t.id)
    return members


def _cluster_title(p: ir.Pipeline, cid: str) -> str:
    kind, _, ident = cid.partition(":")
    if kind == "loop":
        lp = p.loop(ident)
        return f"for {lp.var} in {describe_binding(lp.items)}"
    sp = next(s for s in p.subpipelines if s.id == ident)
    return f"pipeline {sp.pipeline}"


def _mm(text: str) -> str:
    # Mermaid labels sit in double quotes; its entity codes (#quot; ...) keep
    # user text from ending the label or being read as markup.
    return (
        text.replace("->", "→")
        .replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", "<br/>")
    )


def to_mermaid(p: ir.Pipeline) -> str:
    ids = {t.id: f"t{i}" for i, t in enumerate(p.tasks)}
    cids: dict[str, str] = {}
    members = _clusters(p)
    lines = ["flowchart TD"]

    def emit(cluster: str | None, indent: str) -> None:
        for m in members.get(cluster, []):
            if m in ids:
                lines.append(f'{indent}{ids[m]}["{_mm(_node_label(p, p.task(m)))}"]')
            else:
                cid = cids.setdefault(m, f"c{len(cids)}")
                lines.append(f'{indent}subgraph {cid}["{_mm(_cluster_title(p, m))}"]')
                emit(m, indent + "  ")
                lines.append(f"{indent}end")

    emit(None, "  ")
    for e in p.edges:
        src, dst = ids[e.source], ids[e.target]
        if e.kind == "order":
            lines.append(f"  {src} -.-> {dst}")
        else:
            label = ", ".join(e.labels) if e.kind == "data" else e.kind
            lines.append(f'  {src} -->|"{_mm(label)}"| {dst}' if label else f"  {src} --> {dst}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(p: ir.Pipeline) -> str:
    members = _clusters(p)
    task_ids = {t.id for t in p.tasks}
    lines = [f"digraph {_dot(p.name)} {{", "  rankdir=TB;", "  node [shape=box, style=rounded];"]
    counter = [0]

    def emit(cluster: str | None, indent: str) -> None:
        for m in members.get(cluster, []):
            if m in task_ids:
                style = ", style=dashed" if p.task(m).hook else ""
                lines.append(f"{indent}{_dot(m)} [label={_dot(_node_label(p, p.task(m)))}{style}];")
            else:
                counter[0] += 1
                lines.append(f"{indent}subgraph cluster_{counter[0]} {{")
                lines.append(f"{indent}  label={_dot(_cluster_title(p, m))};")
                emit(m, indent + "  ")
                lines.append(f"{indent}}}")

    emit(None, "  ")
    for e in p.edges:
        attrs: list[str] = []
        if e.kind == "order":
            attrs.append("style=dashed")
        elif e.kind == "data" and e.labels:
            attrs.append(f"label={_dot(', '.join(e.labels))}")
        elif e.kind in ("condition", "loop"):
            attrs.append(f"label={_dot(e.kind)}")
            attrs.append("style=dotted")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_dot(e.source)} -> {_dot(e.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
