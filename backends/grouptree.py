"""Navigation in a tree of nested DAGs (loops, conditions, sub-pipelines) that Argo and KFP share.

Both backends nest a pipeline's tasks in groups, each a DAG of its own; a value
or a dependency between two tasks is wired at the deepest group holding both.
`GroupTree` answers those questions for any tree of groups that have a
`parent` key and a `kind`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class TreeNode(Protocol):
    """What the tree needs of a group."""

    @property
    def parent(self) -> str | None: ...

    @property
    def kind(self) -> str: ...


class GroupTree:
    """Mixin: `groups` (key -> group) and `task_group` (task id -> its group key) are set by
    the backend's own class."""

    groups: Mapping[str, TreeNode]
    task_group: Mapping[str, str]

    def ancestors(self, gkey: str) -> list[str]:
        """gkey and its ancestors, innermost first."""
        out = []
        g: str | None = gkey
        while g is not None:
            out.append(g)
            g = self.groups[g].parent
        return out

    def child_towards(self, gkey: str, target: str) -> str | None:
        """The direct child of gkey on the way down to target, or None if target is not below."""
        prev = None
        for a in self.ancestors(target):
            if a == gkey:
                return prev
            prev = a
        return None

    def lca_nodes(self, a: str, b: str) -> tuple[str, str, str] | None:
        """(group, node of a, node of b) at the deepest group holding both tasks."""
        ga, gb = self.task_group[a], self.task_group[b]
        anc_a = self.ancestors(ga)
        for g in self.ancestors(gb):
            if g in anc_a:
                na = a if g == ga else self.child_towards(g, ga)
                nb = b if g == gb else self.child_towards(g, gb)
                assert na is not None and nb is not None
                return (g, na, nb)
        return None

    def loops_between(self, top: str, bottom: str) -> list[str]:
        """Loop groups strictly below `top` down to and including `bottom`, innermost first."""
        out = []
        for g in self.ancestors(bottom):
            if g == top:
                break
            if self.groups[g].kind == "loop":
                out.append(g)
        return out
