"""Merged branch values (`ir.OneOf`) in Argo `depends`: one arm's task is skipped by design.

A reader of a name assigned in every arm of an if/elif/else waits for every arm's
task to finish in any way (`after=`-like), and for one of them to have succeeded;
its argument is an expression that picks the arm that ran (scopes.py).
"""

from __future__ import annotations

from collections.abc import Callable

from portaflow.compiler import ir

from .scopes import Scopes


def merge_options(t: ir.Task) -> list[tuple[str, ...]]:
    """The arms' task ids of every merged branch value a task reads."""
    bindings = [b.binding for b in t.inputs]
    if t.condition is not None:
        bindings += ir.condition_bindings(t.condition)
    return [tuple(o.task for o in bd.options) for bd in bindings if isinstance(bd, ir.OneOf)]


def merge_only_pairs(p: ir.Pipeline) -> set[tuple[str, str]]:
    """(upstream, task) pairs where the task reads the upstream only through a merged value."""
    merged: set[tuple[str, str]] = set()
    strict: set[tuple[str, str]] = set()
    for t in p.tasks:
        bindings = [b.binding for b in t.inputs]
        if t.condition is not None:
            bindings += ir.condition_bindings(t.condition)
        for bd in bindings:
            into = merged if isinstance(bd, ir.OneOf) else strict
            into.update((src, t.id) for src in ir.binding_tasks(bd))
    return merged - strict


def ran_terms(
    p: ir.Pipeline, sc: Scopes, node_task_names: Callable[[str, str], list[str]]
) -> dict[tuple[str, str], set[str]]:
    """(group, node) -> `(a.Succeeded || b.Succeeded)` terms, one per merged value it reads."""
    ran: dict[tuple[str, str], set[str]] = {}
    for t in p.tasks:
        for opts in merge_options(t):
            if t.id not in sc.task_group or any(o not in sc.task_group for o in opts):
                continue
            found = sc.lca_nodes(opts[0], t.id)
            if found is None:
                continue
            gkey, _na, nb = found
            nodes = []
            for o in opts:
                arm = sc.lca_nodes(o, t.id)
                if arm is not None and arm[0] == gkey:
                    nodes += node_task_names(gkey, arm[1])
            terms = " || ".join(f"{n}.Succeeded" for n in sorted(set(nodes)))
            ran.setdefault((gkey, nb), set()).add(f"({terms})")
    return ran
