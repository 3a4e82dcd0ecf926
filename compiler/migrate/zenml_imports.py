"""ZenML imports -> portaflow's, once the rest of the file is rewritten.

The first ZenML import becomes `from portaflow import ...`: the decorators under the
names the file uses, then every config type the rewrite introduced. A ZenML name the
rewritten file no longer mentions is dropped; one it still uses (`Client`,
`get_step_context`, an integration step) keeps its import and is reported, since the
file then still needs ZenML installed.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from portaflow.compiler.migrate import zenml_config as config
from portaflow.compiler.migrate.zenml_facts import INTEGRATIONS, Facts, Stmt, dotted, stmt

#: ZenML names whose portaflow counterpart keeps the same local name.
_DSL = {"step": "step", "pipeline": "pipeline", "log_metadata": "log_metadata"}
#: Advice for ZenML names a migrated file may still use.
_ADVICE = {
    "Client": "read runs and artifacts with `portaflow runs show RUN_ID`; a step receives its "
    "inputs as arguments",
    "get_step_context": "a portaflow step receives everything as arguments; record values "
    "with `log_metadata(...)`",
    "BaseParameters": "make each field a typed parameter of the step, with its default",
    "BaseStepConfig": "make each field a typed parameter of the step, with its default",
    "DockerSettings": "build the image yourself and pass `@step(image=...)`",
}
#: ZenML helpers the standard library has: name -> (module, name there).
_STDLIB = {"get_logger": ("logging", "getLogger")}


def used_names(body: Sequence[cst.BaseStatement]) -> set[str]:
    """Names read anywhere outside import statements."""
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    for node in body:
        node.visit(Names())
    return found


def _zenml_import(stmt: cst.CSTNode) -> cst.ImportFrom | None:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if not isinstance(small, cst.ImportFrom) or small.module is None or small.relative:
        return None
    module = dotted(small.module)
    if module != "zenml" and not module.startswith("zenml."):
        return None
    return None if isinstance(small.names, cst.ImportStar) else small


def _unused_zenml_module(node: cst.CSTNode, used: set[str]) -> bool | None:
    """For `import zenml` (or `import zenml.x as y`): whether the rewritten file no longer
    reads it; None for any other statement."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    small = node.body[0]
    if not isinstance(small, cst.Import):
        return None
    names = [dotted(a.name) for a in small.names]
    if not all(n == "zenml" or n.startswith("zenml.") for n in names):
        return None
    return not any(_local(a).split(".")[0] in used for a in small.names)


def _local(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return dotted(alias.name)


def rewrite_imports(
    facts: Facts,
    originals: Sequence[Stmt],
    updated: Sequence[Stmt],
    used: set[str],
    needs: set[str],
    keep_zenml: set[str],
    add_annotated: bool,
    report: config.Report,
) -> list[list[Stmt]]:
    """Per original statement, what replaces it ([] where an import is removed)."""
    out: list[list[Stmt]] = []
    portaflow: list[cst.ImportAlias] = []
    first: int | None = None
    for orig, new in zip(originals, updated, strict=True):
        unused = _unused_zenml_module(orig, used)
        if unused is not None:
            first = len(out) if first is None else first
            out.append([] if unused else [new])
            if not unused:
                report(
                    "PF830",
                    "error",
                    orig,
                    "the file still uses the zenml module, which has no portaflow equivalent",
                    "rewrite the code that uses `zenml.`; a portaflow step gets its inputs as "
                    "arguments",
                )
            continue
        node = _zenml_import(orig)
        if node is None:
            out.append([new])
            continue
        assert isinstance(node.names, (list, tuple))
        module = dotted(node.module) if node.module else ""
        kept: list[cst.ImportAlias] = []
        stdlib: list[Stmt] = []
        for alias in node.names:
            local = _local(alias)
            name = dotted(alias.name)
            if module.startswith(INTEGRATIONS) and (local in used or ".steps" in module):
                kept.append(alias)
                tool = module.split(".")[2] if module.count(".") >= 2 else "?"
                what = "a step" if ".steps" in module else "a name"
                report(
                    "PF830",
                    "error",
                    alias,
                    f"{name!r} is {what} of ZenML's {tool} integration, which has no "
                    "portaflow equivalent",
                    "write the step yourself as a @step that calls the tool's own client",
                )
            elif module.startswith(INTEGRATIONS):
                continue  # e.g. zenml.integrations.constants, read only by dropped options
            elif name in _STDLIB and local in used:
                where, real = _STDLIB[name]
                text = f"from {where} import {real}" + (f" as {local}" if local != real else "")
                stdlib.append(stmt(cst.parse_statement(text + "\n")))
            elif name in _DSL and name not in keep_zenml and local in used:
                portaflow.append(alias)
            elif config.CONFIG_CLASSES.get(name) in needs and local not in keep_zenml:
                portaflow.append(cst.ImportAlias(name=cst.Name(config.CONFIG_CLASSES[name])))
            elif local in used:
                kept.append(alias)
                report(
                    "PF830",
                    "error",
                    alias,
                    f"{name!r} from {module} is still used and has no portaflow equivalent",
                    _ADVICE.get(name, "rewrite the code that uses it"),
                )
        if first is None:
            first = len(out)
        if kept:
            kept[-1] = kept[-1].with_changes(comma=node.names[-1].comma)
            stdlib.append(new.with_changes(body=[node.with_changes(names=kept)]))
        if stdlib:
            stdlib[0] = stdlib[0].with_changes(leading_lines=new.leading_lines)
        out.append(stdlib)
    if first is None:
        return out
    names: list[cst.ImportAlias] = []
    for alias in portaflow:
        if _local(alias) not in {_local(a) for a in names}:
            names.append(_plain(alias))
    have = {_local(a) for a in names}
    for extra in sorted(needs - have):
        names.append(cst.ImportAlias(name=cst.Name(extra)))
    statements: list[Stmt] = []
    if add_annotated:
        statements.append(stmt(cst.parse_statement("from typing import Annotated\n")))
    if names:
        commas = [
            a.with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                if i < len(names) - 1
                else cst.MaybeSentinel.DEFAULT
            )
            for i, a in enumerate(names)
        ]
        statements.append(
            cst.SimpleStatementLine([cst.ImportFrom(module=cst.Name("portaflow"), names=commas)])
        )
    if not statements:
        return out
    lead = originals[first].leading_lines
    statements[0] = statements[0].with_changes(leading_lines=lead)
    out[first] = [*statements, *(s.with_changes(leading_lines=[]) for s in out[first])]
    return out


def _plain(alias: cst.ImportAlias) -> cst.ImportAlias:
    return alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)
