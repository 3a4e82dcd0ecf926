"""Hand-built IR for local-runner tests: small builders that fill in spans, kinds and edges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from portaflow.compiler import ir
from portaflow.compiler.graph import topological_order

SPAN = ir.Span(path="pipeline.py", line=1, col=1, end_line=1, end_col=2)
JSON_TYPES = ("int", "float", "str", "bool", "null", "any")


def typeinfo(tp: str) -> ir.TypeInfo:
    """A parameter type for JSON-ish names ("int", "list[str]"...), else an artifact type."""
    is_param = tp in JSON_TYPES or tp.startswith(("list", "dict")) or "|" in tp
    return ir.TypeInfo(annotation=tp, type=tp, kind="parameter" if is_param else "artifact")


def step(
    ref: str,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    *,
    code_hash: str = "h1",
    **config: Any,
) -> ir.StepDef:
    """A step `module:function` with {name: type} inputs and outputs."""
    return ir.StepDef(
        ref=ref,
        name=ref.split(":")[1],
        inputs=tuple(
            ir.StepInput(name=n, type=typeinfo(t), has_default=False)
            for n, t in (inputs or {}).items()
        ),
        outputs=tuple(ir.StepOutput(name=n, type=typeinfo(t)) for n, t in (outputs or {}).items()),
        config=ir.StepConfig(**config),
        code_hash=code_hash,
        doc="",
        span=SPAN,
    )


def retry(
    max: int, *, delay: int = 0, backoff: str = "fixed", on: str = "always"
) -> ir.RetryPolicy:
    return ir.RetryPolicy(
        max=max,
        backoff=backoff,
        delay_seconds=delay,
        factor=2.0,  # type: ignore[arg-type]
        max_delay_seconds=None,
        on=on,
    )  # type: ignore[arg-type]


def out(task: str, output: str = "output") -> ir.TaskOutput:
    return ir.TaskOutput(task=task, output=output)


def lit(value: Any) -> ir.Literal:
    return ir.Literal(value=value)


def param(name: str) -> ir.ParamRef:
    return ir.ParamRef(param=name)


class Builder:
    """Collects steps, tasks and loops; `build()` derives kinds, edges and the topological order."""

    def __init__(
        self,
        name: str = "p",
        *,
        params: Mapping[str, tuple[str, Any]] | None = None,
        model: str | None = None,
    ) -> None:
        self.name = name
        self.params = params or {}
        self.model = model
        self.steps: dict[str, ir.StepDef] = {}
        self.tasks: list[ir.Task] = []
        self.loops: list[ir.Loop] = []

    def add_step(self, s: ir.StepDef) -> ir.StepDef:
        self.steps[s.ref] = s
        return s

    def loop(self, id: str, items: ir.Binding, *, parent: str | None = None, var: str = "x") -> str:
        self.loops.append(ir.Loop(id=id, var=var, items=items, parent=parent, span=SPAN))
        return id

    def task(
        self,
        id: str,
        step: ir.StepDef,
        inputs: Mapping[str, ir.Binding] | None = None,
        *,
        after: Sequence[str] = (),
        condition: ir.Condition | None = None,
        loop: str | None = None,
        hook: str | None = None,
    ) -> str:
        self.add_step(step)
        kinds = {i.name: i.type.kind for i in step.inputs}
        bindings = tuple(
            ir.InputBinding(name=n, binding=b, kind=kinds[n], span=SPAN)
            for n, b in (inputs or {}).items()
        )
        self.tasks.append(
            ir.Task(
                id=id,
                step=step.ref,
                inputs=bindings,
                after=tuple(after),
                condition=condition,
                loop=loop,
                hook=hook,
                span=SPAN,
            )
        )  # type: ignore[arg-type]
        return id

    def build(self) -> ir.Pipeline:
        loops = {lp.id: lp for lp in self.loops}
        edges: set[tuple[str, str, str]] = set()
        for t in self.tasks:
            for b in t.inputs:
                for src in ir.binding_tasks(b.binding):
                    edges.add((src, t.id, "data"))
            if t.condition is not None:
                for b in ir.condition_bindings(t.condition):
                    for src in ir.binding_tasks(b):
                        edges.add((src, t.id, "condition"))
            lid = t.loop
            while lid is not None:
                for src in ir.binding_tasks(loops[lid].items):
                    edges.add((src, t.id, "loop"))
                lid = loops[lid].parent
            for a in t.after:
                edges.add((a, t.id, "order"))
        main = [t for t in self.tasks if t.hook is None]
        order = topological_order([t.id for t in main], {(s, d) for s, d, _ in edges})
        by_id = {t.id: t for t in self.tasks}
        tasks = [by_id[i] for i in order] + [t for t in self.tasks if t.hook is not None]
        return ir.Pipeline(
            name=self.name,
            params=tuple(
                ir.Param(name=n, type=typeinfo(tp), has_default=True, default=d, span=SPAN)
                for n, (tp, d) in self.params.items()
            ),
            steps=tuple(sorted(self.steps.values(), key=lambda s: s.ref)),
            tasks=tuple(tasks),
            loops=tuple(self.loops),
            edges=tuple(ir.Edge(source=s, target=d, kind=k) for s, d, k in sorted(edges)),  # type: ignore[arg-type]
            model=ir.ModelSpec(name=self.model) if self.model else None,
            source="pipeline.py",
            span=SPAN,
        )
