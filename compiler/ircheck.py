"""Consistency of an IR document read from disk: every reference resolves, the order is topological.

The compiler builds consistent IR by construction; an IR file handed to the CLI
(`portaflow run pipeline.ir.json`) may have been edited or truncated. `problems`
lists what a backend would trip over (an unknown step, task, loop or parameter,
an output the step does not have, an edge against the task order) so that
`irjson.loads` refuses the file with one message instead of a crash later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from portaflow.compiler import ir

#: Problems listed in a message at most.
SHOWN = 5


def problems(p: ir.Pipeline) -> list[str]:
    """Everything inconsistent in `p`, in a stable order; empty when it is sound."""
    out: list[str] = []
    out += _duplicates("step", (s.ref for s in p.steps))
    out += _duplicates("task", (t.id for t in p.tasks))
    out += _duplicates("loop", (lp.id for lp in p.loops))
    out += _duplicates("parameter", (prm.name for prm in p.params))
    steps = {s.ref: s for s in p.steps}
    tasks = {t.id: t for t in p.tasks}
    loops = {lp.id: lp for lp in p.loops}
    params = {prm.name for prm in p.params}

    def binding(where: str, b: ir.Binding) -> None:
        match b:
            case ir.ParamRef(param=name):
                if name not in params:
                    out.append(f"{where} reads unknown parameter {name!r}")
            case ir.Literal():
                pass
            case ir.LoopItem(loop=loop):
                if loop not in loops:
                    out.append(f"{where} reads the item of unknown loop {loop!r}")
            case ir.TaskOutput(task=task, output=output) | ir.Gathered(task=task, output=output):
                if task not in tasks:
                    out.append(f"{where} reads unknown task {task!r}")
                else:
                    step = steps.get(tasks[task].step)
                    if step is not None and output not in {o.name for o in step.outputs}:
                        out.append(f"{where} reads output {output!r}, which task {task!r} lacks")
                if isinstance(b, ir.Gathered) and b.loop not in loops:
                    out.append(f"{where} gathers over unknown loop {b.loop!r}")
            case ir.OneOf(options=opts):
                if len(opts) < 2:
                    out.append(f"{where} merges fewer than two branch values")
                for o in opts:
                    binding(where, o)

    for lp in p.loops:
        if lp.parent is not None and lp.parent not in loops:
            out.append(f"loop {lp.id!r} has unknown parent loop {lp.parent!r}")
        binding(f"loop {lp.id!r}", lp.items)
        if lp.parallelism is not None and lp.parallelism < 1:
            out.append(f"loop {lp.id!r} has parallelism {lp.parallelism}, below 1")
    out += _loop_cycles(loops)
    for t in p.tasks:
        where = f"task {t.id!r}"
        step = steps.get(t.step)
        if step is None:
            out.append(f"{where} calls unknown step {t.step!r}")
        if t.loop is not None and t.loop not in loops:
            out.append(f"{where} is in unknown loop {t.loop!r}")
        if t.hook not in (None, "exit", "failure"):
            out.append(f"{where} has unknown hook kind {t.hook!r}")
        if t.run not in ir.RUN_MODES:
            out.append(f"{where} has unknown run mode {t.run!r}")
        for a in t.after:
            if a not in tasks:
                out.append(f"{where} runs after unknown task {a!r}")
        names = {i.name for i in step.inputs} if step is not None else None
        for inp in t.inputs:
            if names is not None and inp.name not in names:
                out.append(f"{where} binds {inp.name!r}, which step {t.step!r} does not take")
            if inp.kind not in ("parameter", "artifact"):
                out.append(f"{where} input {inp.name!r} has unknown kind {inp.kind!r}")
            binding(f"{where} input {inp.name!r}", inp.binding)
        if t.condition is not None:
            for b in ir.condition_bindings(t.condition):
                binding(f"{where} condition", b)
    out += _duplicates("pipeline output", [o.name for o in p.outputs])
    for o in p.outputs:
        binding(f"pipeline output {o.name!r}", o.binding)
    position = {t.id: i for i, t in enumerate(p.tasks)}
    for e in p.edges:
        if e.source not in tasks or e.target not in tasks:
            out.append(f"edge {e.source!r} -> {e.target!r} names an unknown task")
        elif position[e.source] >= position[e.target]:
            out.append(f"edge {e.source!r} -> {e.target!r} goes against the task order")
        if e.kind not in ("data", "order", "condition", "loop"):
            out.append(f"edge {e.source!r} -> {e.target!r} has unknown kind {e.kind!r}")
    return out


def _duplicates(what: str, names: Iterable[str]) -> list[str]:
    return [f"{what} {n!r} appears {c} times" for n, c in sorted(Counter(names).items()) if c > 1]


def _loop_cycles(loops: dict[str, ir.Loop]) -> list[str]:
    out = []
    for start in sorted(loops):
        seen = {start}
        parent = loops[start].parent
        while parent is not None and parent in loops:
            if parent in seen:
                out.append(f"loop {start!r} is its own ancestor")
                break
            seen.add(parent)
            parent = loops[parent].parent
    return out
