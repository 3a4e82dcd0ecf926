"""Airflow dependency statements (`a >> b`, `[a, b] >> c`, `b << a`, `chain(a, b, c)`) as edges.

https://airflow.apache.org/docs/apache-airflow/stable/core-concepts/dags.html#task-dependencies
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from portaflow.compiler.migrate.airflow_body import Inv, _Body


@dataclass(frozen=True)
class Edge:
    """`up` runs before `down`."""

    up: Inv
    down: Inv


def read_dependencies(b: _Body, value: cst.BaseExpression, index: int) -> list[Edge]:
    """The edges one dependency statement declares; task calls written in it are recorded."""
    inline = b.find_calls(value, index)
    b.inline[index] = inline
    edges: list[Edge] = []

    def operand(node: cst.BaseExpression) -> list[Inv]:
        if isinstance(node, cst.Name):
            inv = b.vars.get(node.value)
            if inv is None:
                b.m.report(
                    node,
                    "PF866",
                    f"`{node.value}` in a dependency is not the result of a task call",
                    "write dependencies between names assigned from task calls",
                )
                return []
            return [inv]
        if isinstance(node, cst.Call) and node in b.by_node:
            return [b.by_node[node]]
        if isinstance(node, (cst.List, cst.Tuple)):
            return [i for e in node.elements for i in operand(e.value)]
        if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.RightShift, cst.LeftShift)
        ):
            return walk(node)
        b.m.report(
            node,
            "PF866",
            "a dependency on something that is not a task call",
            "write dependencies between names assigned from task calls",
        )
        return []

    def walk(node: cst.BinaryOperation) -> list[Inv]:
        left = operand(node.left)
        right = operand(node.right)
        if isinstance(node.operator, cst.RightShift):
            edges.extend(Edge(u, d) for u in left for d in right)
        else:
            edges.extend(Edge(u, d) for u in right for d in left)
        return right

    if isinstance(value, cst.BinaryOperation):
        walk(value)
    elif isinstance(value, cst.Call):
        groups = [operand(a.value) for a in value.args]
        for ups, downs in pairwise(groups):
            if len(ups) > 1 and len(downs) > 1 and len(ups) == len(downs):
                edges.extend(Edge(u, d) for u, d in zip(ups, downs, strict=True))
            else:
                edges.extend(Edge(u, d) for u in ups for d in downs)
    return edges
