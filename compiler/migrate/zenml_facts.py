"""What the ZenML dialect learns about a file before rewriting it: imports, steps, pipelines.

The first pass reads the untouched libcst module: which local names are ZenML's
(`from zenml import step as s`), which functions are steps and pipelines, the
module-level values a decorator may name (`model = Model(...)`), which steps each
pipeline calls, and how a legacy pipeline's step slots are bound where it is run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

#: Where ZenML's own step libraries live: their steps have no portaflow equivalent.
INTEGRATIONS = "zenml.integrations"


@dataclass(slots=True)
class Facts:
    """The first pass's findings about one module."""

    #: Local name -> ZenML's name for it, from `from zenml... import X as local`.
    names: dict[str, str] = field(default_factory=dict)
    #: Local name -> module, for names imported from zenml.integrations.
    integration: dict[str, str] = field(default_factory=dict)
    #: Local names bound to a zenml module (`import zenml`, `import zenml as zn`).
    modules: set[str] = field(default_factory=set)
    #: Step function name -> its definition.
    steps: dict[str, cst.FunctionDef] = field(default_factory=dict)
    #: Pipeline function name -> its definition.
    pipelines: dict[str, cst.FunctionDef] = field(default_factory=dict)
    #: Module-level `NAME = expr` (the last binding wins).
    values: dict[str, cst.BaseExpression] = field(default_factory=dict)
    #: Pipeline -> names of the functions its body calls.
    calls: dict[str, set[str]] = field(default_factory=dict)
    #: Legacy pipeline -> slot -> step function bound to it where the pipeline is run.
    slots: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Pipeline -> the arguments of `p.with_options(...)` in the statement that runs it.
    options: dict[str, list[cst.Arg]] = field(default_factory=dict)
    #: Local names imported from modules other than zenml (steps may come from there).
    imported: set[str] = field(default_factory=set)
    #: Whether `Annotated` is imported from typing as that name.
    has_annotated: bool = False

    def zenml_name(self, expr: cst.BaseExpression) -> str | None:
        """ZenML's name for `expr` (`s` -> "step", `zenml.step` -> "step"), or None."""
        if isinstance(expr, cst.Name):
            return self.names.get(expr.value)
        if isinstance(expr, cst.Attribute):
            root = expr.value
            while isinstance(root, cst.Attribute):
                root = root.value
            if isinstance(root, cst.Name) and root.value in self.modules:
                return expr.attr.value
        return None

    def decorator_kind(self, fn: cst.FunctionDef) -> tuple[str, cst.Decorator] | None:
        """("step" | "pipeline", the decorator) when `fn` carries ZenML's decorator."""
        for dec in fn.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            kind = self.zenml_name(target)
            if kind in ("step", "pipeline"):
                return kind, dec
        return None


def dotted(expr: cst.BaseExpression) -> str:
    """`a.b.c` as text; "" for anything else."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        head = dotted(expr.value)
        return f"{head}.{expr.attr.value}" if head else ""
    return ""


def called_names(body: cst.BaseSuite) -> set[str]:
    """Names called anywhere in a function body (`train(df)` -> "train")."""
    found: set[str] = set()

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name):
                found.add(node.func.value)

    body.visit(Calls())
    return found


def legacy_binding(facts: Facts, expr: cst.BaseExpression) -> tuple[str, dict[str, str]] | None:
    """`p(slot=stepfn(), ...)` (optionally `.run()`) -> ("p", {"slot": "stepfn"}) for a legacy pipeline."""
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "run"
    ):
        expr = expr.func.value
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name)):
        return None
    name = expr.func.value
    if name not in facts.pipelines or not expr.args:
        return None
    out: dict[str, str] = {}
    for arg in expr.args:
        value = arg.value
        if (
            arg.keyword is None
            or not isinstance(value, cst.Call)
            or not isinstance(value.func, cst.Name)
            or value.args
        ):
            return None
        out[arg.keyword.value] = value.func.value
    return name, out


#: A statement as libcst gives it (both kinds carry leading_lines).
Stmt = cst.SimpleStatementLine | cst.BaseCompoundStatement


def stmt(node: cst.BaseStatement) -> Stmt:
    """`node` as one of the two concrete statement kinds (libcst has no third)."""
    assert isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    return node


def main_body(node: cst.BaseStatement) -> list[Stmt] | None:
    """The statements of an `if __name__ == "__main__":` block (no else), or None."""
    if not isinstance(node, cst.If) or node.orelse is not None or not is_main_guard(node):
        return None
    if not isinstance(node.body, cst.IndentedBlock):
        return None
    return [stmt(s) for s in node.body.body]


def _statements(module: cst.Module) -> list[Stmt]:
    """Top-level statements, and those of `if __name__ == "__main__":` blocks."""
    out: list[Stmt] = []
    for node in module.body:
        out.append(node)
        out.extend(main_body(node) or ())
    return out


def is_main_guard(stmt: cst.If) -> bool:
    """Whether `stmt` is `if __name__ == "__main__":` (either quote style, either side)."""
    test = stmt.test
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return False
    if not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    sides = [test.left, test.comparisons[0].comparator]
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [
        s for s in sides if isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__"
    ]
    return len(names) == 1 and len(strings) == 1


def collect(module: cst.Module) -> Facts:
    """Run the first pass over an unmodified module."""
    facts = Facts()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None:
                _from_import(facts, small)
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    name = dotted(alias.name)
                    if name == "zenml" or name.startswith("zenml."):
                        local = alias.asname.name if alias.asname else alias.name
                        if isinstance(local, cst.Name):
                            facts.modules.add(local.value)
                        elif name.startswith("zenml."):
                            facts.modules.add("zenml")
            elif isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name):
                    facts.values[target.value] = small.value
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            found = facts.decorator_kind(stmt)
            if found is not None and found[0] == "step":
                facts.steps[stmt.name.value] = stmt
            elif found is not None:
                facts.pipelines[stmt.name.value] = stmt
                facts.calls[stmt.name.value] = called_names(stmt.body)
    for line in _statements(module):
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
            if (
                isinstance(small, cst.Expr)
                and isinstance(value, cst.Call)
                and isinstance(value.func, cst.Call)
                and isinstance(value.func.func, cst.Attribute)
                and value.func.func.attr.value == "with_options"
                and isinstance(value.func.func.value, cst.Name)
                and value.func.func.value.value in facts.pipelines
            ):
                facts.options[value.func.func.value.value] = list(value.func.args)
            bound = legacy_binding(facts, value) if value is not None else None
            if bound is not None:
                facts.slots[bound[0]] = bound[1]
                facts.calls[bound[0]] |= set(bound[1].values())
    return facts


def _from_import(facts: Facts, node: cst.ImportFrom) -> None:
    assert node.module is not None
    module = dotted(node.module) if not node.relative else ""
    if module == "typing" and not isinstance(node.names, cst.ImportStar):
        facts.has_annotated |= any(
            isinstance(a.name, cst.Name)
            and a.name.value == "Annotated"
            and (a.asname is None or _alias(a) == "Annotated")
            for a in node.names
        )
    if isinstance(node.names, cst.ImportStar):
        return
    if not (module == "zenml" or module.startswith("zenml.")):
        facts.imported.update(_alias(a) for a in node.names)
        return
    for alias in node.names:
        local = _alias(alias)
        original = dotted(alias.name)
        if module.startswith(INTEGRATIONS):
            facts.integration[local] = module
        else:
            facts.names[local] = original


def _alias(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return dotted(alias.name)
