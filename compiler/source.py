"""Project files, parsed statically: modules, their imports, and name resolution.

Nothing here imports user code. A module is found by its dotted name under the
project root, parsed once with the standard `ast` parser (fast enough for the
1000-step pipelines the benchmarks ask for, which libcst was not), and names
are resolved by following `import` statements through project files. Names
that leave the project are reported as external with their qualified name.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

from portaflow.compiler import ir
from portaflow.compiler.diagnostics import Diagnostic
from portaflow.compiler.sourcetext import char_col, read_python

#: The import name of the DSL; `portaflow.dsl` is an alias of it.
DSL_MODULES = ("portaflow", "portaflow.dsl")
#: Path prefix of modules read from an installed package (`Span.path`, `Module.rel`).
INSTALLED = "<installed>"


@dataclass(slots=True)
class Module:
    """One parsed project file."""

    #: Dotted module name relative to the project root.
    name: str
    #: Project-relative path with forward slashes.
    rel: str
    #: Source lines (for diagnostics), without line endings.
    lines: list[str]
    #: The parsed tree.
    tree: ast.Module
    #: Whether the file is a package `__init__.py`.
    is_package: bool
    #: Top-level functions and classes by name.
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = field(
        default_factory=dict
    )
    #: Top-level simple assignments by target name.
    assigns: dict[str, ast.stmt] = field(default_factory=dict)
    #: Imported names: local name -> (module, attribute or None for a module binding).
    imports: dict[str, tuple[str, str | None, ast.stmt]] = field(default_factory=dict)

    def span(self, node: ast.AST) -> ir.Span:
        """An IR span for a node, with 1-based character columns."""
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        col = self._char_col(line, getattr(node, "col_offset", 0))
        end_col = self._char_col(end_line, getattr(node, "end_col_offset", None) or 0)
        return ir.Span(path=self.rel, line=line, col=col, end_line=end_line, end_col=end_col)

    def _char_col(self, line: int, byte_offset: int) -> int:
        # ast columns are UTF-8 byte offsets; diagnostics want characters.
        return char_col(self.source_line(line), byte_offset)

    def source_line(self, line: int) -> str:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""


@dataclass(frozen=True, slots=True)
class Symbol:
    """What a name in a module refers to."""

    #: "dsl" (a portaflow DSL name), "def" (a function/class in a project module),
    #: "module" (a module), "external" (something outside the project), "assign".
    kind: str
    #: For "dsl": the DSL attribute ("step"); for "module"/"external": the qualified name.
    qualname: str
    #: For "def"/"assign": the module holding it.
    module: Module | None = None
    #: For "def": the definition node.
    node: ast.AST | None = None


class Project:
    """Loads and caches project modules under one root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._modules: dict[str, Module | None] = {}
        #: Diagnostics produced while loading (syntax errors in imported files).
        self.diagnostics: list[Diagnostic] = []
        #: Modules whose file exists but was refused (its diagnostic is in `diagnostics`).
        self.refused: set[str] = set()
        #: Installed top-level packages opened because a pipeline calls a step in them:
        #: name -> the sys.path folder holding it. Only these are read outside the root.
        self.installed: dict[str, Path] = {}

    # ------------------------------------------------------------------ loading

    def module_name_for(self, path: Path) -> str | None:
        try:
            rel = path.resolve().relative_to(self.root)
        except ValueError:
            return None
        parts = list(rel.with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def load_path(self, path: Path) -> Module | None:
        name = self.module_name_for(path)
        if name is None:
            return None
        if name in self._modules:
            return self._modules[name]
        mod = self._parse(name, path.resolve())
        self._modules[name] = mod
        return mod

    def find(self, name: str) -> Module | None:
        """The project module with this dotted name, or None when it is not a project file."""
        if name in self._modules:
            return self._modules[name]
        base = self.root.joinpath(*name.split(".")) if name else self.root
        mod: Module | None = None
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if name and _is(candidate, "file"):
                mod = self._parse(name, candidate)
                break
        entry = self.installed.get(name.split(".")[0])
        if mod is None and entry is not None:
            base = entry.joinpath(*name.split("."))
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if _is(candidate, "file"):
                    rel = f"{INSTALLED}/{candidate.relative_to(entry).as_posix()}"
                    mod = self._parse(name, candidate, rel)
                    break
        self._modules[name] = mod
        return mod

    def open_installed(self, dotted: str) -> Symbol | None:
        """`pkg.mod.func` of a package installed on `sys.path`, read statically, never imported.

        The package's top-level folder is found on the compiler's own `sys.path`
        (site-packages, PYTHONPATH), after the project root; from then on its modules
        resolve like project modules, so imports inside it and the code hash follow it.
        """
        parts = dotted.split(".")
        top = parts[0]
        if top in self.installed or self.find(top) is not None or top in DSL_MODULES:
            pass
        elif top in sys.stdlib_module_names or not top.isidentifier():
            return None
        else:
            entry = _installed_entry(top, self.root)
            if entry is None:
                return None
            self.installed[top] = entry
            for known in [k for k, m in self._modules.items() if m is None]:
                if known == top or known.startswith(top + "."):
                    del self._modules[known]  # looked up before the package was opened
        for i in range(len(parts) - 1, 0, -1):
            mod = self.find(".".join(parts[:i]))
            if mod is None:
                continue
            sym = self.resolve(mod, parts[i])
            for attr in parts[i + 1 :]:
                sym = self.resolve_attr(sym, attr)
            return sym
        return None

    def was_refused(self, dotted: str) -> bool:
        """Whether `dotted` lies in a project file that exists but could not be read or parsed."""
        parts = dotted.split(".")
        return any(".".join(parts[:i]) in self.refused for i in range(1, len(parts) + 1))

    def modules(self) -> list[Module]:
        """The project modules parsed so far."""
        return [m for m in self._modules.values() if m is not None]

    def exists_package(self, name: str) -> bool:
        """Whether `name` is a folder (namespace package) or module under the root."""
        base = self.root.joinpath(*name.split("."))
        return _is(base, "dir") or _is(base.with_suffix(".py"), "file")

    def _parse(self, name: str, path: Path, rel: str | None = None) -> Module | None:
        rel = rel or path.relative_to(self.root).as_posix()
        source = read_python(path, rel)
        if isinstance(source, Diagnostic):
            self.diagnostics.append(source)
            self.refused.add(name)
            return None
        tree, lines = source.tree, source.lines
        mod = Module(
            name=name,
            rel=rel,
            lines=lines,
            tree=tree,
            is_package=path.name == "__init__.py",
        )
        self._index(mod)
        return mod

    def _index(self, mod: Module) -> None:
        for stmt in mod.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                mod.defs[stmt.name] = stmt
            elif isinstance(stmt, ast.Assign):
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        mod.assigns[t.id] = stmt
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                mod.assigns[stmt.target.id] = stmt
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        mod.imports[alias.asname] = (alias.name, None, stmt)
                    else:
                        top = alias.name.split(".")[0]
                        mod.imports[top] = (top, None, stmt)
            elif isinstance(stmt, ast.ImportFrom):
                base = self.absolute_module(mod, stmt.module, stmt.level)
                if base is None:  # climbs above the root: keep it, resolution reports it
                    base = "." * stmt.level + (stmt.module or "")
                for alias in stmt.names:
                    if alias.name == "*":
                        continue
                    mod.imports[alias.asname or alias.name] = (base, alias.name, stmt)

    @staticmethod
    def absolute_module(mod: Module, module: str | None, level: int) -> str | None:
        """The absolute dotted name of a (possibly relative) import, None if it climbs too high."""
        if level == 0:
            return module or ""
        package = mod.name.split(".") if mod.is_package else mod.name.split(".")[:-1]
        if level > len(package):  # Python: "attempted relative import beyond top-level package"
            return None
        base = package[: len(package) - (level - 1)]
        if module:
            base.append(module)
        return ".".join(base)

    # ------------------------------------------------------------------ resolution

    def resolve(self, mod: Module, name: str, _depth: int = 0) -> Symbol | None:
        """What a top-level name of `mod` refers to (None when it is not defined there)."""
        if _depth > 20:
            return None
        if name in mod.defs:
            return Symbol("def", f"{mod.name}.{name}", mod, mod.defs[name])
        if name in mod.imports:
            target, attr, _stmt = mod.imports[name]
            if attr is None:
                return self._module_symbol(target)
            return self.resolve_attr(self._module_symbol(target), attr, _depth + 1)
        if name in mod.assigns:
            return Symbol("assign", f"{mod.name}.{name}", mod, mod.assigns[name])
        return None

    def _module_symbol(self, dotted: str) -> Symbol:
        if not dotted or dotted.startswith("."):
            return Symbol("missing", dotted)
        if dotted in DSL_MODULES:
            return Symbol("module", dotted)
        if self.find(dotted) is not None or (dotted and self.exists_package(dotted)):
            return Symbol("module", dotted)
        return Symbol("external", dotted)

    def resolve_attr(self, base: Symbol | None, attr: str, _depth: int = 0) -> Symbol | None:
        """`base.attr` where base is a resolved symbol."""
        if base is None:
            return None
        if base.kind == "module":
            if base.qualname in DSL_MODULES:
                if attr == "dsl":
                    return Symbol("module", "portaflow.dsl")
                return Symbol("dsl", attr)
            sub = f"{base.qualname}.{attr}"
            mod = self.find(base.qualname)
            if mod is not None:
                found = self.resolve(mod, attr, _depth + 1)
                if found is not None:
                    return found
            if self.find(sub) is not None or self.exists_package(sub):
                return Symbol("module", sub)
            return Symbol("missing", sub)
        if base.kind == "external":
            return Symbol("external", f"{base.qualname}.{attr}")
        if base.kind == "dsl":  # `Volume.empty_dir`
            return Symbol("dsl", f"{base.qualname}.{attr}")
        return None

    def resolve_expr(self, mod: Module, expr: ast.expr) -> Symbol | None:
        """Resolve a Name or dotted Attribute chain."""
        if isinstance(expr, ast.Name):
            return self.resolve(mod, expr.id)
        if isinstance(expr, ast.Attribute):
            return self.resolve_attr(self.resolve_expr(mod, expr.value), expr.attr)
        return None


def dsl_name(project: Project, mod: Module, expr: ast.expr) -> str | None:
    """The DSL attribute an expression names (`step`, `Retry`...), or None."""
    sym = project.resolve_expr(mod, expr)
    if sym is not None and sym.kind == "dsl":
        return sym.qualname
    return None


def _installed_entry(top: str, root: Path) -> Path | None:
    """The first `sys.path` folder (not the project root) holding package or module `top`."""
    for entry in sys.path:
        if not entry:
            continue
        folder = Path(entry)
        if not _is(folder, "dir") or folder.resolve() == root:
            continue
        if _is(folder / top / "__init__.py", "file") or _is(folder / f"{top}.py", "file"):
            return folder
    return None


def _is(path: Path, kind: str) -> bool:
    """`path.is_file()` / `is_dir()`, False instead of OSError for a name too long for the disk."""
    try:
        return path.is_file() if kind == "file" else path.is_dir()
    except (OSError, ValueError):
        return False
