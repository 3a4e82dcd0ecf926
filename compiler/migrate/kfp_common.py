"""What the KFP v2 dialect's passes share: kfp name resolution, diagnostics, small libcst helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange

from portaflow.compiler.diagnostics import Diagnostic, Severity
from portaflow.compiler.migrate.base import at_range


@dataclass
class Component:
    """A `@dsl.component` (or `@dsl.pipeline`, called as a sub-DAG) and what its calls need."""

    #: Output names when it has several (NamedTuple fields or path-style outputs), in order.
    outputs: list[str] = field(default_factory=list)
    #: Decorator keyword arguments kept for `@step(...)`: name -> expression.
    args: dict[str, cst.BaseExpression] = field(default_factory=dict)
    #: Step options gathered from the tasks' `.set_*` calls: name -> expression.
    options: dict[str, cst.BaseExpression] | None = None
    #: Whether it is a pipeline (never gets step options).
    is_pipeline: bool = False


class Context:
    """The state of one migration: kfp aliases, components, diagnostics, needed imports."""

    def __init__(self, source: str, path: str) -> None:
        self.lines = source.splitlines()
        self.path = path
        #: Local name -> the kfp name it stands for ("dsl" -> "kfp.dsl").
        self.aliases: dict[str, str] = {}
        self.components: dict[str, Component] = {}
        self.diagnostics: list[Diagnostic] = []
        #: Names `from portaflow import ...` must bring.
        self.portaflow: set[str] = set()
        self.annotated = False
        #: Hooks a pipeline gets from `dsl.ExitHandler`: pipeline name -> exit step name.
        self.on_exit: dict[str, str] = {}

    def qual(self, node: cst.BaseExpression) -> str | None:
        """The kfp name an expression refers to ("kfp.dsl.component"), or None."""
        if isinstance(node, cst.Name):
            base = self.aliases.get(node.value)
        elif isinstance(node, cst.Attribute):
            parent = self.qual(node.value)
            base = f"{parent}.{node.attr.value}" if parent else None
        else:
            return None
        if base is None:
            return None
        return base.replace("kfp.v2.", "kfp.").replace("kfp.dsl.types.artifact_types.", "kfp.dsl.")

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        where: CodeRange | None,
        hint: str,
    ) -> None:
        self.diagnostics.append(
            at_range(code, severity, message, hint, path=self.path, lines=self.lines, where=where)
        )


def kwargs(call: cst.Call) -> dict[str, cst.BaseExpression]:
    """Keyword arguments of a call by name."""
    return {a.keyword.value: a.value for a in call.args if a.keyword is not None}


def positional(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def arg(call: cst.Call, index: int, name: str) -> cst.BaseExpression | None:
    """The argument at `index` or keyword `name`."""
    pos = positional(call)
    return pos[index] if index < len(pos) else kwargs(call).get(name)


def make_call(func: str, args: Sequence[tuple[str | None, cst.BaseExpression]]) -> cst.Call:
    """`func(a, k=v, ...)` for a plain name `func`, in the style ruff writes (no spaces around `=`)."""
    out = []
    for key, value in args:
        out.append(
            cst.Arg(
                value=value,
                keyword=cst.Name(key) if key else None,
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                )
                if key
                else cst.MaybeSentinel.DEFAULT,
            )
        )
    return cst.Call(func=cst.Name(func), args=out)


def string(value: str) -> cst.SimpleString:
    """A string literal, in double quotes when that needs no escapes (as ruff writes them)."""
    plain = value.isprintable() and not set(value) & set('"\\')
    return cst.SimpleString(f'"{value}"' if plain else repr(value))


def literal_str(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain string literal, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def comment_lines(*nodes: cst.CSTNode | None) -> list[cst.EmptyLine]:
    """The comment lines a removed node carried (its leading lines, header and footer)."""
    out: list[cst.EmptyLine] = []
    for node in nodes:
        if node is None:
            continue
        for attr in ("leading_lines", "lines_after_decorators"):
            out += [ln for ln in getattr(node, attr, ()) if ln.comment is not None]
        body = getattr(node, "body", None)
        if isinstance(body, cst.IndentedBlock):
            if body.header.comment is not None:
                out.append(cst.EmptyLine(comment=body.header.comment))
        trailing = getattr(node, "trailing_whitespace", None)
        if isinstance(trailing, cst.TrailingWhitespace) and trailing.comment is not None:
            out.append(cst.EmptyLine(comment=trailing.comment))
    return out


def footer_comments(block: cst.BaseSuite) -> list[cst.EmptyLine]:
    if isinstance(block, cst.IndentedBlock):
        return [ln for ln in block.footer if ln.comment is not None]
    return []
