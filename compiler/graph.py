"""Topology of the IR: a read-only networkx view, and the stable order every consumer uses.

The IR stays the contract; the networkx graph is rebuilt on demand and never
serialised. `topological_order` and `find_cycle` are the two operations the
compile path needs; they are written here with heapq because importing
networkx costs more than compiling a 1000-step pipeline (measured: 0.3-0.8 s).
tests/test_graph.py holds them equal to networkx's
`lexicographical_topological_sort` and `find_cycle`.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

    from portaflow.compiler import ir


def to_networkx(pipeline: ir.Pipeline, *, include_hooks: bool = False) -> nx.MultiDiGraph[str]:
    """Tasks as nodes (with the Task in `task`), IR edges as keyed edges (kind as key)."""
    import networkx as nx

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
    """Lexicographic topological order (Kahn's algorithm, smallest ready id first).

    The same order as `networkx.lexicographical_topological_sort`; stable
    whatever order the input came in. Raises ValueError on a cycle.
    """
    indegree = dict.fromkeys(nodes, 0)
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in pairs:
        children[src].append(dst)
        indegree[dst] += 1
    ready = [n for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for child in children[n]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(indegree):
        raise ValueError("graph has a cycle")
    return order


def find_cycle(nodes: list[str], pairs: set[tuple[str, str]]) -> list[str] | None:
    """One cycle as a list of node ids, or None when the graph is a DAG."""
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in sorted(pairs):
        children[src].append(dst)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(children):
        if start in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            kids = children[node]
            if i < len(kids):
                stack.append((node, i + 1))
                kid = kids[i]
                if state.get(kid) == 1:
                    return path[path.index(kid) :]
                if kid not in state:
                    stack.append((kid, 0))
            else:
                state[node] = 2
                path.pop()
    return None
