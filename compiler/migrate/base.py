"""What every dialect of `portaflow migrate` shares: its rules, its result, its diagnostics.

A dialect is a module `portaflow.compiler.migrate.<name>` (zenml, kfp, airflow) with

    RULES: tuple[Rule, ...]            # one entry per transformation, for docs/migrate.md
    def migrate(source: str, path: str) -> MigrateResult

`migrate` never raises on user input: a construct it cannot translate stays as it
was and adds a `Diagnostic` (file:line:col, a stable PF8xx code, a hint).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from portaflow.compiler.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from libcst.metadata import CodeRange


@dataclass(frozen=True, slots=True)
class Rule:
    """One transformation of a dialect.

    `doc` shows it as "before -> after" (the text docs/migrate.md prints).
    """

    #: Short stable name, e.g. "component-decorator".
    name: str
    #: What the rule rewrites, with a before/after example.
    doc: str


@dataclass(frozen=True, slots=True)
class MigrateResult:
    """The rewritten source and what is left for a person."""

    #: The whole new file text (equal to the input when nothing applied).
    code: str
    #: Everything not translated, in source order; empty means the file is done.
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when nothing is left for a person (the command exits 0)."""
        return not any(d.severity == "error" for d in self.diagnostics)


def at_range(
    code: str,
    severity: Severity,
    message: str,
    hint: str,
    *,
    path: str,
    lines: Sequence[str],
    where: CodeRange | None,
) -> Diagnostic:
    """A diagnostic at a libcst position range (`where`), or about the whole file when None."""
    if where is None:
        return Diagnostic(code=code, severity=severity, message=message, path=path, hint=hint)
    line = where.start.line
    return Diagnostic(
        code=code,
        severity=severity,
        message=message,
        path=path,
        line=line,
        col=where.start.column + 1,
        end_line=where.end.line,
        end_col=where.end.column + 1,
        hint=hint,
        source_line=lines[line - 1] if 0 < line <= len(lines) else "",
    )
