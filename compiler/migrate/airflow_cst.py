"""libcst plumbing for the Airflow dialect: comments kept across rewrites, arguments appended."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst


def comments(node: cst.CSTNode) -> list[str]:
    """Every comment inside a node, in source order."""
    found: list[str] = []

    class _Find(cst.CSTVisitor):
        def visit_Comment(self, node: cst.Comment) -> None:
            found.append(node.value)

    node.visit(_Find())
    return found


def comment_lines(texts: Sequence[str]) -> list[cst.EmptyLine]:
    return [cst.EmptyLine(comment=cst.Comment(t)) for t in texts]


def lost_comments(old: Sequence[cst.CSTNode], new: Sequence[cst.CSTNode]) -> list[str]:
    """Comments of `old` that `new` no longer holds (multiset difference, in order)."""
    have: dict[str, int] = {}
    for n in new:
        for c in comments(n):
            have[c] = have.get(c, 0) + 1
    out = []
    for n in old:
        for c in comments(n):
            if have.get(c, 0):
                have[c] -= 1
            else:
                out.append(c)
    return out


def keep_comments(
    old: Sequence[cst.CSTNode], new: list[cst.BaseStatement]
) -> list[cst.BaseStatement]:
    """`new` with every comment of `old` it dropped written above its first statement."""
    lost = lost_comments(old, new)
    if not lost or not new:
        return new
    first = new[0]
    lines = [*comment_lines(lost), *leading(first)]
    return [first.with_changes(leading_lines=lines), *new[1:]]


def leading(stmt: cst.BaseStatement) -> list[cst.EmptyLine]:
    """The blank and comment lines above a statement."""
    lines: list[cst.EmptyLine] = list(getattr(stmt, "leading_lines", ()))
    return lines


def removed_lines(stmt: cst.BaseStatement) -> list[cst.EmptyLine]:
    """What must survive of a removed statement: its comments, with the blank lines above them."""
    own = comments(stmt)
    if not own:
        return []
    lines = leading(stmt)
    above = {ln.comment.value for ln in lines if ln.comment is not None}
    return lines + comment_lines([c for c in own if c not in above])


def append_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """`f(a, b)` -> `f(a, b, arg)`, following a multi-line call's layout."""
    args = list(call.args)
    if not args:
        return call.with_changes(args=[arg])
    last = args[-1]
    comma = last.comma
    multiline = isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    )
    if not multiline:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return call.with_changes(args=[*args, arg])
    if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
        sep = args[-2].comma
    else:
        sep = cst.Comma(whitespace_after=call.whitespace_before_args)
    args[-1] = last.with_changes(comma=sep)
    return call.with_changes(args=[*args, arg.with_changes(comma=comma)])


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """`name=value` with no spaces around `=`."""
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def expr(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def simple(small: cst.BaseSmallStatement) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[small])
