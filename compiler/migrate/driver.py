"""The dialect-independent half of `portaflow migrate`: detect, run a dialect, diff.

Dialects are found by name (`portaflow.compiler.migrate.<name>`), so each lives in its
own module and a missing one is a usage error, not an import failure at start-up.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import io
import tokenize
from dataclasses import dataclass
from types import ModuleType

from portaflow.compiler.diagnostics import Diagnostic
from portaflow.compiler.migrate.base import MigrateResult

#: Every dialect `--from` accepts, and the top-level import that gives it away.
DIALECTS: dict[str, str] = {"zenml": "zenml", "kfp": "kfp", "airflow": "airflow"}


class DialectUnavailable(Exception):
    """The dialect's module is not part of this installation."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A source file as text, and how to write it back."""

    #: The text, line endings as they were.
    text: str
    #: The encoding it was read in (and is written back in).
    encoding: str


def decode(data: bytes, path: str) -> Decoded | Diagnostic:
    """The file's text in its declared encoding (PEP 263), or a located PF104."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        line = col = 0
        if isinstance(exc, UnicodeDecodeError):
            # Locate the first bad byte: line and column in the file.
            before = data[: exc.start]
            line = before.count(b"\n") + 1
            col = exc.start - (before.rfind(b"\n") + 1) + 1
        return Diagnostic(
            code="PF104",
            severity="error",
            message=f"cannot decode the file: {exc}",
            path=path,
            line=line,
            col=col,
            hint="save the file as UTF-8, or declare its encoding (`# -*- coding: latin-1 -*-`)",
        )
    if encoding == "utf-8-sig":
        text = text.removeprefix("\ufeff")
    return Decoded(text=text, encoding=encoding)


def syntax_error(source: str, path: str) -> Diagnostic | None:
    """A located PF100 when the file is not Python, else None."""
    try:
        ast.parse(source, filename=path)
    except SyntaxError as exc:
        line = exc.lineno or 0
        lines = source.splitlines()
        return Diagnostic(
            code="PF100",
            severity="error",
            message=f"Python syntax error: {exc.msg}",
            path=path,
            line=line,
            col=exc.offset or 0,
            source_line=lines[line - 1] if 0 < line <= len(lines) else "",
            hint="migrate reads a valid Python file; fix the syntax first",
        )
    except (ValueError, RecursionError, MemoryError) as exc:
        return Diagnostic(
            code="PF100", severity="error", message=f"cannot parse the file: {exc}", path=path
        )
    return None


def detect(source: str) -> str | None:
    """The dialect whose package the file imports (the first one in file order), or None."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    tops = {top: name for name, top in DIALECTS.items()}
    for node in ast.walk(tree):
        roots: list[str] = []
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots = [node.module.split(".")[0]]
        for root in roots:
            if root in tops:
                return tops[root]
    return None


def load(dialect: str) -> ModuleType:
    """The dialect's module; DialectUnavailable when this installation has none."""
    if dialect not in DIALECTS:
        raise DialectUnavailable(f"unknown dialect {dialect!r}; choose one of {sorted(DIALECTS)}")
    try:
        return importlib.import_module(f"portaflow.compiler.migrate.{dialect}")
    except ModuleNotFoundError as exc:
        raise DialectUnavailable(
            f"the {dialect} dialect is not available in this installation ({exc})"
        ) from None


def run(source: str, path: str, dialect: str) -> MigrateResult:
    """Migrate `source` with `dialect`; a file that is not Python gives a PF100, unchanged."""
    bad = syntax_error(source, path)
    if bad is not None:
        return MigrateResult(code=source, diagnostics=[bad])
    result = load(dialect).migrate(source, path)
    assert isinstance(result, MigrateResult)
    return result


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff `a/PATH` -> `b/PATH` (empty when nothing changed)."""
    shown = path.replace("\\", "/")
    before, after = (shown, shown) if shown.startswith("/") else (f"a/{shown}", f"b/{shown}")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), before, after
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
