"""`portaflow migrate --from zenml`: a ZenML pipeline file -> a portaflow pipeline file.

One libcst pass over the module (after `zenml_facts.collect` has read it): decorators
(zenml_decorators), config objects (zenml_config), output annotations, pipeline bodies
(zenml_body), the statements that run a pipeline (zenml_runs) and finally the imports.
What has no portaflow equivalent stays as it was, or is dropped when keeping it would
break the file, and is reported with a PF83x diagnostic.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from portaflow.compiler.diagnostics import Diagnostic, Severity
from portaflow.compiler.migrate import zenml_config as config
from portaflow.compiler.migrate.base import MigrateResult, at_range
from portaflow.compiler.migrate.zenml_body import PipelineBody
from portaflow.compiler.migrate.zenml_decorators import Decorators, Pushdown
from portaflow.compiler.migrate.zenml_facts import Facts, collect, main_body
from portaflow.compiler.migrate.zenml_imports import rewrite_imports, used_names
from portaflow.compiler.migrate.zenml_rules import RULES
from portaflow.compiler.migrate.zenml_runs import RunCalls, comment_lines, run_target
from portaflow.compiler.sourcetext import deepest_node

__all__ = ["RULES", "migrate"]

_NOT_A_LITERAL = config.literal(cst.Ellipsis())


def migrate(source: str, path: str) -> MigrateResult:
    """Rewrite a ZenML pipeline file; never raises on user input."""
    try:
        return _migrate(source, path)
    except RecursionError:  # libcst walks trees recursively; _MAX_DEPTH keeps this rare
        too_deep = Diagnostic(
            code="PF102",
            severity="error",
            message="the file is nested too deeply to rewrite",
            path=path,
            hint="split the deepest expression into several statements",
        )
        return MigrateResult(code=source, diagnostics=[too_deep])


def _migrate(source: str, path: str) -> MigrateResult:
    diagnostics: list[Diagnostic] = []
    lines = source.splitlines()
    refused = _refuse(source, path, lines)
    if refused is not None:
        return MigrateResult(code=source, diagnostics=[refused])
    bom = "\ufeff" if source.startswith("\ufeff") else ""
    try:
        wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        message = exc.message if isinstance(exc, cst.ParserSyntaxError) else "too deeply nested"
        line = max(exc.raw_line, 1) if isinstance(exc, cst.ParserSyntaxError) else 0
        diagnostics.append(
            Diagnostic(
                code="PF100",
                severity="error",
                message=f"libcst cannot read this file: {message}",
                path=path,
                line=line,
                col=exc.raw_column + 1 if isinstance(exc, cst.ParserSyntaxError) else 0,
                source_line=lines[line - 1] if 0 < line <= len(lines) else "",
                hint="fix the syntax, then migrate again",
            )
        )
        return MigrateResult(code=source, diagnostics=diagnostics)
    positions = wrapper.resolve(PositionProvider)

    def report(code: str, severity: Severity, node: cst.CSTNode, message: str, hint: str) -> None:
        where: CodeRange | None = positions.get(node)
        diagnostics.append(
            at_range(code, severity, message, hint, path=path, lines=lines, where=where)
        )

    module = wrapper.module
    facts = collect(module)
    rewriter = _Rewriter(facts, path, report)
    out = module.visit(rewriter)
    return MigrateResult(code=bom + out.code, diagnostics=_unique(diagnostics))


#: Deepest syntax tree rewritten. libcst's parser and visitors recurse: far deeper input
#: (thousands of nested brackets or operators) can exhaust the C stack, or take seconds.
_MAX_DEPTH = 100


def _refuse(source: str, path: str, lines: list[str]) -> Diagnostic | None:
    """A located PF100/PF102 for a file Python itself refuses, or too deep to rewrite safely."""
    try:
        tree = ast.parse(source.removeprefix("\ufeff"))
    except SyntaxError as exc:
        line = exc.lineno or 0
        return Diagnostic(
            code="PF100",
            severity="error",
            message=f"syntax error: {exc.msg}",
            path=path,
            line=line,
            col=max(exc.offset or 1, 1) if line else 0,
            source_line=lines[line - 1] if 0 < line <= len(lines) else "",
            hint="fix the syntax, then migrate again",
        )
    except (ValueError, RecursionError, MemoryError) as exc:
        too_deep = not isinstance(exc, ValueError)
        return Diagnostic(
            code="PF102" if too_deep else "PF100",
            severity="error",
            message="the file is nested too deeply to rewrite"
            if too_deep
            else f"the file is not Python source: {exc}",
            path=path,
            hint="split the deepest expression into several statements",
        )
    depth, node = deepest_node(tree)
    if depth <= _MAX_DEPTH:
        return None
    line = getattr(node, "lineno", 0)
    return Diagnostic(
        code="PF102",
        severity="error",
        message="this expression is nested too deeply (or is too long) to rewrite",
        path=path,
        line=line,
        col=getattr(node, "col_offset", 0) + 1 if line else 0,
        source_line=lines[line - 1] if 0 < line <= len(lines) else "",
        hint="split very long or deeply nested expressions into several statements",
    )


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """In source order, each message once (a config value may be read twice)."""
    seen: dict[tuple[int, int, str, str], Diagnostic] = {}
    for d in diagnostics:
        seen.setdefault((d.line, d.col, d.code, d.message), d)
    return sorted(seen.values(), key=lambda d: (d.line, d.col, d.code))


class _Rewriter(cst.CSTTransformer):
    """The one pass that rewrites the module."""

    def __init__(self, facts: Facts, path: str, report: config.Report) -> None:
        super().__init__()
        self.facts = facts
        self.path = path
        self.report = report
        self.decorators = Decorators(facts, report)
        #: portaflow names the rewritten file uses and must import.
        self.needs: set[str] = set()
        #: ZenML names some use of which could not be translated (their import stays).
        self.keep_zenml: set[str] = set()
        #: Whether the Annotated[...] being left had an ArtifactConfig.
        self.rewrote_outputs = False
        #: Whether an `Annotated` import must be added.
        self.wants_annotated = False
        self.pushdown = self._pushdowns()

    def _pushdowns(self) -> dict[str, Pushdown]:
        """Step name -> what it inherits from the pipeline that calls it."""
        quiet = Decorators(self.facts, lambda *a: None)
        out: dict[str, Pushdown] = {}
        for name, fn in self.facts.pipelines.items():
            found = self.facts.decorator_kind(fn)
            assert found is not None
            got = quiet.rewrite("pipeline", self._with_options(name, found[1]))
            if not got.pushdown.args:
                continue
            reached = self._reached(name)
            for called in sorted(reached):
                if called in self.facts.steps:
                    out.setdefault(called, got.pushdown)
            imported = sorted(c for c in reached if c in self.facts.imported)
            for c in imported:
                if c not in self.facts.pipelines and c not in self.facts.slots.get(name, {}):
                    self.report(
                        "PF836",
                        "warning",
                        found[1],
                        f"pipeline {name!r} sets {sorted(got.pushdown.args)} for its steps, "
                        f"but {c!r} is not defined in this file",
                        f"set them on {c!r}'s own @step(...) where it is defined",
                    )
        return out

    def _reached(self, name: str) -> set[str]:
        """What a pipeline calls, through the pipelines of this file it calls (ZenML applies
        a pipeline's options to every step of the run, composed ones too)."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            for called in self.facts.calls.get(todo.pop(), ()):
                if called not in seen:
                    seen.add(called)
                    if called in self.facts.pipelines:
                        todo.append(called)
        return seen

    def _with_options(self, name: str, dec: cst.Decorator) -> cst.Decorator:
        """The decorator, with `name.with_options(...)`'s arguments (from the run call) added."""
        options = self.facts.options.get(name)
        if not options:
            return dec
        call = dec.decorator if isinstance(dec.decorator, cst.Call) else cst.Call(dec.decorator)
        given = {a.keyword.value for a in options if a.keyword is not None}
        kept = [a for a in call.args if a.keyword is None or a.keyword.value not in given]
        return dec.with_changes(decorator=call.with_changes(args=[*kept, *options]))

    # --- expressions -------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        kind = self.facts.zenml_name(original_node.func)
        if kind in config.CONFIG_CLASSES:
            got = self.decorators.value(original_node)
            if got[0] is not None and got[0] is not original_node:
                self.needs |= got[1]
                return got[0]
        if kind == "log_metadata":
            return self._log_metadata(original_node, updated_node)
        if kind == "ExternalArtifact":
            return self._external_artifact(original_node, updated_node)
        return updated_node

    def _external_artifact(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args = updated.args
        if len(args) == 1 and (args[0].keyword is None or args[0].keyword.value == "value"):
            value = args[0].value
            if config.literal(value) is not _NOT_A_LITERAL or isinstance(
                value, (cst.List, cst.Dict, cst.Tuple)
            ):
                return value
        self.keep_zenml.add("ExternalArtifact")
        self.report(
            "PF830",
            "error",
            original,
            "an ExternalArtifact that is not a literal value stays ZenML's",
            "pass the value as a pipeline parameter: `@pipeline def p(query: str = ...)`",
        )
        return updated

    def _log_metadata(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args = updated.args
        if len(args) == 1 and args[0].keyword is not None and args[0].keyword.value == "metadata":
            self.needs.add("log_metadata")
            return updated.with_changes(args=[cst.Arg(value=args[0].value, star="**")])
        self.keep_zenml.add("log_metadata")  # ZenML's stays: its import too
        self.report(
            "PF830",
            "error",
            original,
            "log_metadata(...) that targets an artifact, a model or another step stays ZenML's",
            "portaflow's `log_metadata(**values)` records metadata of the running step only",
        )
        return updated

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        if not (
            isinstance(original_node.value, cst.Name)
            and original_node.value.value in ("Annotated",)
        ) and not (
            isinstance(original_node.value, cst.Attribute)
            and original_node.value.attr.value == "Annotated"
        ):
            return updated_node
        elements = list(updated_node.slice)
        unnamed: set[int] = set()
        for i, orig in enumerate(original_node.slice):
            value = orig.slice.value if isinstance(orig.slice, cst.Index) else None
            if not isinstance(value, cst.Call) or i == 0:
                continue
            kind = self.facts.zenml_name(value.func)
            if kind is None or not kind.endswith("ArtifactConfig"):
                continue
            name = next(
                (a.value for a in value.args if a.keyword and a.keyword.value == "name"), None
            )
            for a in value.args:
                if a.keyword is not None and a.keyword.value != "name":
                    self.report(
                        "PF831",
                        "warning",
                        a,
                        f"ArtifactConfig({a.keyword.value}=...) is dropped",
                        'portaflow names an output with `Annotated[T, "name"]` and versions '
                        "every artifact itself",
                    )
            if name is not None and not isinstance(config.literal(name), str):
                self.report(
                    "PF834",
                    "error",
                    name,
                    "an ArtifactConfig name that is not a string literal cannot name the output",
                    'write the name itself: `Annotated[T, "dataset"]`',
                )
            if name is None:
                unnamed.add(i)
            else:
                elements[i] = elements[i].with_changes(slice=cst.Index(name))
            self.rewrote_outputs = True
        if not self.rewrote_outputs:
            return updated_node
        self.rewrote_outputs = False
        kept = [e for i, e in enumerate(elements) if i not in unnamed]
        if len(kept) == 1:
            only = kept[0].slice
            assert isinstance(only, cst.Index)
            return only.value
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(slice=kept)

    # --- definitions -------------------------------------------------------------

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        found = self.facts.decorator_kind(original_node)
        if found is None:
            return updated_node
        kind, dec = found
        name = original_node.name.value
        if kind == "pipeline":
            dec = self._with_options(name, dec)
        got = self.decorators.rewrite(kind, dec, self.pushdown.get(name))
        self.needs |= got.needs
        index = original_node.decorators.index(found[1])
        decorators = list(updated_node.decorators)
        decorators[index] = got.decorator
        new = updated_node.with_changes(decorators=decorators)
        if kind == "step":
            new = self._legacy_output(original_node, new)
        else:
            new = self._pipeline_body(name, new)
        return _keep_comments(original_node, new)

    def _pipeline_body(self, name: str, fn: cst.FunctionDef) -> cst.FunctionDef:
        slots = self.facts.slots.get(name, {})
        params = [p.name.value for p in fn.params.params]
        if params and all(p.annotation is None for p in fn.params.params):
            if not slots:
                self.report(
                    "PF837",
                    "error",
                    self.facts.pipelines[name].name,
                    f"legacy pipeline {name!r} takes its steps as parameters, and no "
                    f"`{name}(slot=step(), ...).run()` in this file says which",
                    "call the steps by name in the body and remove the parameters",
                )
            elif set(params) <= set(slots):
                fn = fn.with_changes(params=cst.Parameters())
        body = PipelineBody(slots, self.report)
        body.prepare(fn.body)
        new_body = fn.body.visit(body)
        assert isinstance(new_body, cst.BaseSuite)
        return fn.with_changes(body=new_body)

    def _legacy_output(self, original: cst.FunctionDef, fn: cst.FunctionDef) -> cst.FunctionDef:
        returns = original.returns
        ann = returns.annotation if returns is not None else None
        if not (isinstance(ann, cst.Call) and self.facts.zenml_name(ann.func) == "Output"):
            return fn
        code = cst.Module([]).code_for_node
        parts = []
        for arg in ann.args:
            if arg.keyword is None:
                self.report("PF834", "error", arg, "Output(...) with a positional argument", "")
                return fn
            parts.append(f'Annotated[{code(arg.value)}, "{arg.keyword.value}"]')
        self.wants_annotated = True
        text = parts[0] if len(parts) == 1 else f"tuple[{', '.join(parts)}]"
        assert fn.returns is not None
        return fn.with_changes(
            returns=fn.returns.with_changes(annotation=cst.parse_expression(text))
        )

    # --- module ------------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        runs = [s for s in updated_node.body if not _runs_pipeline(self.facts, s)]
        dead = {
            name
            for name in self.decorators.inlined
            if _reads(runs, name) == sum(1 for s in runs if _assigns(s, {name}))
        }
        kept = [s for s in updated_node.body if not _assigns(s, dead)]
        replaced = rewrite_imports(
            self.facts,
            list(original_node.body),
            list(updated_node.body),
            used_names(kept),
            self.needs,
            self.keep_zenml,
            self.wants_annotated and not self.facts.has_annotated,
            self.report,
        )
        calls = RunCalls(self.facts, self.path, self._run_hint, dead)
        body, tail = calls.statements(original_node.body, replaced, indent=False)
        footer = [*tail, *updated_node.footer] if tail else list(updated_node.footer)
        return updated_node.with_changes(body=body, footer=footer)

    def _run_hint(self, node: cst.CSTNode, message: str, command: str, complete: bool) -> None:
        hint = f"run it with `{command}`" + (
            "" if complete else " and pass the remaining arguments as --param NAME=VALUE"
        )
        self.report("PF833", "warning", node, message, hint)


def _reads(statements: Sequence[cst.BaseStatement], name: str) -> int:
    """How often `name` is read or assigned in `statements` (keywords of calls do not count)."""
    count = 0

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal count
            count += node.value == name

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

    for stmt in statements:
        stmt.visit(Names())
    return count


def _runs_pipeline(facts: Facts, stmt: cst.BaseStatement) -> bool:
    """Whether a top-level statement (or a main guard holding only such) runs a pipeline."""
    inner = main_body(stmt)
    if inner is not None:
        return all(_runs_pipeline(facts, s) for s in inner)
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    return isinstance(small, cst.Expr) and run_target(facts, small.value) is not None


def _assigns(stmt: cst.BaseStatement, names: set[str] | None = None) -> set[str]:
    """The names a top-level `name = ...` statement binds (within `names` when given)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return set()
    small = stmt.body[0]
    if not isinstance(small, cst.Assign):
        return set()
    got = {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}
    return got & names if names is not None else got


def _keep_comments(original: cst.CSTNode, updated: cst.FunctionDef) -> cst.FunctionDef:
    """Comments the rewrite dropped (inside removed arguments) move above the definition."""
    after = Counter(c.comment.value for c in comment_lines(updated) if c.comment)
    lines: list[cst.EmptyLine] = []
    for line in comment_lines(original):
        assert line.comment is not None
        if after[line.comment.value] > 0:
            after[line.comment.value] -= 1
        else:
            lines.append(line)
    if not lines:
        return updated
    return updated.with_changes(leading_lines=[*updated.leading_lines, *lines])
