"""What the `@pipeline` body compiler tracks: values, the compile context, the language's tables.

A name in the body holds a `Value` made in some loop and `if` branch; `Ctx`
says where a statement is compiled. Shared by body.py (statements and
expressions) and calls.py (step calls and sub-pipelines).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from portaflow.compiler import ir
from portaflow.compiler.source import Module

MAX_LOOP_DEPTH = 2
#: Nesting of `and`/`or`/`not` in one `if` condition.
MAX_CONDITION_DEPTH = 32
#: Items a `range()` fan-out may have: every item is written into the IR and the manifests.
MAX_STATIC_ITEMS = 10_000

STATEMENT_HINTS: dict[type, tuple[str, str]] = {
    ast.While: ("'while'", "fan out with `for item in items:` over a list, or loop inside a step"),
    ast.Try: ("'try'", "handle errors inside the step, or use @step(retries=Retry(max=3))"),
    ast.With: ("'with'", "open resources inside a step"),
    ast.AsyncWith: ("'async with'", "open resources inside a step"),
    ast.AsyncFor: ("'async for'", "use a plain `for` loop over a list"),
    ast.Raise: ("'raise'", "raise inside a step; a failing step fails the run"),
    ast.Import: ("'import' inside a pipeline", "put imports at the top of the file"),
    ast.ImportFrom: ("'import' inside a pipeline", "put imports at the top of the file"),
    ast.FunctionDef: ("a function definition", "define steps at the top level with @step"),
    ast.AsyncFunctionDef: ("a function definition", "define steps at the top level with @step"),
    ast.ClassDef: ("a class definition", "define classes at the top level of a module"),
    ast.Delete: ("'del'", "just stop using the name"),
    ast.Global: ("'global'", "pass values to steps as arguments"),
    ast.Nonlocal: ("'nonlocal'", "pass values to steps as arguments"),
    ast.Assert: ("'assert'", "check inside a step"),
    ast.AugAssign: ("augmented assignment", "compute inside a step and return the result"),
    ast.AnnAssign: ("an annotated assignment", "write `x = step(...)` without an annotation"),
    ast.Break: ("'break'", "a fan-out runs every item; filter the list in a step"),
    ast.Continue: ("'continue'", "a fan-out runs every item; filter the list in a step"),
}
if hasattr(ast, "Match"):
    STATEMENT_HINTS[ast.Match] = ("'match'", "use if/elif/else on a step output")
if hasattr(ast, "TryStar"):
    STATEMENT_HINTS[ast.TryStar] = ("'try'", "handle errors inside the step")

CMP_OPS: dict[type, ir.CompareOp] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "==",
    ast.IsNot: "!=",
}


class Abort(Exception):
    """Stops compiling the current statement after a diagnostic was reported."""


@dataclass(slots=True)
class Value:
    """What a name in the pipeline body holds."""

    #: The IR binding, None for a handle of a step without outputs.
    binding: ir.Binding | None
    #: Normalised type.
    type: str
    #: How it travels.
    kind: ir.OutputKind
    #: Producing task id, for `after=`.
    task: str | None
    #: Loop ids active where the value was made, outermost first.
    loops: tuple[str, ...]
    #: The `if` branch path where the value was made.
    branch: tuple[int, ...]
    #: For an unpacked-later result of a step with several outputs.
    multi: tuple[Value, ...] | None = None
    #: Whether the name has been read (for unused-output warnings).
    used: bool = False


@dataclass(slots=True)
class Ctx:
    """Where in the body a statement is compiled."""

    module: Module
    env: dict[str, Value]
    prefix: str = ""
    scope: tuple[str, ...] = ()
    loops: tuple[str, ...] = ()
    conds: tuple[ir.Condition, ...] = ()
    branch: tuple[int, ...] = ()
    #: Tasks every step call here waits for (`after=` on an enclosing sub-pipeline call).
    after: tuple[str, ...] = ()
    #: Values the body returned (sub-pipelines).
    returned: list[Value | None] = field(default_factory=list)
    #: Names of pipelines being inlined, to catch recursion.
    stack: tuple[str, ...] = ()

    def child(self, **changes: object) -> Ctx:
        new = replace(self, **changes)  # type: ignore[arg-type]
        if "env" not in changes:
            new.env = dict(self.env)
        return new


Report = Callable[..., None]


class ChildEnv(dict[str, Value]):
    """A scope that sees its parent's names and records what it assigns itself."""

    def __init__(self, parent: dict[str, Value]) -> None:
        super().__init__(parent)
        self.own: dict[str, Value] = {}

    def own_set(self, key: str, value: Value) -> None:
        super().__setitem__(key, value)

    def __setitem__(self, key: str, value: Value) -> None:
        super().__setitem__(key, value)
        self.own[key] = value


def is_prefix(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return len(a) <= len(b) and b[: len(a)] == a


def statement_head(stmt: ast.stmt) -> ast.AST:
    """The part of a statement to underline: its first line."""
    return stmt
