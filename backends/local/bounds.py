"""Bounded fan-out on the local runner: `parallel(xs, limit=N)` runs at most N iterations at once.

An iteration of a loop is busy while any of its tasks runs (as a KFP
`ParallelFor(parallelism=N)` counts iterations); a node whose iteration is not
busy yet waits while N others are. Nested loops bound each level on its own,
per iteration of the loops around it.
"""

from __future__ import annotations

from collections.abc import Iterable

from portaflow.compiler import ir

from .plan import RUNNING, Node

#: (loop id, index of the enclosing iterations) -> busy iterations' indices.
Busy = dict[tuple[str, tuple[int, ...]], set[int]]


class LoopBounds:
    """Which queued nodes may start now without exceeding a loop's `parallelism`."""

    def __init__(self, pipeline: ir.Pipeline) -> None:
        self.pipeline = pipeline
        self.bounded = any(lp.parallelism is not None for lp in pipeline.loops)

    def _levels(self, node: Node) -> list[tuple[tuple[str, tuple[int, ...]], int, int]]:
        """(key, this iteration's index, limit) for every bounded loop around the node."""
        out = []
        chain = self.pipeline.loop_chain(node.task.loop)
        for depth, lp in enumerate(chain):
            if lp.parallelism is not None and depth < len(node.index):
                key = (lp.id, node.index[:depth])
                out.append((key, node.index[depth], lp.parallelism))
        return out

    def busy(self, nodes: Iterable[Node]) -> Busy:
        """The busy iterations of every bounded loop, from the nodes running now."""
        found: Busy = {}
        if not self.bounded:
            return found
        for node in nodes:
            if node.state == RUNNING:
                for key, i, _limit in self._levels(node):
                    found.setdefault(key, set()).add(i)
        return found

    def admit(self, node: Node, busy: Busy) -> bool:
        """Whether `node` may start; if so, its iterations count as busy from now on."""
        if not self.bounded:
            return True
        levels = self._levels(node)
        for key, i, limit in levels:
            running = busy.get(key, set())
            if i not in running and len(running) >= limit:
                return False
        for key, i, _limit in levels:
            busy.setdefault(key, set()).add(i)
        return True
