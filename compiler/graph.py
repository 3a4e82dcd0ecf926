"""A read-only networkx view of the IR, for topology, cycle checks and drawing.

The IR stays the contract; this graph is rebuilt on demand and never
serialised. Order with `topological_order` so every consumer sees one stable
order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from portaflow.compiler import ir


def to_networkx(pipeline: ir.Pipeline, *, include_hooks: bool = False) -> nx.MultiDiGraph[str]:
    """Tasks as nodes (with the Task in `task`), IR edges as keyed edges (kind as key)."""
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph(name=pipeline.name)
    for t in pipeline.tasks:
        if t.hook is None or include_hooks:
            g.add_node(t.id, task=t)
    for e in pipeline.edges:
        if e.source in g and e.target in g:
            g.add_edge(e.source, e.target, key=e.kind, labels=e.labels)
    return g


def dependency_pairs(pipeline: ir.Pipeline) -> set[tuple[str, str]]:
    """The (upstream, downstream) task-id pairs of the DAG, whatever the edge kind."""
    return {(e.source, e.target) for e in pipeline.edges}


def topological_order(nodes: list[str], pairs: set[tuple[str, str]]) -> list[str]:
    """Lexicographic topological order: stable whatever order the input came in."""
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(pairs)
    return list(nx.lexicographical_topological_sort(g))


def find_cycle(nodes: list[str], pairs: set[tuple[str, str]]) -> list[str] | None:
    """One cycle as a list of node ids, or None when the graph is a DAG."""
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(pairs)
    try:
        cyc = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return None
    return [u for u, _v in cyc]
