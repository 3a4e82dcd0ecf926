"""Code hashes: a step function plus the local code it reaches, normalised.

The hash covers the step's own definition (without decorators and
docstrings, from the AST, so comments and formatting do not count) and,
transitively, every project-level function, class or constant it names:
helpers in the same file, functions imported from local modules, and
attributes of imported local modules. External libraries are recorded by
name only; their versions are recorded by the runtime. Changing a helper
changes the hash, so a cache never serves results of stale code.
"""

from __future__ import annotations

import ast
import copy
import hashlib

from portaflow.compiler.source import Module, Project, Symbol


def _strip(node: ast.AST) -> ast.AST:
    """A copy without docstrings and decorators (they do not change what the code computes)."""
    clone = copy.deepcopy(node)
    for n in ast.walk(clone):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = n.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                n.body = body[1:] or [ast.Pass()]
    if isinstance(clone, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        clone.decorator_list = []
    return clone


def _names(node: ast.AST) -> list[ast.expr]:
    """Name and dotted-attribute references in a node, outermost chains only.

    `helpers.shift(x)` yields `helpers.shift`, not also `helpers`, so reaching
    one function of a module does not pull in the whole module.
    """
    found: list[ast.expr] = []
    stack: list[ast.AST] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load):
            base: ast.expr = n
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                found.append(n)
                continue
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            found.append(n)
            continue
        stack.extend(ast.iter_child_nodes(n))
    return found


class CodeHasher:
    """Computes and caches code hashes over one project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._dumps: dict[str, str] = {}

    def step_hash(self, module: Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        parts: dict[str, str] = {}
        self._collect(f"{module.name}.{node.name}", module, node, parts)
        h = hashlib.sha256()
        for key in sorted(parts):
            h.update(key.encode())
            h.update(b"\0")
            h.update(parts[key].encode())
            h.update(b"\n")
        return h.hexdigest()

    def _collect(self, key: str, module: Module, node: ast.AST, parts: dict[str, str]) -> None:
        if key in parts:
            return
        dumped = self._dumps.get(key)
        if dumped is None:
            dumped = ast.dump(_strip(node), annotate_fields=False)
            self._dumps[key] = dumped
        parts[key] = dumped
        local_names = _bound_names(node)
        for stmt in ast.walk(node):
            # Imports inside a function body still reach project code.
            if isinstance(stmt, (ast.Import, ast.ImportFrom)) and not isinstance(node, ast.Module):
                for target in _imported_modules(module, stmt):
                    mod = self.project.find(target)
                    if mod is not None:
                        self._collect(f"module:{mod.name}", mod, mod.tree, parts)
        for ref in _names(node):
            root = ref
            while isinstance(root, ast.Attribute):
                root = root.value
            assert isinstance(root, ast.Name)
            if root.id in local_names:
                continue
            self._follow(module, ref, parts)

    def _follow(self, module: Module, ref: ast.expr, parts: dict[str, str]) -> None:
        # Try the longest dotted chain that resolves to a project definition.
        chain: list[ast.expr] = []
        cur: ast.expr = ref
        while isinstance(cur, ast.Attribute):
            chain.append(cur)
            cur = cur.value
        chain.append(cur)
        for expr in reversed(chain):  # shortest first: `utils`, `utils.f`, ...
            sym = self.project.resolve_expr(module, expr)
            if sym is None:
                return
            if sym.kind in ("def", "assign"):
                self._add_symbol(sym, parts)
                return
            if sym.kind in ("external", "missing"):
                parts.setdefault(f"external:{sym.qualname.split('.')[0]}", "")
                return
            if sym.kind == "dsl":
                return
            # a project module: keep walking down the chain
        sym = self.project.resolve_expr(module, ref)
        if sym is not None and sym.kind == "module":
            mod = self.project.find(sym.qualname)
            if mod is not None:
                self._collect(f"module:{mod.name}", mod, mod.tree, parts)

    def _add_symbol(self, sym: Symbol, parts: dict[str, str]) -> None:
        assert sym.module is not None
        node = sym.node
        if node is None:
            return
        self._collect(sym.qualname, sym.module, node, parts)


def _bound_names(node: ast.AST) -> set[str]:
    """Names bound inside a definition (parameters, assignments, loop targets, inner defs)."""
    bound: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node:
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for alias in n.names:
                bound.add((alias.asname or alias.name).split(".")[0])
    return bound


def _imported_modules(module: Module, stmt: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(stmt, ast.Import):
        return [alias.name for alias in stmt.names]
    base = Project.absolute_module(module, stmt.module, stmt.level)
    if base is None:
        return []
    # `from pkg import mod` may name a submodule; `from mod import f` names the module.
    return [base] + [f"{base}.{alias.name}" if base else alias.name for alias in stmt.names]
