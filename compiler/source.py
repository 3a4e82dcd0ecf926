"""Project files, parsed statically: modules, their imports, and name resolution.

Nothing here imports user code. A module is found by its dotted name under the
project root, parsed once with the standard `ast` parser (fast enough for the
1000-step pipelines the benchmarks ask for, which libcst was not), and names
are resolved by following `import` statements through project files. Names
that leave the project are reported as external with their qualified name.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from portaflow.compiler import ir
from portaflow.compiler.diagnostics import Diagnostic

#: The import name of the DSL; `portaflow.dsl` is an alias of it.
DSL_MODULES = ("portaflow", "portaflow.dsl")


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
        if 1 <= line <= len(self.lines):
            text = self.lines[line - 1]
            if text.isascii():
                return byte_offset + 1
            return len(text.encode()[:byte_offset].decode(errors="ignore")) + 1
        return byte_offset + 1

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
            if name and candidate.is_file():
                mod = self._parse(name, candidate)
                break
        self._modules[name] = mod
        return mod

    def exists_package(self, name: str) -> bool:
        """Whether `name` is a folder (namespace package) or module under the root."""
        base = self.root.joinpath(*name.split("."))
        return base.is_dir() or base.with_suffix(".py").is_file()

    def _parse(self, name: str, path: Path) -> Module | None:
        rel = path.relative_to(self.root).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.diagnostics.append(
                Diagnostic(
                    code="PF101",
                    severity="error",
                    message=f"cannot read {rel}: {exc}",
                    path=rel,
                )
            )
            return None
        lines = text.splitlines()
        try:
            with warnings.catch_warnings():
                # Python's own SyntaxWarnings (`1if x`, "\d") would print unlocated lines of
                # Python's format among ours; the file is never run, so they are not ours to say.
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename=rel)
        except SyntaxError as exc:
            line = exc.lineno or 0
            col = exc.offset or 1
            end_col = exc.end_offset if exc.end_lineno == exc.lineno and exc.end_offset else 0
            self.diagnostics.append(
                Diagnostic(
                    code="PF100",
                    severity="error",
                    message=f"syntax error: {exc.msg}",
                    path=rel,
                    line=line,
                    col=col,
                    end_line=line,
                    end_col=end_col or col + 1,
                    hint="fix the Python syntax; the file must parse as Python 3.10",
                    source_line=lines[line - 1] if 0 < line <= len(lines) else "",
                )
            )
            return None
        except (RecursionError, MemoryError, ValueError) as exc:
            self.diagnostics.append(
                Diagnostic(
                    code="PF102" if not isinstance(exc, ValueError) else "PF100",
                    severity="error",
                    message=f"cannot parse {rel}: {type(exc).__name__}: {exc}",
                    path=rel,
                    hint="split very long or deeply nested expressions into steps",
                )
            )
            return None
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
