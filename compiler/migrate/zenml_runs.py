"""The statements that run a ZenML pipeline when the file is executed -> a `portaflow run` hint.

`ml_pipeline()` at module level (or under `if __name__ == "__main__":`) runs the
pipeline in ZenML; a portaflow pipeline is compiled, never called. The statement is
removed and a comment in its place says how to run the pipeline now, its literal
arguments turned into `--param` flags. The legacy `p(slot=step()).run()` form (and an
instance assigned first, then `.run()`) is removed the same way once its slots are
bound into the pipeline body. Comments on removed statements move to the next one.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from pathlib import PurePath

import libcst as cst

from portaflow.compiler.migrate import zenml_config as config
from portaflow.compiler.migrate.zenml_facts import Facts, Stmt, legacy_binding, main_body


def run_target(facts: Facts, expr: cst.BaseExpression) -> tuple[str, cst.Call] | None:
    """(pipeline, the call holding its run arguments) when `expr` runs a pipeline of the file."""
    bound = legacy_binding(facts, expr)
    if bound is not None:
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            return bound[0], cst.Call(func=cst.Name(bound[0]), args=[])
        return None  # an instance, not a run: `run_instance` removes the statement
    if not isinstance(expr, cst.Call):
        return None
    func = expr.func
    if isinstance(func, cst.Name) and func.value in facts.pipelines:
        return func.value, expr
    if (  # p.with_options(...)(...)
        isinstance(func, cst.Call)
        and isinstance(func.func, cst.Attribute)
        and func.func.attr.value == "with_options"
        and isinstance(func.func.value, cst.Name)
        and func.func.value.value in facts.pipelines
    ):
        return func.func.value.value, expr
    return None


def run_hint(path: str, call: cst.Call) -> tuple[str, bool]:
    """The `portaflow run` command for a run call, and whether every argument became a flag.

    The command goes into a comment: text that is not printable on one line (a newline
    in a string argument or a file name) is never written into it.
    """
    flags = []
    complete = True
    for arg in call.args:
        value = config.literal(arg.value)
        text = "" if value is _NOT else value if isinstance(value, str) else json.dumps(value)
        if arg.keyword is None or value is _NOT or not text.isprintable():
            complete = False
            continue
        flags.append(f" --param {shlex.quote(f'{arg.keyword.value}={text}')}")
    name = PurePath(path).name
    shown = shlex.quote(name) if name.isprintable() and name else "FILE"
    return f"portaflow run {shown}{''.join(flags)}", complete


_NOT = config.literal(cst.Ellipsis())


def comment_lines(node: cst.CSTNode) -> list[cst.EmptyLine]:
    """Every comment inside `node`, each as a line of its own."""
    found: list[cst.EmptyLine] = []

    class Comments(cst.CSTVisitor):
        def visit_Comment(self, c: cst.Comment) -> None:
            found.append(cst.EmptyLine(comment=c))

    node.visit(Comments())
    return found


def _removed_lines(stmt: Stmt) -> list[cst.EmptyLine]:
    """What a removed statement leaves: its leading lines, blank ones too, then its other comments."""
    lead = list(stmt.leading_lines)
    return [*lead, *comment_lines(stmt.with_changes(leading_lines=[]))]


Hint = Callable[[cst.CSTNode, str, str, bool], None]


class RunCalls:
    """Removes the statements that run pipelines from a statement list."""

    def __init__(self, facts: Facts, path: str, hint: Hint, dead: set[str]) -> None:
        self.facts = facts
        #: Module-level names whose assignment can go (their value was inlined, nothing else reads them).
        self.dead = dead
        self.path = path
        self.hint = hint
        #: Name assigned a legacy pipeline instance (`p = my_pipeline(a=s())`) -> the pipeline.
        self.instance_of: dict[str, str] = {}

    def statements(
        self,
        originals: Sequence[Stmt],
        updated: Sequence[Sequence[Stmt]],
        indent: bool,
    ) -> tuple[list[Stmt], list[cst.EmptyLine]]:
        """The statements with runs removed, and comment lines left over at the end.

        `updated` holds, per original statement, what replaces it so far (several
        statements for a rewritten import, none for a removed one).
        """
        out: list[Stmt] = []
        carry: list[cst.EmptyLine] = []
        for orig, news in zip(originals, updated, strict=True):
            if len(news) != 1:
                if not news:
                    carry += _removed_lines(orig)
                    continue
                first, *rest = news
                if any(line.comment for line in carry):
                    first = first.with_changes(leading_lines=[*carry, *first.leading_lines])
                carry = []
                out += [first, *rest]
                continue
            new = news[0]
            replaced = self._statement(orig, new)
            if replaced is None:
                carry += _removed_lines(new)
                carry += self._hints(orig)
                continue
            if any(line.comment for line in carry):
                replaced = replaced.with_changes(leading_lines=[*carry, *replaced.leading_lines])
            carry = []
            out.append(replaced)
        if indent:  # comments at the end of a block keep its indentation
            carry = [line.with_changes(indent=True) for line in carry]
        return out, carry

    def _hints(self, orig: Stmt) -> list[cst.EmptyLine]:
        lines = []
        for run in self._runs(orig):
            command, _ = run_hint(self.path, run[1])
            lines.append(cst.EmptyLine(comment=cst.Comment(f"# Run it with: {command}")))
        return lines

    def _runs(self, orig: Stmt) -> list[tuple[str, cst.Call]]:
        inner = main_body(orig)
        if inner is not None:
            return [r for s in inner for r in self._runs(s)]
        if not isinstance(orig, cst.SimpleStatementLine):
            return []
        runs = []
        for small in orig.body:
            if isinstance(small, cst.Expr):
                found = run_target(self.facts, small.value)
                if found is not None:
                    runs.append(found)
                elif self._instance_run(small.value):
                    name = self._instance_pipeline(small.value)
                    runs.append((name, cst.Call(func=cst.Name(name), args=[])))
        return runs

    def _instance_pipeline(self, expr: cst.BaseExpression) -> str:
        assert isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
        assert isinstance(expr.func.value, cst.Name)
        return self.instance_of[expr.func.value.value]

    def _instance_run(self, expr: cst.BaseExpression) -> bool:
        return (
            isinstance(expr, cst.Call)
            and not expr.args
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "run"
            and isinstance(expr.func.value, cst.Name)
            and expr.func.value.value in self.instance_of
        )

    def _statement(self, orig: Stmt, new: Stmt) -> Stmt | None:
        inner, now = main_body(orig), main_body(new)
        if inner is not None and now is not None and isinstance(new, cst.If):
            body, tail = self.statements(inner, [[s] for s in now], indent=True)
            if not body:
                return None
            block = new.body
            assert isinstance(block, cst.IndentedBlock)
            block = block.with_changes(body=body, footer=[*block.footer, *tail])
            return new.with_changes(body=block)
        if not isinstance(orig, cst.SimpleStatementLine) or len(orig.body) != 1:
            return new
        small = orig.body[0]
        if isinstance(small, cst.Expr):
            found = run_target(self.facts, small.value)
            if found is not None:
                command, complete = run_hint(self.path, found[1])
                self.hint(
                    small,
                    f"`{found[0]}({'...' if found[1].args else ''})` ran the pipeline in ZenML; "
                    "the call is removed",
                    command,
                    complete,
                )
                return None
            if self._instance_run(small.value):
                name = self._instance_pipeline(small.value)
                command, _ = run_hint(self.path, cst.Call(func=cst.Name(name)))
                self.hint(small, f"`{name}` ran in ZenML; the call is removed", command, True)
                return None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Name) and target.value in self.dead:
                return None
            bound = legacy_binding(self.facts, small.value)
            if (
                bound is not None
                and isinstance(target, cst.Name)
                and not (
                    isinstance(small.value, cst.Call)
                    and isinstance(small.value.func, cst.Attribute)
                )
            ):
                self.instance_of[target.value] = bound[0]
                return None
        return new
