"""What a module-level name is bound to, and which names a definition reads from its module.

The code hash follows names the way Python resolves them. Two questions are
answered here, once per module:

* Which module-level statements bind or change a name? Every one of them,
  anywhere at module level: assignments of every form (tuple unpacking,
  augmented, annotated, subscript or attribute targets), `del`, `for` and
  `with` targets, `except ... as`, walrus, `match` captures, imports and
  definitions, inside `if`/`try`/`with`/`for`/`while`/`match` (all branches),
  bare call statements that mention it (`REGISTRY.append(f)`), decorators that
  mention it, and functions that declare it `global` and assign it. A binding
  carries the headers of the compound statements around it (`if` tests,
  `except` types...), since they decide whether it runs.
* Which names does a top-level function or class read from module scope? The
  standard library's `symtable` gives each scope's symbols with Python's own
  rules (nested functions, comprehensions, classes, `global`/`nonlocal`); the
  union over the definition's scopes of the names that are global is the
  answer. Taking the union keeps it the same on 3.10-3.13, whose symbol tables
  differ in shape (3.12 inlines comprehensions) but not in what is global.
"""

from __future__ import annotations

import ast
import symtable
from collections.abc import Sequence
from dataclasses import dataclass, field

from portaflow.compiler.source import Module

Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
#: The statements that define a name with a body of their own.
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_TRY = (ast.Try, getattr(ast, "TryStar", ast.Try))  # `try: ... except* E:` from 3.11


@dataclass(frozen=True, slots=True)
class Header:
    """The part of a compound statement that decides whether its body runs."""

    #: "if", "while", "for", "with", "except", "match", "case".
    kind: str
    #: The expressions (or patterns) of the header.
    nodes: tuple[ast.AST, ...]


@dataclass(frozen=True, slots=True)
class Binding:
    """One module-level statement that binds or changes a name."""

    #: The statement (a definition, an assignment...) or, for a `for`/`with`
    #: target, `except ... as` or a `case` capture, the header node itself.
    node: ast.AST
    #: Enclosing compound-statement headers, outermost first.
    headers: tuple[Header, ...]
    #: For an import: the alias that binds the name (only it is hashed).
    alias: ast.alias | None = None


@dataclass(slots=True)
class ModuleIndex:
    """Module-level bindings of one module and its symbol table."""

    #: Name -> every statement binding or changing it, in source order.
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    #: `from m import *` statements, in source order, with their headers.
    stars: list[Binding] = field(default_factory=list)
    #: Top-level definition -> its symbol table (matched by name and order); built
    #: on first need by `table()`, since most steps read no module-level name.
    tables: dict[int, symtable.SymbolTable] | None = None
    #: Names called while the module runs (decorators, call statements), with the statement.
    calls: list[tuple[str, Binding]] = field(default_factory=list)
    #: Module-level calls that can bind names no statement shows (`exec`, `globals()[k] =`).
    hidden: list[ast.Call] = field(default_factory=list)

    def table(self, mod: Module, node: ast.AST) -> symtable.SymbolTable | None:
        """The symbol table of a top-level definition (None if the text does not compile)."""
        return self.build_tables(mod).get(id(node))

    def build_tables(self, mod: Module) -> dict[int, symtable.SymbolTable]:
        if self.tables is None:
            self.tables = {}
            _match_tables(mod, self)
        return self.tables

    def add(self, name: str, binding: Binding) -> None:
        found = self.bindings.setdefault(name, [])
        if not found or found[-1] != binding:
            found.append(binding)


#: Names that some Pythons' symbol tables add to class scopes; never user globals.
_IMPLICIT = frozenset(
    {"__class__", "__classdict__", "__classdictcell__", "__static_attributes__", "__firstlineno__"}
)


def index_module(mod: Module) -> ModuleIndex:
    idx = ModuleIndex()
    _walk(mod.tree.body, (), idx)
    # Only a function with a `global` statement, or one run while the module runs
    # (`@register`, `setup()`), can bind or change a module-level name from inside:
    # only then are the symbol tables needed before a step asks for its own.
    called = {fname for fname, _call in idx.calls}
    if any(
        isinstance(b.node, DEFS) and b.node.name == fname
        for fname in called
        for b in idx.bindings.get(fname, ())
    ) or any("global" in line for line in mod.lines):
        idx.build_tables(mod)
        _import_time_mutations(mod, idx)
    return idx


def _import_time_mutations(mod: Module, idx: ModuleIndex) -> None:
    """`@register` or `setup()` at module level runs a function that may change a
    module-level name (`REGISTRY[f.__name__] = f`): both the function and the
    statement that calls it then count as changing that name."""
    defs: dict[str, list[Binding]] = {}
    for fname, _call in idx.calls:
        if fname not in defs:
            defs[fname] = [
                b
                for b in idx.bindings.get(fname, ())
                if isinstance(b.node, DEFS) and b.node.name == fname
            ]
    found: list[tuple[str, Binding]] = []
    for fname, call in idx.calls:
        for b in defs[fname]:
            table = idx.table(mod, b.node)
            if table is None:
                continue
            assert isinstance(b.node, DEFS)
            for name in _mutated_globals(b.node, module_globals(table)):
                found += [(name, b), (name, call)]
    for name, b in found:
        idx.add(name, b)


def _mutated_globals(node: Def, names: frozenset[str]) -> set[str]:
    """Module-level names a definition may change: item, attribute or method-call targets."""
    out: set[str] = set()
    for n in ast.walk(node):
        base: ast.expr | None = None
        if isinstance(n, (ast.Subscript, ast.Attribute)) and not isinstance(n.ctx, ast.Load):
            base = n.value
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            base = n.func.value  # `REGISTRY.append(f)`, `CONF.update(...)`
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        if isinstance(base, ast.Name) and base.id in names:
            out.add(base.id)
    return out


def module_globals(table: symtable.SymbolTable) -> frozenset[str]:
    """Names read or written at module scope anywhere in a definition's scopes."""
    names: set[str] = set()
    stack = [table]
    while stack:
        t = stack.pop()
        for sym in t.get_symbols():
            if sym.is_global():
                names.add(sym.get_name())
        stack.extend(t.get_children())
    return frozenset(names - _IMPLICIT)


def global_writes(table: symtable.SymbolTable) -> frozenset[str]:
    """Names a definition declares `global` and assigns (or deletes)."""
    names: set[str] = set()
    stack = [table]
    while stack:
        t = stack.pop()
        for sym in t.get_symbols():
            if sym.is_declared_global() and sym.is_assigned():
                names.add(sym.get_name())
        stack.extend(t.get_children())
    return frozenset(names)


def _match_tables(mod: Module, idx: ModuleIndex) -> None:
    """Pair each top-level definition with its symbol table: by name, in source order."""
    tables_of = idx.tables
    assert tables_of is not None
    defs: dict[str, list[Def]] = {}
    for bindings in idx.bindings.values():
        for b in bindings:
            if isinstance(b.node, DEFS) and b.alias is None:
                lst = defs.setdefault(b.node.name, [])
                if not any(d is b.node for d in lst):
                    lst.append(b.node)
    if not defs:
        return
    top = _symtable(mod)
    if top is None:
        return
    tables: dict[str, list[symtable.SymbolTable]] = {}
    for child in top.get_children():
        if child.get_name() in defs:
            tables.setdefault(child.get_name(), []).append(child)
    for name, nodes in defs.items():
        nodes.sort(key=lambda n: (n.lineno, n.col_offset))
        found = tables.get(name, [])
        if len(found) != len(nodes):
            # A comprehension table named like a def (`def listcomp`): match lines.
            found = [t for t in found if t.get_type() in ("function", "class")]
            by_line = {t.get_lineno(): t for t in found}
            for n in nodes:
                t = by_line.get(n.lineno)
                if t is not None:
                    tables_of[id(n)] = t
            continue
        for n, t in zip(nodes, found, strict=True):
            tables_of[id(n)] = t
    # A function that declares a name `global` and assigns it changes it too.
    for nodes in defs.values():
        for n in nodes:
            t = tables_of.get(id(n))
            if t is not None:
                for written in global_writes(t):
                    idx.add(written, Binding(n, ()))


def _symtable(mod: Module) -> symtable.SymbolTable | None:
    # The lines rejoined keep line numbers unless a line held U+2028 and the like
    # inside a string (splitlines cuts there); unparsing the tree always compiles.
    for text in ("\n".join(mod.lines), None):
        try:
            return symtable.symtable(
                text if text is not None else ast.unparse(mod.tree), mod.rel, "exec"
            )
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def _targets(node: ast.AST, out: list[str], roots: list[str]) -> None:
    """Names a target binds (`out`) and names whose contents it changes (`roots`)."""
    stack = [node]
    while stack:
        t = stack.pop()
        if isinstance(t, ast.Name):
            out.append(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            stack.extend(t.elts)
        elif isinstance(t, ast.Starred):
            stack.append(t.value)
        elif isinstance(t, (ast.Attribute, ast.Subscript)):
            base: ast.expr = t.value
            while isinstance(base, (ast.Attribute, ast.Subscript, ast.Call)):
                base = base.func if isinstance(base, ast.Call) else base.value
            if isinstance(base, ast.Name):
                roots.append(base.id)


def _names_in(nodes: Sequence[ast.AST]) -> tuple[list[str], list[str]]:
    """Walrus targets and match captures (bound) and every name mentioned, in expressions."""
    bound: list[str] = []
    seen: list[str] = []
    for top in nodes:
        for n in ast.walk(top):
            if isinstance(n, ast.Name):
                seen.append(n.id)
                if isinstance(n.ctx, ast.Store):
                    bound.append(n.id)  # a walrus target
            elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
                bound.append(n.name)
            elif isinstance(n, ast.MatchMapping) and n.rest:
                bound.append(n.rest)
    return bound, seen


def _walk(body: list[ast.stmt], headers: tuple[Header, ...], idx: ModuleIndex) -> None:
    for stmt in body:
        here = Binding(stmt, headers)
        if isinstance(stmt, DEFS):
            idx.add(stmt.name, here)
            for dec in stmt.decorator_list:
                callee = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(callee, ast.Name):
                    # `@register`: the function runs now; what it changes is found later.
                    idx.calls.append((callee.id, here))
                if isinstance(callee, ast.Name):
                    parts: list[ast.AST] = (
                        list(dec.args) + list(dec.keywords) if isinstance(dec, ast.Call) else []
                    )
                else:
                    parts = [dec]
                for name in _names_in(parts)[1] if parts else ():
                    idx.add(name, here)  # `@REGISTRY.register`, `@route(TABLE)`
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                name = alias.asname or alias.name.split(".")[0]
                idx.add(name, Binding(stmt, headers, alias))
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if alias.name == "*":
                    idx.stars.append(here)
                else:
                    idx.add(alias.asname or alias.name, Binding(stmt, headers, alias))
        elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets: list[ast.expr] = (
                list(stmt.targets) if isinstance(stmt, (ast.Assign, ast.Delete)) else [stmt.target]
            )
            bound: list[str] = []
            roots: list[str] = []
            for t in targets:
                _targets(t, bound, roots)
            walrus = _names_in([stmt])[0] if _has_walrus(stmt) else []
            for name in (*bound, *roots, *walrus):
                idx.add(name, here)
            if "globals" in roots or "vars" in roots:
                idx.hidden += _hidden_calls(stmt)
        elif isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                continue  # a docstring or a bare literal changes nothing
            bound, seen = _names_in([stmt.value])
            if _HIDDEN_BINDERS.intersection(seen):
                idx.hidden += _hidden_calls(stmt)
            for name in (*bound, *seen):
                idx.add(name, here)  # `REGISTRY.append(f)`, `setup(CONFIG)`
                idx.calls.append((name, here))
        elif isinstance(stmt, ast.If | ast.While):
            h = Header("if" if isinstance(stmt, ast.If) else "while", (stmt.test,))
            for name in _names_in([stmt.test])[0]:
                idx.add(name, Binding(stmt.test, headers))
            _walk(stmt.body, (*headers, h), idx)
            _walk(stmt.orelse, (*headers, Header("else", (stmt.test,))), idx)
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            h = Header("for", (stmt.target, stmt.iter))
            bound = []
            _targets(stmt.target, bound, bound)
            for name in (*bound, *_names_in([stmt.iter])[0]):
                idx.add(name, Binding(stmt.target, (*headers, h)))
            _walk(stmt.body, (*headers, h), idx)
            _walk(stmt.orelse, (*headers, h), idx)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            h = Header("with", tuple(stmt.items))
            bound = []
            for item in stmt.items:
                if item.optional_vars is not None:
                    _targets(item.optional_vars, bound, bound)
            for name in (*bound, *_names_in([i.context_expr for i in stmt.items])[0]):
                idx.add(name, Binding(stmt.items[0].context_expr, (*headers, h)))
            _walk(stmt.body, (*headers, h), idx)
        elif isinstance(stmt, _TRY):
            _walk(stmt.body, headers, idx)
            for handler in stmt.handlers:
                types = (handler.type,) if handler.type is not None else ()
                h = Header("except", types)
                if handler.name:
                    idx.add(handler.name, Binding(handler, headers))
                _walk(handler.body, (*headers, h), idx)
            _walk(stmt.orelse, headers, idx)
            _walk(stmt.finalbody, headers, idx)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                h = Header(
                    "case", (stmt.subject, case.pattern, *([case.guard] if case.guard else []))
                )
                for name in _names_in(h.nodes)[0]:
                    idx.add(name, Binding(case.pattern, (*headers, h)))
                _walk(case.body, (*headers, h), idx)


#: Calls at module level that can bind module-level names without naming them.
_HIDDEN_BINDERS = frozenset({"exec", "globals", "vars", "setattr"})


def _hidden_calls(stmt: ast.stmt) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(stmt)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _HIDDEN_BINDERS
    ]


def _has_walrus(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.NamedExpr) for n in ast.walk(stmt))
