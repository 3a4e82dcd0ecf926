"""Code hashes: a step function plus the project code it can reach, normalised.

The hash covers the step's own definition (without decorators and
docstrings, from the AST, so comments and formatting do not count) and,
transitively, every module-level name it reads, resolved with Python's own
scoping rules (`reach.module_globals`, from `symtable`): for each such name,
every module-level statement that binds or changes it (`reach.index_module`),
followed through imports, star imports, package re-exports, classes and their
methods, default values and decorators of helpers. External libraries are
recorded by name only; their versions are recorded by the runtime.

Where the reach cannot be known statically (`getattr` with a computed name,
`importlib`, `exec`/`eval`, `globals()`/`vars()`, `__import__`) the hash covers
the whole module and a PF910 warning names the line, rather than under-hash.

Statements are keyed by module and ordered by position, but positions are not
hashed: comments, blank lines and unrelated definitions do not change a hash.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portaflow.compiler import reach
from portaflow.compiler.source import DSL_MODULES, Module, Project, dsl_name

Ref = tuple[str, tuple[str, ...]]  # a root name and the attributes read from it


@dataclass(frozen=True, slots=True)
class _Facts:
    """What hashing needs from one node, found in a single pass."""

    #: Canonical serialisation without docstrings (and, for the step itself, decorators).
    dump: str
    #: Outermost Name / dotted-Attribute references: (root name, attributes).
    refs: tuple[Ref, ...]
    #: Calls whose reach cannot be known statically: (call, root name, what it is).
    dynamic: tuple[tuple[ast.Call, str, str], ...]
    #: Import statements inside the node (function-local imports).
    imports: tuple[ast.Import | ast.ImportFrom, ...]


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


#: Builtins whose reach depends on a value known only at run time.
_DYNAMIC_BUILTINS = {
    "getattr": "getattr with a computed name",
    "exec": "exec",
    "eval": "eval",
    "globals": "globals()",
    "vars": "vars()",
    "__import__": "__import__",
}
#: Names every module has without binding them: builtins and module attributes.
_BUILTIN_NAMES = frozenset(dir(builtins)) | {
    "__name__",
    "__file__",
    "__doc__",
    "__package__",
    "__spec__",
    "__loader__",
    "__path__",
    "__builtins__",
    "__annotations__",
}
_DYNAMIC_MODULES = {"importlib": "importlib", "import_module": "importlib.import_module"}


def _dynamic(call: ast.Call) -> tuple[str, str] | None:
    """(root name, what it is) for a call whose reach is known only at run time.

    `importlib.import_module("m")` and `__import__("m")` with a literal name are
    not: the root is then "import:m", and the whole module m is hashed.
    """
    f = call.func
    root = f
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return None
    if root.id in ("importlib", "import_module", "__import__"):
        arg = call.args[0] if call.args else None
        if (
            isinstance(arg, ast.Constant)
            and isinstance(arg.value, str)
            and not arg.value.startswith(".")
            and (root is f or (isinstance(f, ast.Attribute) and f.attr == "import_module"))
        ):
            return root.id, f"import:{arg.value}"
        what = _DYNAMIC_MODULES.get(root.id) or _DYNAMIC_BUILTINS[root.id]
        return root.id, what
    if root is not f:
        return None
    if root.id == "getattr":
        name = call.args[1] if len(call.args) > 1 else None
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            return None
    if root.id in _DYNAMIC_BUILTINS:
        return root.id, _DYNAMIC_BUILTINS[root.id]
    return None


def _scan(node: ast.AST, *, drop: frozenset[int] = frozenset()) -> _Facts:
    """One iterative walk (so deep expressions cannot overflow the stack) that both
    serialises the node canonically and collects what hashing follows: references
    (outermost chains only, so reaching `helpers.shift` does not pull in all of
    `helpers`) and calls whose reach is dynamic. Docstrings, and the step's own
    DSL decorators (`drop`: their ids), are left out: they do not change what it
    computes. Which references are module-level is decided by the caller, from
    the symbol table.
    """
    refs: list[Ref] = []
    dynamic: list[tuple[ast.Call, str, str]] = []
    imports: list[ast.Import | ast.ImportFrom] = []
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
        kind = type(n)  # exact node classes: cheaper than an isinstance chain on big files
        if kind is ast.Name:
            if id(n) not in inner:
                refs.append((n.id, ()))  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            assert isinstance(n, ast.Attribute)
            if id(n) not in inner and isinstance(n.ctx, ast.Load):
                attrs: list[str] = []
                base: ast.expr = n
                while isinstance(base, ast.Attribute):
                    attrs.append(base.attr)
                    inner.add(id(base.value))
                    base = base.value
                if isinstance(base, ast.Name):
                    refs.append((base.id, tuple(reversed(attrs))))
        elif kind is ast.Call:
            found = _dynamic(n)  # type: ignore[arg-type]
            if found is not None:
                dynamic.append((n, *found))  # type: ignore[arg-type]
        elif (kind is ast.Import or kind is ast.ImportFrom) and n is not node:
            imports.append(n)  # type: ignore[arg-type]
        out.append(kind.__name__)
        out.append("(")
        stack.append(_CLOSE)
        fields: list[object] = []
        for name in n._fields:
            if name in ("ctx", "type_comment"):
                continue
            value = getattr(n, name, None)
            if name == "decorator_list" and n is node and drop and isinstance(value, list):
                value = [d for d in value if id(d) not in drop]
            if name == "body" and isinstance(n, (*reach.DEFS, ast.Module)) and _has_docstring(n):
                value = value[1:]  # type: ignore[index]
            # Empty fields are left out, named fields kept: fields that newer Pythons
            # add (type_params in 3.12) then leave the hash the same on 3.10-3.13.
            if value is None or value == []:
                continue
            fields.append(_Field(name))
            fields.append(value)
        stack.extend(reversed(fields))
    return _Facts(
        dump="".join(out), refs=tuple(refs), dynamic=tuple(dynamic), imports=tuple(imports)
    )


def _header_exprs(node: reach.Def, drop: frozenset[int]) -> list[ast.AST]:
    """Parts of a definition evaluated in the enclosing (module) scope, but the `drop` decorators."""
    out: list[ast.AST] = [d for d in node.decorator_list if id(d) not in drop]
    if isinstance(node, ast.ClassDef):
        out += node.bases
        out += node.keywords
        return out
    a = node.args
    out += a.defaults
    out += [d for d in a.kw_defaults if d is not None]
    for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
        if arg is not None and arg.annotation is not None:
            out.append(arg.annotation)
    if node.returns is not None:
        out.append(node.returns)
    return out


Report = Callable[..., None]


class CodeHasher:
    """Computes code hashes over one project, caching per-node facts and module indexes."""

    def __init__(
        self, project: Project, report_for: Callable[[Module], Report] | None = None
    ) -> None:
        self.project = project
        self.report_for = report_for
        self._facts: dict[tuple[int, bool], _Facts] = {}
        self._scopes: dict[int, frozenset[str]] = {}
        self._indexes: dict[str, reach.ModuleIndex] = {}
        self._warned: set[tuple[str, int]] = set()
        self._dsl: dict[tuple[str, str], bool] = {}  # (module, decorator name) -> is the DSL's

    def index(self, mod: Module) -> reach.ModuleIndex:
        idx = self._indexes.get(mod.name)
        if idx is None:
            idx = self._indexes[mod.name] = reach.index_module(mod)
        return idx

    def facts(self, node: ast.AST, *, drop: frozenset[int] = frozenset()) -> _Facts:
        key = (id(node), bool(drop))
        f = self._facts.get(key)
        if f is None:
            f = self._facts[key] = _scan(node, drop=drop)
        return f

    def dsl_decorators(self, mod: Module, node: reach.Def) -> frozenset[int]:
        """Ids of a step's `@step(...)` decorators: its options are not its code."""
        out = set()
        for d in node.decorator_list:
            callee = d.func if isinstance(d, ast.Call) else d
            key = (mod.name, callee.id) if isinstance(callee, ast.Name) else None
            is_dsl = self._dsl.get(key) if key else None
            if is_dsl is None:
                is_dsl = dsl_name(self.project, mod, callee) is not None
                if key:
                    self._dsl[key] = is_dsl
            if is_dsl:
                out.add(id(d))
        return frozenset(out)

    def scope_names(self, mod: Module, node: reach.Def, f: _Facts, *, root: bool) -> frozenset[str]:
        """Module-level names a definition reads: its scopes' globals and its header's names."""
        key = id(node) * 2 + root
        names = self._scopes.get(key)
        if names is None:
            idx = self.index(mod)
            if not (idx.stars or idx.hidden or f.dynamic) and not any(
                r[0] in idx.bindings for r in f.refs
            ):
                # Nothing it names is bound in the module: no scope analysis needed.
                names = self._scopes[key] = frozenset()
                return names
            table = idx.table(mod, node)
            if table is None:  # no symbol table (the text does not compile): all names count
                found = {r[0] for r in f.refs}
            else:
                found = set(reach.module_globals(table))
                drop = self.dsl_decorators(mod, node) if root else frozenset()
                for expr in _header_exprs(node, drop):
                    if isinstance(expr, ast.Name):  # the common `x: int`
                        found.add(expr.id)
                    else:
                        found.update(n.id for n in ast.walk(expr) if isinstance(n, ast.Name))
            names = self._scopes[key] = frozenset(found)
        return names

    def step_hash(self, module: Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        return self._walk(module, node).digest()

    def step_closure(
        self, module: Module, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> frozenset[str]:
        """Dotted names of the project modules the step's hash reads (its own module included).

        The same walk as `step_hash`, so the code package (compiler/codepkg.py) ships
        exactly the files the hash covers, plus what importing them needs.
        """
        walk = self._walk(module, node)
        return frozenset(walk.parts.keys() | walk.whole.keys())

    def _walk(self, module: Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> _Walk:
        walk = _Walk(self)
        headers: tuple[reach.Header, ...] = ()
        for b in self.index(module).bindings.get(node.name, []):
            if b.node is node:
                headers = b.headers
        walk.binding(module, reach.Binding(node, headers), root=True)
        walk.run()
        return walk

    def warn(self, mod: Module, call: ast.Call, reason: str) -> None:
        """PF910 at a call that makes the reach unknowable (once per call)."""
        key = (mod.name, id(call))
        if self.report_for is None or key in self._warned:
            return
        self._warned.add(key)
        self.report_for(mod)(
            "PF910",
            call,
            f"{reason}, so the code hash covers all of {mod.rel}",
            "name what the step uses directly (an import, a literal attribute name), "
            "so only that code is hashed and unrelated edits keep the cache",
        )


class _Walk:
    """The transitive reach of one step: a work list of names, bindings and modules."""

    def __init__(self, hasher: CodeHasher) -> None:
        self.h = hasher
        self.project = hasher.project
        #: module name -> node key -> (position, dump)
        self.parts: dict[str, dict[tuple[int, int], tuple[tuple[int, int, int], str]]] = {}
        self.whole: dict[str, str] = {}
        self.external: set[str] = set()
        self.seen: set[tuple[Any, ...]] = set()
        self.todo: list[tuple[Any, ...]] = []

    # ------------------------------------------------------------------ tasks

    def run(self) -> None:
        while self.todo:
            task = self.todo.pop()
            if task in self.seen:
                continue
            self.seen.add(task)
            kind = task[0]
            if kind == "module":
                self._module(task[1], task[2])
                continue
            mod = self.project.find(task[1])
            if mod is None:
                continue
            if kind == "name":
                self._name(mod, task[2], task[3])
            else:
                self._whole(mod)

    def _push(self, *task: Any) -> None:
        if task not in self.seen:
            self.todo.append(task)

    def binding(self, mod: Module, b: reach.Binding, *, root: bool = False) -> None:
        """Hash one binding statement and queue what it reads."""
        table = self.parts.setdefault(mod.name, {})
        key = (id(b.node), id(b.alias))
        if key in table:
            return
        dumps: list[str] = []
        for hd in b.headers:
            dumps.append(hd.kind + "{")
            for n in hd.nodes:
                f = self.h.facts(n)
                dumps.append(f.dump)
                self._follow(mod, f, None)
            dumps.append("}")
        node = b.node
        pos = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0), 0)
        if b.alias is not None:
            assert isinstance(node, (ast.Import, ast.ImportFrom))
            names = node.names
            pos = (pos[0], pos[1], next(i for i, a in enumerate(names) if a is b.alias))
            if isinstance(node, ast.Import):
                dumps.append(f"import {b.alias.name} as {b.alias.asname}")
            else:
                dumps.append(f"from {'.' * node.level}{node.module} import {b.alias.name}")
                dumps.append(f" as {b.alias.asname}")
        elif isinstance(node, reach.DEFS):
            drop = self.h.dsl_decorators(mod, node) if root else frozenset()
            f = self.h.facts(node, drop=drop)
            dumps.append(f.dump)
            self._follow(mod, f, self.h.scope_names(mod, node, f, root=root))
            self._option_constants(mod, node, drop)
        else:
            f = self.h.facts(node)
            dumps.append(f.dump)
            self._follow(mod, f, None)
        table[key] = (pos, "".join(dumps))

    def _option_constants(self, mod: Module, node: reach.Def, drop: frozenset[int]) -> None:
        """The module constants a step's own `@step(image=IMAGE)` names: the options are not
        code, but the statements defining the constants they read are hashed, so changing
        a constant changes the hash as editing the step would."""
        for d in node.decorator_list:
            if id(d) not in drop or not isinstance(d, ast.Call):
                continue
            for expr in (*d.args, *(kw.value for kw in d.keywords)):
                f = self.h.facts(expr)
                names = frozenset(r[0] for r in f.refs if not self._is_dsl(mod, r))
                self._follow(mod, f, names)

    def _is_dsl(self, mod: Module, ref: Ref) -> bool:
        """Whether a reference names the DSL (`Retry`, `pf.Retry`, `portaflow`): not user code."""
        root, attrs = ref
        expr: ast.expr = ast.Name(id=root, ctx=ast.Load())
        sym = self.project.resolve(mod, root)
        if sym is not None and sym.kind == "module" and sym.qualname in DSL_MODULES:
            return True
        for a in attrs:
            expr = ast.Attribute(value=expr, attr=a, ctx=ast.Load())
        return dsl_name(self.project, mod, expr) is not None

    def _follow(self, mod: Module, f: _Facts, names: frozenset[str] | None) -> None:
        """Queue the module-level names `f` reads (`names`: the global ones; None: all)."""
        for root, attrs in f.refs:
            if names is None or root in names:
                self._push("name", mod.name, root, attrs)
        local: dict[str, tuple[str, tuple[str, ...]]] = {}
        for stmt in f.imports:  # imports inside a function: local names bound to modules
            for alias in stmt.names:
                if isinstance(stmt, ast.Import):
                    bound = alias.asname or alias.name.split(".")[0]
                    local[bound] = (alias.name if alias.asname else bound, ())
                elif alias.name != "*":
                    base = Project.absolute_module(mod, stmt.module, stmt.level)
                    if base is not None:
                        local[alias.asname or alias.name] = (base, (alias.name,))
        for root, attrs in f.refs if local else ():
            if root in local and (names is None or root not in names):
                target, first = local[root]
                self._push("module", target, (*first, *attrs))
        for call, root, what in f.dynamic:
            if names is not None and root not in names:
                continue  # a local of that name, not the builtin or module
            if root in _DYNAMIC_BUILTINS and root in self.h.index(mod).bindings:
                continue  # the module defines its own `getattr`: followed as a name
            if what.startswith("import:"):  # a literal module name: that module, whole
                self._push("module", what.removeprefix("import:"), ())
                continue
            self.h.warn(mod, call, f"what {what} reaches is known only at run time")
            self._push("whole", mod.name)

    def _name(self, mod: Module, name: str, attrs: tuple[str, ...]) -> None:
        idx = self.h.index(mod)
        found = name in idx.bindings
        for b in idx.bindings.get(name, ()):
            self.binding(mod, b)
            node = b.node
            if b.alias is None:
                continue
            if isinstance(node, ast.Import):
                if b.alias.asname:
                    self._push("module", b.alias.name, attrs)
                else:
                    self._push("module", b.alias.name.split(".")[0], attrs)
            elif isinstance(node, ast.ImportFrom):
                base = Project.absolute_module(mod, node.module, node.level)
                if base is not None:
                    self._push("module", base, (b.alias.name, *attrs))
        for star in idx.stars:
            node = star.node
            assert isinstance(node, ast.ImportFrom)
            base = Project.absolute_module(mod, node.module, node.level)
            if base is None:
                continue
            src = self.project.find(base)
            if src is None:
                if base not in DSL_MODULES and name not in idx.bindings:
                    self.external.add(base.split(".")[0])
                continue
            if self._provides(src, name, set()):
                self.binding(mod, star)
                self._push("name", src.name, name, attrs)
                found = True
        if not found and idx.hidden and name not in _BUILTIN_NAMES:
            # Bound, if at all, by `exec(...)` or `globals()[...] = ...` at module level.
            for call in idx.hidden:
                self.h.warn(
                    mod, call, f"{name!r} may be bound by this call, which no statement shows"
                )
            self._push("whole", mod.name)

    def _provides(self, mod: Module, name: str, seen: set[str]) -> bool:
        """Whether `from mod import *` can bind `name` (following its own star imports)."""
        if mod.name in seen:
            return False
        seen.add(mod.name)
        idx = self.h.index(mod)
        if name in idx.bindings:
            return True
        for star in idx.stars:
            node = star.node
            assert isinstance(node, ast.ImportFrom)
            base = Project.absolute_module(mod, node.module, node.level)
            src = self.project.find(base) if base else None
            if src is not None and self._provides(src, name, seen):
                return True
        return False

    def _module(self, dotted: str, attrs: tuple[str, ...]) -> None:
        if not dotted or dotted in DSL_MODULES or dotted.startswith("portaflow."):
            return
        mod = self.project.find(dotted)
        if mod is None:
            if self.project.exists_package(dotted):  # a namespace package (a folder)
                if attrs:
                    self._push("module", f"{dotted}.{attrs[0]}", attrs[1:])
            else:
                self.external.add(dotted.split(".")[0])
            return
        if not attrs:
            self._push("whole", mod.name)
            return
        first = attrs[0]
        if first in self.h.index(mod).bindings or self._provides(mod, first, set()):
            self._push("name", mod.name, first, attrs[1:])
        elif self.project.find(f"{dotted}.{first}") is not None or self.project.exists_package(
            f"{dotted}.{first}"
        ):
            self._push("module", f"{dotted}.{first}", attrs[1:])
        elif "__getattr__" in self.h.index(mod).bindings:  # PEP 562: computed attributes
            self._push("whole", mod.name)

    def _whole(self, mod: Module) -> None:
        self.whole[mod.name] = self.h.facts(mod.tree).dump
        idx = self.h.index(mod)
        for name in idx.bindings:
            self._push("name", mod.name, name, ())
        for star in idx.stars:
            node = star.node
            assert isinstance(node, ast.ImportFrom)
            base = Project.absolute_module(mod, node.module, node.level)
            if base is not None:
                self._push("module", base, ())

    # ------------------------------------------------------------------ result

    def digest(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.parts.keys() | self.whole.keys()):
            h.update(f"module {name}\0".encode())
            if name in self.whole:
                h.update(b"whole\0")
                h.update(self.whole[name].encode())
                h.update(b"\n")
            for _pos, dump in sorted(self.parts.get(name, {}).values()):
                h.update(dump.encode())
                h.update(b"\n")
        for name in sorted(self.external):
            h.update(f"external {name}\n".encode())
        return h.hexdigest()
