"""The compile path's topology helpers agree with networkx; the networkx view matches the IR."""

from __future__ import annotations

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from pfhelpers import example_files
from portaflow.compiler import compile_file
from portaflow.compiler.graph import dependency_pairs, find_cycle, to_networkx, topological_order


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[str], set[tuple[str, str]]]:
    n = draw(st.integers(1, 25))
    nodes = [f"n{draw(st.integers(0, 999)):03d}_{i}" for i in range(n)]
    pairs = set()
    for _ in range(draw(st.integers(0, 3 * n))):
        a, b = draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))
        if a != b:
            pairs.add((a, b))
    return nodes, pairs


@given(graphs())
def test_order_and_cycles_match_networkx(graph: tuple[list[str], set[tuple[str, str]]]) -> None:
    nodes, pairs = graph
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(pairs)
    cycle = find_cycle(nodes, pairs)
    if nx.is_directed_acyclic_graph(g):
        assert cycle is None
        assert topological_order(nodes, pairs) == list(nx.lexicographical_topological_sort(g))
    else:
        assert cycle is not None
        ring = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
        assert all(edge in pairs for edge in ring)


def test_networkx_view_matches_ir() -> None:
    for path in example_files():
        p = compile_file(path)
        g = to_networkx(p)
        assert set(g.nodes) == {t.id for t in p.main_tasks}
        assert {(u, v) for u, v, _k in g.edges(keys=True)} == dependency_pairs(p)
        assert nx.is_directed_acyclic_graph(g)
