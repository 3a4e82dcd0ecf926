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
import hashlib
from dataclasses import dataclass

from portaflow.compiler.source import Module, Project, Symbol


@dataclass(frozen=True, slots=True)
class _Facts:
    """What hashing needs from one definition, found in a single pass."""

    #: ast.dump without docstrings and the definition's own decorators.
    dump: str
    #: Outermost Name / dotted-Attribute references that are not bound locally.
    refs: tuple[ast.expr, ...]
    #: Import statements inside the definition.
    imports: tuple[ast.Import | ast.ImportFrom, ...]


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _has_docstring(n: ast.AST) -> bool:
    body = getattr(n, "body", None)
    return bool(
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )


@dataclass(frozen=True, slots=True)
class _Field:
    """A field name in the serialised walk."""

    name: str


_CLOSE = object()  # marks the end of a node or list in the walk below
_LIST_END = object()


def _scan(node: ast.AST) -> _Facts:
    """One iterative walk (so deep expressions cannot overflow the stack) that both
    serialises the definition canonically and collects what hashing follows:
    references (outermost chains only, so reaching `helpers.shift` does not pull
    in all of `helpers`), locally bound names and imports. Docstrings and the
    definition's own decorators are left out: they do not change what it computes.
    """
    refs: list[ast.expr] = []
    imports: list[ast.Import | ast.ImportFrom] = []
    bound: set[str] = set()
    inner: set[int] = set()  # ids of nodes that are the `.value` of a reference chain
    out: list[str] = []
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if item is _CLOSE:
            out.append(")")
            continue
        if item is _LIST_END:
            out.append("]")
            continue
        if type(item) is _Field:
            out.append(item.name + "=")  # unquoted, so never confused with a string value
            continue
        if isinstance(item, list):
            out.append("[")
            stack.append(_LIST_END)
            stack.extend(reversed(item))
            continue
        if not isinstance(item, ast.AST):
            out.append(repr(item))
            out.append(",")
            continue
        n = item
        if isinstance(n, ast.Attribute):
            base: ast.expr = n.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and isinstance(n.ctx, ast.Load):
                inner.add(id(n.value))
                if id(n) not in inner:
                    refs.append(n)
        elif isinstance(n, ast.Name):
            if not isinstance(n.ctx, ast.Load):
                bound.add(n.id)
            elif id(n) not in inner:
                refs.append(n)
        elif isinstance(n, ast.arg):
            bound.add(n.arg)
        elif isinstance(n, _DEFS) and n is not node:
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            imports.append(n)
            bound.update((a.asname or a.name).split(".")[0] for a in n.names)
        out.append(type(n).__name__)
        out.append("(")
        stack.append(_CLOSE)
        fields: list[object] = []
        for name in n._fields:
            if name in ("ctx", "type_comment") or (name == "decorator_list" and n is node):
                continue
            value = getattr(n, name, None)
            if name == "body" and isinstance(n, (*_DEFS, ast.Module)) and _has_docstring(n):
                value = value[1:]  # type: ignore[index]
            # Empty fields are left out, named fields kept: fields that newer Pythons
            # add (type_params in 3.12) then leave the hash the same on 3.10-3.13.
            if value is None or value == []:
                continue
            fields.append(_Field(name))
            fields.append(value)
        stack.extend(reversed(fields))
    kept = tuple(r for r in refs if _root_name(r) not in bound)
    return _Facts(dump="".join(out), refs=kept, imports=tuple(imports))


def _root_name(ref: ast.expr) -> str:
    while isinstance(ref, ast.Attribute):
        ref = ref.value
    assert isinstance(ref, ast.Name)
    return ref.id


class CodeHasher:
    """Computes and caches code hashes over one project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._facts: dict[str, _Facts] = {}

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
        facts = self._facts.get(key)
        if facts is None:
            facts = self._facts[key] = _scan(node)
        parts[key] = facts.dump
        if not isinstance(node, ast.Module):
            # Imports inside a function body still reach project code.
            for stmt in facts.imports:
                for target in _imported_modules(module, stmt):
                    mod = self.project.find(target)
                    if mod is not None:
                        self._collect(f"module:{mod.name}", mod, mod.tree, parts)
        for ref in facts.refs:
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


def _imported_modules(module: Module, stmt: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(stmt, ast.Import):
        return [alias.name for alias in stmt.names]
    base = Project.absolute_module(module, stmt.module, stmt.level)
    if base is None:
        return []
    # `from pkg import mod` may name a submodule; `from mod import f` names the module.
    return [base] + [f"{base}.{alias.name}" if base else alias.name for alias in stmt.names]
