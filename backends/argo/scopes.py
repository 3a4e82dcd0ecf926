"""Nesting of the pipeline into Argo DAG templates, and how a value is named inside each.

Every loop body and every sub-pipeline call becomes its own DAG template (a *group*),
called from its parent group by one DAG task (`withItems`/`withParam` for loops). A value
produced in one group and read in another travels through template inputs (down) and
template outputs (up); loop outputs read outside the loop are Argo's aggregated outputs
(https://argo-workflows.readthedocs.io/en/latest/walk-through/loops/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as L

from portaflow.backends.grouptree import GroupTree
from portaflow.compiler import ir

from . import codes, loops, names, values

#: A value source: ("out", task, output) | ("gathered", task, output, loop) | ("item", loop, path...)
#: | ("oneof", task, output, task, output, ...) for a merged branch value.
Source = tuple[str, ...]
Kind = L["parameter", "artifact"]
ROOT = ""


@dataclass(slots=True)
class Group:
    """One DAG template: the pipeline itself, a loop body, a sub-pipeline call or the exit handler."""

    key: str
    kind: L["root", "loop", "sub", "exit"]
    parent: str | None
    depth: int
    span: ir.Span
    #: IR loop, for loop groups.
    loop: ir.Loop | None = None
    #: Literal items when the loop is unrolled (artifact fan-in), else None.
    unrolled: list[ir.JSONValue] | None = None
    #: Ordered node keys (task ids and child group keys) of this DAG.
    nodes: list[str] = field(default_factory=list)
    #: Node key -> DAG task name, after `name_nodes`.
    node_names: dict[str, str] = field(default_factory=dict)
    imports: dict[tuple[Source, Kind], str] = field(default_factory=dict)
    exports: dict[tuple[Source, Kind], tuple[str, str | None, str | None]] = field(
        default_factory=dict
    )


@dataclass(frozen=True, slots=True)
class Ref:
    """A value as seen from one group: a simple variable path, or an expr producing JSON text."""

    path: tuple[str, ...] | None
    expr: str

    @property
    def tag(self) -> str:
        """The Argo template tag for this value."""
        if self.path is not None:
            return "{{" + ".".join(self.path) + "}}"
        return "{{=" + self.expr + (" }}" if self.expr.endswith("}") else "}}")


def path_ref(*path: str) -> Ref:
    return Ref(path=path, expr=values.expr_var(*path))


class Scopes(GroupTree):
    """Groups of a pipeline and value resolution between them."""

    def __init__(
        self, pipeline: ir.Pipeline, errors: list[tuple[str, str, ir.Span | None, str]]
    ) -> None:
        self.p = pipeline
        self.errors = errors
        self.groups: dict[str, Group] = {ROOT: Group(ROOT, "root", None, 0, pipeline.span)}
        self.task_group: dict[str, str] = {}
        subs = {s.id: s for s in pipeline.subpipelines}
        for t in pipeline.tasks:
            if t.hook is not None:
                if "exit" not in self.groups:
                    self.groups["exit"] = Group("exit", "exit", None, 0, pipeline.span)
                self.task_group[t.id] = "exit"
                self.groups["exit"].nodes.append(t.id)
                continue
            chain = self._chain(t, subs)
            parent = ROOT
            for depth, (gkey, span, loop) in enumerate(chain, start=1):
                if gkey not in self.groups:
                    self.groups[gkey] = Group(
                        gkey, "loop" if loop else "sub", parent, depth, span, loop=loop
                    )
                    self.groups[parent].nodes.append(gkey)
                parent = gkey
            self.task_group[t.id] = parent
            self.groups[parent].nodes.append(t.id)

    def _chain(
        self, t: ir.Task, subs: dict[str, ir.SubPipeline]
    ) -> list[tuple[str, ir.Span, ir.Loop | None]]:
        # Sub-pipeline calls nest in `t.scope` order; a loop sits inside exactly the calls
        # listed in its own scope (a prefix of the task's), so sort on that prefix length.
        keyed: list[tuple[tuple[int, int], tuple[str, ir.Span, ir.Loop | None]]] = []
        for i, s in enumerate(t.scope):
            span = subs[s].span if s in subs else t.span
            keyed.append(((i, 1), (f"sub:{s}", span, None)))
        for lp in self.p.loop_chain(t.loop):
            if lp.parallelism is not None:
                # `parallelism` bounds a template's children, so a bounded loop is called
                # from a DAG of its own (`bound:`) that holds only the loop's task.
                keyed.append(((len(lp.scope), 0), (f"bound:{lp.id}", lp.span, None)))
            keyed.append(((len(lp.scope), 0), (f"loop:{lp.id}", lp.span, lp)))
        keyed.sort(key=lambda kv: kv[0])
        return [v for _k, v in keyed]

    # ------------------------------------------------------------------ structure

    # ------------------------------------------------------------------ resolution

    def resolve(self, gkey: str, src: Source, kind: Kind) -> Ref:
        """How `src` is read inside the template of group `gkey`."""
        plural = "parameters" if kind == "parameter" else "artifacts"
        g = self.groups[gkey]
        tag = src[0]
        if tag == "item":
            loop_key = f"loop:{src[1]}"
            if gkey != loop_key:
                return self._import(gkey, src, kind)
            return Ref(path=None, expr=loops.item_expr(tuple(src[2:])))
        if tag == "out":
            tg = self.task_group[src[1]]
            if tg == gkey:
                return path_ref("tasks", g.node_names[src[1]], "outputs", plural, src[2])
            child = self.child_towards(gkey, tg)
            if child is not None and not self.loops_between(gkey, tg):
                name = self._export(child, src, kind)
                return path_ref("tasks", g.node_names[child], "outputs", plural, name)
            return self._import(gkey, src, kind)
        if tag == "oneof":
            home = self._oneof_home(src)
            if home is None:
                return Ref(path=None, expr="''")
            if home == gkey:
                return Ref(path=None, expr=self._oneof_expr(g, src, plural))
            child = self.child_towards(gkey, home)
            if child is not None and not self.loops_between(gkey, home):
                name = self._export(child, src, kind)
                return path_ref("tasks", g.node_names[child], "outputs", plural, name)
            return self._import(gkey, src, kind)
        if tag == "gathered":
            loop_key = f"loop:{src[3]}"
            parent = self.groups[loop_key].parent
            assert parent is not None
            if parent == gkey:
                return self._aggregate(gkey, loop_key, src, kind)
            child = self.child_towards(gkey, parent)
            if child is not None and not self.loops_between(gkey, parent):
                name = self._export(child, src, kind)
                return path_ref("tasks", g.node_names[child], "outputs", plural, name)
            return self._import(gkey, src, kind)
        raise AssertionError(src)

    def _oneof_home(self, src: Source) -> str | None:
        """The group whose DAG holds every arm's task of a merged branch value (None: none)."""
        homes = {self.task_group[t] for t in src[1::2]}
        if len(homes) != 1:
            self.errors.append(
                (
                    codes.MERGE_SCOPE,
                    "Argo cannot merge branch values made in different sub-pipelines or loops "
                    f"(tasks {', '.join(src[1::2])})",
                    self.p.task(src[1]).span,
                    "call the steps that assign the merged name directly in the if/elif/else arms",
                )
            )
            return None
        return homes.pop()

    @staticmethod
    def _oneof_expr(g: Group, src: Source, plural: str) -> str:
        """The arm that ran: the first option whose task did not get skipped (expr's ternary
        is lazy, so a skipped task's missing output is never looked up)."""
        opts = [(src[i], src[i + 1]) for i in range(1, len(src), 2)]
        *tests, (last_task, last_out) = opts
        expr = values.expr_var("tasks", g.node_names[last_task], "outputs", plural, last_out)
        for task, out in reversed(tests):
            node = g.node_names[task]
            status = values.expr_var("tasks", node, "status")
            var = values.expr_var("tasks", node, "outputs", plural, out)
            expr = f"({status} == 'Succeeded' ? {var} : {expr})"
        return expr

    def inner_source(self, loop_key: str, task: str, output: str) -> Source:
        """What one iteration of `loop_key` yields for a task output inside it."""
        below = self.loops_between(loop_key, self.task_group[task])
        if not below:
            return ("out", task, output)
        inner = below[-1]  # the outermost loop under this one
        return ("gathered", task, output, inner[5:])

    def _aggregate(self, gkey: str, loop_key: str, src: Source, kind: Kind) -> Ref:
        lg = self.groups[loop_key]
        inner = self.inner_source(loop_key, src[1], src[2])
        name = self._export(loop_key, inner, kind)
        node = self.groups[gkey].node_names[loop_key]
        if lg.unrolled is not None:
            n = len(lg.unrolled)
            if kind == "artifact":
                raise AssertionError("use artifact_list for gathered artifacts")
            parts = [
                values.expr_var("tasks", f"{node}-{i}", "outputs", "parameters", name)
                for i in range(n)
            ]
            return Ref(path=None, expr=loops.fan_in("[" + ", ".join(parts) + "]"))
        if kind == "artifact":
            self.errors.append(
                (
                    "PF505",
                    "Argo cannot gather artifacts over a list known only at run time",
                    lg.span,
                    "loop over a literal list, or return a parameter (e.g. a URI string) and gather that",
                )
            )
            return Ref(path=None, expr="")
        var = values.expr_var("tasks", node, "outputs", "parameters", name)
        return Ref(path=None, expr=loops.fan_in(values.decode(var)))

    def artifact_list(self, gkey: str, src: Source) -> list[Ref]:
        """A gathered artifact as one reference per iteration of its unrolled loop.

        Read from a group holding the loop's parent through groups that are not loops (a
        bounded loop's `bound:` wrapper DAG, sub-pipeline calls), each of those exports every
        iteration's artifact as an output of its own, one level at a time.
        """
        loop_key = f"loop:{src[3]}"
        lg = self.groups[loop_key]
        if lg.unrolled is None:
            return []  # reported by the emitter (ARTIFACT_FAN_IN)
        assert lg.parent is not None
        if lg.parent == gkey:
            inner = self.inner_source(loop_key, src[1], src[2])
            name = self._export(loop_key, inner, "artifact")
            node = self.groups[gkey].node_names[loop_key]
            return [
                path_ref("tasks", f"{node}-{i}", "outputs", "artifacts", name)
                for i in range(len(lg.unrolled))
            ]
        child = self.child_towards(gkey, lg.parent)
        if child is None or self.loops_between(gkey, lg.parent):
            self.errors.append(
                (
                    "PF505",
                    "Argo cannot pass a gathered list of artifacts into a nested scope",
                    lg.span,
                    "gather the artifacts in the same scope as the loop",
                )
            )
            return []
        cg = self.groups[child]
        node = self.groups[gkey].node_names[child]
        out = []
        for i, ref in enumerate(self.artifact_list(child, src)):
            key: tuple[Source, Kind] = (("iteration", *src, str(i)), "artifact")
            if key not in cg.exports:
                name = names.param_name(f"{src[1]}-{src[2]}-{i}".replace(".", "-"))
                if name in {v[0] for v in cg.exports.values()}:
                    name = f"{name}-{names.short_hash(repr(key))}"
                cg.exports[key] = (name, ref.tag, ref.expr)
            out.append(path_ref("tasks", node, "outputs", "artifacts", cg.exports[key][0]))
        return out

    def _export(self, gkey: str, src: Source, kind: Kind) -> str:
        g = self.groups[gkey]
        key = (src, kind)
        if key not in g.exports:
            name = names.param_name("-".join(s for s in src[1:3]).replace(".", "-"))
            taken = {v[0] for v in g.exports.values()}
            if name in taken:
                name = f"{name}-{names.short_hash(repr(src))}"
            ref = self.resolve(gkey, src, kind)
            g.exports[key] = (name, ref.tag if ref.path is not None else None, ref.expr)
        return g.exports[key][0]

    def _import(self, gkey: str, src: Source, kind: Kind) -> Ref:
        g = self.groups[gkey]
        key = (src, kind)
        if key not in g.imports:
            if g.kind in ("root", "exit"):
                raise AssertionError(f"cannot import {src} into {gkey}")
            if kind == "artifact" and src[0] == "gathered":
                self.errors.append(
                    (
                        "PF505",
                        "Argo cannot pass a gathered list of artifacts into a nested scope",
                        g.span,
                        "gather the artifacts in the same scope as the loop",
                    )
                )
            raw = "-".join(s for s in src[1:] if s).replace(".", "-") or "item"
            name = names.param_name(f"in-{raw}")
            if name in g.imports.values():
                name = f"{name}-{names.short_hash(repr(src))}"
            g.imports[key] = name
        plural = "parameters" if kind == "parameter" else "artifacts"
        return path_ref("inputs", plural, g.imports[key])
