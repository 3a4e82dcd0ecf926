"""What every dialect of `portaflow migrate` shares: its rules, its result, its diagnostics.

A dialect is a module `portaflow.compiler.migrate.<name>` (zenml, kfp, airflow) with

    RULES: tuple[Rule, ...]            # one entry per transformation, for docs/migrate.md
    def migrate(source: str, path: str) -> MigrateResult

`migrate` never raises on user input: a construct it cannot translate stays as it
was and adds a `Diagnostic` (file:line:col, a stable PF8xx code, a hint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portaflow.compiler.diagnostics import Diagnostic


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
