"""Nesting of the pipeline into KFP DAG components, and how a value is named inside each.

As kfp's own compiler does (https://www.kubeflow.org/docs/components/pipelines/user-guides/core-functions/control-flow/),
every loop body (`dsl.ParallelFor`), condition (`dsl.If`), sub-pipeline call and the
exit handler's body (`dsl.ExitHandler`) is a DAG component of its own (a *group*), run by
one task of its parent DAG. A value produced in one group and read in another travels
through DAG inputs (`componentInputParameter`, down) and DAG outputs
(`valueFromParameter` / `artifactSelectors`, up); a loop's DAG output is the list of its
iterations' values (`dsl.Collected`).

Channel names follow kfp's `pipelinechannel--` convention, in the forms `kfp.local`
resolves when it evaluates conditions and iterator items: `pipelinechannel--PARAM`,
`pipelinechannel--TASK-Output` (the default output), `pipelinechannel--TASK--OUTPUT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from typing import Literal as L

from portaflow.backends.grouptree import GroupTree
from portaflow.compiler import ir

from . import codes
from .kfptypes import Namer, artifact_type, element_type, output_key, param_type, value_type

#: ("param", name) | ("out", task, output) | ("gathered", task, output, loop) | ("item", loop)
#: | ("oneof", task, output, task, output, ...) for a merged branch value.
Source = tuple[str, ...]
Kind = L["parameter", "artifact"]
#: (group key, kind, raw name, loop, condition): one level of a task's nesting.
_Link = tuple[str, str, str, ir.Loop | None, ir.Condition | None]
Obj = dict[str, Any]
ROOT = ""
HANDLER = "handler"
PREFIX = "pipelinechannel--"


@dataclass(slots=True)
class Group:
    """One DAG component: the pipeline, the exit handler's body, a loop, a condition or a call."""

    key: str
    kind: L["root", "handler", "loop", "cond", "branches", "sub"]
    parent: str | None
    depth: int
    #: Task name in the parent DAG ("" for the root); the component is `comp-<name>`.
    name: str
    loop: ir.Loop | None = None
    condition: ir.Condition | None = None
    #: Node keys (task ids and child group keys) of this DAG, in first-seen order.
    nodes: list[str] = field(default_factory=list)
    #: (source, kind) -> input name, and input name -> its definition.
    imports: dict[tuple[Source, Kind], str] = field(default_factory=dict)
    input_defs: dict[str, tuple[Kind, Obj]] = field(default_factory=dict)
    #: (source, kind) -> output name, and output name -> (kind, definition, DAG output spec).
    exports: dict[tuple[Source, Kind], str] = field(default_factory=dict)
    output_defs: dict[str, tuple[Kind, Obj, Obj]] = field(default_factory=dict)


class Groups(GroupTree):
    """The groups of a pipeline, node names, and value resolution between groups."""

    def __init__(self, p: ir.Pipeline) -> None:
        self.p = p
        self.namer = Namer()
        self.groups: dict[str, Group] = {ROOT: Group(ROOT, "root", None, 0, "")}
        self.task_group: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self._counter = 0
        #: Home group -> merged-value source -> its number (`...-oneof-1`).
        self._oneofs: dict[str, dict[Source, int]] = {}
        #: Errors found while resolving values: (code, message, span, hint).
        self.problems: list[tuple[str, str, ir.Span | None, str]] = []
        subs = {s.id: s for s in p.subpipelines}
        top = ROOT
        if p.hooks:
            self._group(HANDLER, "handler", ROOT, "exit-handler")
            top = HANDLER
        chains = {t.id: self._chain(t, subs, top) for t in p.tasks if t.hook is None}
        plans = _plans(p, chains, top)
        # How many distinct branches hang off each (parent group, enclosing branches, head):
        # more than one is an if/elif/else chain, wrapped as kfp wraps dsl.If/Elif/Else.
        self._branches: dict[tuple[str, tuple[str, ...], str], set[str]] = {}
        for plan in plans.values():
            for item in plan:
                if isinstance(item, _CondStep):
                    key = (item.parent, item.prefix, repr(item.head))
                    self._branches.setdefault(key, set()).add(repr(item.conj))
        for t in p.tasks:
            if t.hook is not None:
                self._place(t, ROOT)
                continue
            parent = top
            for gkey, kind, raw, loop, cond in self._expand(plans[t.id]):
                if gkey not in self.groups:
                    g = self._group(gkey, kind, parent, raw)
                    g.loop, g.condition = loop, cond
                parent = gkey
            self._place(t, parent)

    def _expand(self, plan: list[_Link | _CondStep]) -> list[_Link]:
        """A task's nesting as groups: its loops and calls, with each condition wrapped
        in an if/elif/else group where its chain has several branches."""
        out: list[_Link] = []
        for item in plan:
            if not isinstance(item, _CondStep):
                out.append(item)
                continue
            base, prefix = item.parent, item.prefix
            if len(self._branches[(base, prefix, repr(item.head))]) > 1:
                key = f"branches:{base}|{prefix!r}|{item.head!r}"
                out.append((key, "branches", "condition-branches", None, None))
            conj = item.conj
            cond = conj[0] if len(conj) == 1 else ir.All(operands=conj)
            out.append((f"cond:{base}|{(*prefix, repr(conj))!r}", "cond", "condition", None, cond))
        return out

    def _group(self, key: str, kind: Any, parent: str, raw: str) -> Group:
        if kind in ("loop", "cond", "handler", "branches"):
            self._counter += 1
            raw = f"{raw}-{self._counter}"
        pg = self.groups[parent]
        g = Group(key, kind, parent, pg.depth + 1, self.namer.name(raw))
        self.groups[key] = g
        pg.nodes.append(key)
        self.names[key] = g.name
        return g

    def _place(self, t: ir.Task, gkey: str) -> None:
        self.task_group[t.id] = gkey
        self.groups[gkey].nodes.append(t.id)
        self.names[t.id] = self.namer.name(t.id)

    def _chain(self, t: ir.Task, subs: dict[str, ir.SubPipeline], top: str) -> list[_Link]:
        # Sub-pipeline calls nest in `t.scope` order; a loop sits inside exactly the calls
        # in its own scope (a prefix of the task's).
        keyed: list[tuple[tuple[int, int], tuple[str, str, str, ir.Loop | None, None]]] = []
        for i, s in enumerate(t.scope):
            raw = subs[s].pipeline if s in subs else s
            keyed.append(((i, 1), (f"sub:{s}", "sub", raw, None, None)))
        for lp in self.p.loop_chain(t.loop):
            keyed.append(((len(lp.scope), 0), (f"loop:{lp.id}", "loop", "for-loop", lp, None)))
        keyed.sort(key=lambda kv: kv[0])
        return [v for _k, v in keyed]

    # ------------------------------------------------------------------ structure

    # ------------------------------------------------------------------ names and types

    def channel(self, src: Source) -> str:
        """The input/output name a value has wherever it crosses a DAG boundary."""
        tag = src[0]
        if tag == "param":
            return PREFIX + src[1]
        if tag == "item":
            return f"{PREFIX}{self.names['loop:' + src[1]]}-item"
        if tag == "oneof":
            home = self.oneof_home(src)
            n = self._oneofs.setdefault(home, {}).setdefault(src, len(self._oneofs[home]) + 1)
            return f"{PREFIX}{self.names.get(home, 'root')}-oneof-{n}"
        key = output_key(src[2])
        base = f"{PREFIX}{self.names[src[1]]}"
        base = f"{base}-Output" if key == "Output" else f"{base}--{key}"
        if tag == "gathered":
            return f"{base}-{self.names['loop:' + src[3]]}"
        return base

    def source_type(self, src: Source) -> str:
        """The IR type of a value source."""
        tag = src[0]
        if tag == "param":
            return next(prm.type.type for prm in self.p.params if prm.name == src[1])
        if tag == "oneof":
            return self.source_type(("out", src[1], src[2]))
        if tag == "item":
            items = self.p.loop(src[1]).items
            if isinstance(items, ir.Literal):
                vals = items.value if isinstance(items.value, list) else []
                kinds = {value_type(v) for v in vals}
                return kinds.pop() if len(kinds) == 1 else "any"
            if isinstance(items, ir.LoopItem):
                return "any"
            return element_type(self.binding_type(items))
        step = self.p.step(self.p.task(src[1]).step)
        typ = next((o.type.type for o in step.outputs if o.name == src[2]), "any")
        return f"list[{typ}]" if tag == "gathered" else typ

    def binding_type(self, b: ir.Binding) -> str:
        src = self.source(b)
        if src is None:
            return value_type(b.value) if isinstance(b, ir.Literal) else "any"
        if isinstance(b, ir.LoopItem) and b.path:
            return "any"
        return self.source_type(src)

    def definition(self, src: Source, kind: Kind, *, listed: bool = False) -> Obj:
        """An input/output definition for a value of `src` (a list of it when `listed`)."""
        typ = self.source_type(src)
        if kind == "parameter":
            return {"parameterType": "LIST" if listed else param_type(typ)}
        if src[0] == "gathered":
            typ, listed = element_type(typ), True
        d: Obj = {"artifactType": artifact_type(typ)}
        if listed:
            d["isArtifactList"] = True
        return d

    @staticmethod
    def source(b: ir.Binding) -> Source | None:
        """The value source of a binding; None for literals."""
        match b:
            case ir.ParamRef(param=name):
                return ("param", name)
            case ir.TaskOutput(task=task, output=out):
                return ("out", task, out)
            case ir.Gathered(task=task, output=out, loop=loop):
                return ("gathered", task, out, loop)
            case ir.LoopItem(loop=loop):
                return ("item", loop)
            case ir.OneOf(options=opts):
                return ("oneof", *(x for o in opts for x in (o.task, o.output)))
            case ir.Literal():
                return None
        raise AssertionError(b)  # pragma: no cover

    # ------------------------------------------------------------------ resolution

    def resolve(self, gkey: str, src: Source, kind: Kind) -> Obj:
        """The task input spec that reads `src` inside the DAG of group `gkey`."""
        tag = src[0]
        if tag == "param":
            if gkey == ROOT:
                return {"componentInputParameter": src[1]}
            return self._import(gkey, src, kind)
        if tag == "item":
            if gkey == f"loop:{src[1]}":
                return {"componentInputParameter": self.channel(src)}
            return self._import(gkey, src, kind)
        if tag == "out":
            pg = self.task_group[src[1]]
            if pg == gkey:
                return _producer(self.names[src[1]], output_key(src[2]), kind)
            child = self.child_towards(gkey, pg)
            if child is not None and not self.loops_between(gkey, pg):
                return _producer(self.names[child], self._export(child, src, kind), kind)
            return self._import(gkey, src, kind)
        if tag == "oneof":
            # As kfp compiles `dsl.OneOf`: an output of the condition-branches DAG that
            # takes the value of whichever branch ran (`valueFromOneof`).
            home = self.oneof_home(src)
            parent = self.groups[home].parent
            if parent is None:  # not under one if/elif/else: reported by oneof_home
                return {"runtimeValue": {"constant": None}}
            if parent == gkey:
                return _producer(self.names[home], self._export_oneof(home, src, kind), kind)
            child = self.child_towards(gkey, parent)
            if child is not None and not self.loops_between(gkey, parent):
                return _producer(self.names[child], self._export(child, src, kind), kind)
            return self._import(gkey, src, kind)
        if tag == "gathered":
            lkey = f"loop:{src[3]}"
            parent = self.groups[lkey].parent
            assert parent is not None
            if parent == gkey:
                inner = self._inner_source(lkey, src[1], src[2])
                return _producer(self.names[lkey], self._export(lkey, inner, kind), kind)
            child = self.child_towards(gkey, parent)
            if child is not None and not self.loops_between(gkey, parent):
                return _producer(self.names[child], self._export(child, src, kind), kind)
            return self._import(gkey, src, kind)
        raise AssertionError(src)  # pragma: no cover

    def oneof_home(self, src: Source) -> str:
        """The condition-branches group whose branches hold every option of a merged value."""
        tasks = list(src[1::2])
        common = self.ancestors(self.task_group[tasks[0]])
        for t in tasks[1:]:
            mine = set(self.ancestors(self.task_group[t]))
            common = [g for g in common if g in mine]
        home = common[0] if common else ROOT
        if self.groups[home].kind != "branches":
            self.problems.append(
                (
                    codes.MERGE_SCOPE,
                    "KFP cannot merge these branch values: the arms' steps are not the "
                    f"branches of one dsl.If/Elif/Else (tasks {', '.join(tasks)})",
                    self.p.task(tasks[0]).span,
                    "call a step directly in each arm, and test one comparison per arm (KFP "
                    "nests `and` and chained comparisons as conditions inside the branch): "
                    "compute the decision in a step, `if decide(x):`",
                )
            )
            return ROOT
        return home

    def _export_oneof(self, home: str, src: Source, kind: Kind) -> str:
        g = self.groups[home]
        key = (src, kind)
        if key not in g.exports:
            name = self.channel(src)
            g.exports[key] = name
            plural = "parameterSelectors" if kind == "parameter" else "artifactSelectors"
            selectors = []
            for task, out in zip(src[1::2], src[2::2], strict=True):
                spec = self.resolve(home, ("out", task, out), kind)
                prod = spec["taskOutputParameter" if kind == "parameter" else "taskOutputArtifact"]
                selectors.append(
                    {
                        (
                            "outputParameterKey" if kind == "parameter" else "outputArtifactKey"
                        ): prod[
                            "outputParameterKey" if kind == "parameter" else "outputArtifactKey"
                        ],
                        "producerSubtask": prod["producerTask"],
                    }
                )
            spec_out: Obj = (
                {"valueFromOneof": {plural: selectors}}
                if kind == "parameter"
                else {plural: selectors}
            )
            g.output_defs[name] = (kind, self.definition(src, kind), spec_out)
        return g.exports[key]

    def _inner_source(self, lkey: str, task: str, output: str) -> Source:
        below = self.loops_between(lkey, self.task_group[task])
        if not below:
            return ("out", task, output)
        return ("gathered", task, output, below[-1][5:])

    def _export(self, gkey: str, src: Source, kind: Kind) -> str:
        g = self.groups[gkey]
        key = (src, kind)
        if key not in g.exports:
            name = self.channel(src)
            g.exports[key] = name
            spec = self.resolve(gkey, src, kind)
            listed = g.kind == "loop"
            if kind == "parameter":
                prod = spec["taskOutputParameter"]
                out: Obj = {
                    "valueFromParameter": {
                        "outputParameterKey": prod["outputParameterKey"],
                        "producerSubtask": prod["producerTask"],
                    }
                }
            else:
                prod = spec["taskOutputArtifact"]
                out = {
                    "artifactSelectors": [
                        {
                            "outputArtifactKey": prod["outputArtifactKey"],
                            "producerSubtask": prod["producerTask"],
                        }
                    ]
                }
            g.output_defs[name] = (kind, self.definition(src, kind, listed=listed), out)
        return g.exports[key]

    def _import(self, gkey: str, src: Source, kind: Kind) -> Obj:
        g = self.groups[gkey]
        key = (src, kind)
        if key not in g.imports:
            if g.kind == "root":
                raise AssertionError(f"cannot import {src} into the root DAG")
            name = self.channel(src)
            g.imports[key] = name
            g.input_defs[name] = (kind, self.definition(src, kind))
        if kind == "parameter":
            return {"componentInputParameter": g.imports[key]}
        return {"componentInputArtifact": g.imports[key]}


@dataclass(frozen=True, slots=True)
class _CondStep:
    """One `if` branch a task sits in, opened inside group `parent`."""

    parent: str
    #: The branches (repr of their conjuncts) already opened inside `parent`.
    prefix: tuple[str, ...]
    head: ir.Condition
    conj: tuple[ir.Condition, ...]


def _plans(
    p: ir.Pipeline, chains: dict[str, list[_Link]], top: str
) -> dict[str, list[_Link | _CondStep]]:
    """Each task's loops, calls and condition branches, outermost first.

    A branch goes outside a loop or call when it encloses it in the source, as kfp
    compiles a `dsl.ParallelFor` inside a `dsl.If`: the branches every task of the loop
    (or call) sits in, except those that read an item of a loop inside it. Nesting the
    loop inside its branch keeps an `after=` between the loop and its branch's other
    tasks inside one DAG (no cycle through the parent DAG).
    """
    steps: dict[str, list[tuple[ir.Condition, tuple[ir.Condition, ...]]]] = {}
    for tid in chains:
        cond = p.task(tid).condition
        steps[tid] = _steps(cond) if cond is not None else []
    _split_nested(steps)
    keys = {tid: [repr(s) for s in st] for tid, st in steps.items()}
    hoist: dict[str, int] = {}
    members: dict[str, list[str]] = {}
    inner_loops: dict[str, set[str]] = {}
    for tid, chain in chains.items():
        for i, link in enumerate(chain):
            members.setdefault(link[0], []).append(tid)
            below = inner_loops.setdefault(link[0], set())
            below.update(lk[0][5:] for lk in chain[i:] if lk[1] == "loop")
    for gkey, tids in members.items():
        n = min(len(keys[tid]) for tid in tids)
        first = keys[tids[0]]
        for tid in tids[1:]:
            k = keys[tid]
            n = next((i for i in range(n) if k[i] != first[i]), n)
        st = steps[tids[0]]
        n = next(
            (i for i in range(n) if _items_read(st[i][0]) & inner_loops[gkey]),
            n,
        )
        hoist[gkey] = n
    plans: dict[str, list[_Link | _CondStep]] = {}
    for tid, chain in chains.items():
        plan: list[_Link | _CondStep] = []
        parent, done = top, 0
        prefix: tuple[str, ...] = ()
        links: list[_Link | None] = [*chain, None]
        for nxt in links:
            n = len(steps[tid]) if nxt is None else hoist[nxt[0]]
            for head, conj in steps[tid][done:n]:
                plan.append(_CondStep(parent, prefix, head, conj))
                prefix = (*prefix, repr(conj))
            done = n
            if nxt is not None:
                plan.append(nxt)
                parent, prefix = nxt[0], ()
        plans[tid] = plan
    return plans


def _split_nested(steps: dict[str, list[tuple[ir.Condition, tuple[ir.Condition, ...]]]]) -> None:
    """Tell `if not a:` + a nested `if b:` from `elif b:`: both are `!(a) && b` in the IR.

    The branches of one if/elif/else exclude each other, so when one task's branch is
    `!(a)` and another's, at the same place, is `!(a) && ...`, the longer one is not a
    sibling arm: it is nested inside the `!(a)` branch (as `dsl.If` in a `dsl.If`, or in
    a `dsl.Else`), and its rest becomes the inner branches. Without this the reader of a
    merged value after the inner if/else lands inside the condition-branches DAG whose
    output it reads (a cycle).
    """
    changed = True
    while changed:
        changed = False
        # (outer branches, head) -> the conjunct tuples of tasks at that place.
        seen: dict[tuple[tuple[str, ...], str], list[tuple[ir.Condition, ...]]] = {}
        for st in steps.values():
            for i, (head, conj) in enumerate(st):
                seen.setdefault((tuple(repr(s) for s in st[:i]), repr(head)), []).append(conj)
        for tid, st in steps.items():
            for i, (head, conj) in enumerate(st):
                place = (tuple(repr(s) for s in st[:i]), repr(head))
                outer = [c for c in seen[place] if len(c) < len(conj) and conj[: len(c)] == c]
                if outer:
                    c = max(outer, key=len)
                    rest = conj[len(c) :]
                    inner = _steps(rest[0] if len(rest) == 1 else ir.All(operands=rest))
                    steps[tid] = [*st[:i], (head, c), *inner, *st[i + 1 :]]
                    changed = True
                    break


def _items_read(cond: ir.Condition) -> set[str]:
    """The loops whose item a condition reads."""
    match cond:
        case ir.Truthy(value=v):
            vals: tuple[ir.Binding, ...] = (v,)
        case ir.Compare(left=a, right=b):
            vals = (a, b)
        case ir.Not(operand=op):
            return _items_read(op)
        case ir.All(operands=ops) | ir.Any(operands=ops):
            return set().union(*(_items_read(op) for op in ops))
        case _:  # pragma: no cover
            raise AssertionError(cond)
    return {v.loop for v in vals if isinstance(v, ir.LoopItem)}


def _flatten(cond: ir.Condition) -> list[ir.Condition]:
    if isinstance(cond, ir.All):
        return [c for op in cond.operands for c in _flatten(op)]
    return [cond]


def _steps(cond: ir.Condition) -> list[tuple[ir.Condition, tuple[ir.Condition, ...]]]:
    """A condition as nested branches: (head, conjuncts) from the outermost `if` inward.

    `and` and nested `if`s are both conjunctions in the IR and become nested condition
    DAGs, as `dsl.If` inside `dsl.If`. A run of negations plus the positive conjunct after
    it is one `elif` (`!(a) && b`) or `else` (`!(a) && !(b)`) branch of the chain headed by
    the first negated condition.
    """
    flat = _flatten(cond)
    out: list[tuple[ir.Condition, tuple[ir.Condition, ...]]] = []
    i = 0
    while i < len(flat):
        c = flat[i]
        if isinstance(c, ir.Not):
            j = i
            while j < len(flat) and isinstance(flat[j], ir.Not):
                j += 1
            if j < len(flat):
                j += 1
            out.append((c.operand, tuple(flat[i:j])))
            i = j
        else:
            out.append((c, (c,)))
            i += 1
    return out


def _producer(task: str, key: str, kind: Kind) -> Obj:
    if kind == "parameter":
        return {"taskOutputParameter": {"outputParameterKey": key, "producerTask": task}}
    return {"taskOutputArtifact": {"outputArtifactKey": key, "producerTask": task}}
