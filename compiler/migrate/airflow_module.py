"""The Airflow dialect's module pass: find the DAG and its tasks, rewrite them, fix the imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from portaflow.compiler.migrate.airflow_cst import (
    keep_comments,
    leading,
    removed_lines,
)
from portaflow.compiler.migrate.airflow_tasks import dotted

if TYPE_CHECKING:
    from portaflow.compiler.migrate.airflow import Migrator

#: Names the Airflow SDK exports that the rules translate, by their canonical name.
_KNOWN = {"dag", "task", "Param", "chain", "TriggerRule", "DAG", "get_current_context"}


@dataclass
class Names:
    """What the file's imports bind: local name -> Airflow name, and what portaflow needs."""

    #: Local name -> canonical Airflow name ("dag", "task", "Param", ...).
    airflow: dict[str, str] = field(default_factory=dict)
    #: Names that spell `datetime.timedelta`.
    timedelta: set[str] = field(default_factory=set)
    #: Names the rewritten file needs from portaflow.
    portaflow: set[str] = field(default_factory=set)
    #: Whether the rewritten file needs `typing.Annotated`.
    annotated: bool = False

    def of(self, canonical: str) -> set[str]:
        return {k for k, v in self.airflow.items() if v == canonical}


@dataclass
class TaskFn:
    """One `@task` function."""

    name: str
    node: cst.FunctionDef
    decorator: cst.Decorator
    #: "" for @task / @task.python, else the flavour: "branch", "docker", ...
    flavour: str
    #: The decorator call's arguments ([] when written bare).
    args: list[cst.Arg]
    #: The DAG function it is defined in (None at module level).
    dag: str | None = None

    def option(self, name: str) -> cst.Arg | None:
        for a in self.args:
            if a.keyword is not None and a.keyword.value == name:
                return a
        return None


def read_imports(module: cst.Module) -> Names:
    names = Names()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                mod = dotted(small.module) if small.module else ""
                for alias in small.names:
                    real = alias.name.value if isinstance(alias.name, cst.Name) else ""
                    local = alias.evaluated_alias or real
                    if mod.split(".")[0] == "airflow" and real in _KNOWN:
                        names.airflow[local] = real
                    if mod == "datetime" and real == "timedelta":
                        names.timedelta.add(local)
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if dotted(alias.name) == "datetime":
                        names.timedelta.add(f"{alias.evaluated_alias or 'datetime'}.timedelta")
    names.timedelta.add("pendulum.duration")
    return names


def task_decorator(
    fn: cst.FunctionDef, names: Names
) -> tuple[cst.Decorator, str, list[cst.Arg]] | None:
    """(decorator, flavour, args) when `fn` is decorated with Airflow's `@task`."""
    tasks = names.of("task")
    for deco in fn.decorators:
        d = deco.decorator
        call_args: list[cst.Arg] = []
        if isinstance(d, cst.Call):
            call_args = list(d.args)
            d = d.func
        if isinstance(d, cst.Name) and d.value in tasks:
            return deco, "", call_args
        if (
            isinstance(d, cst.Attribute)
            and isinstance(d.value, cst.Name)
            and d.value.value in tasks
        ):
            flavour = d.attr.value
            return deco, "" if flavour == "python" else flavour, call_args
    return None


def dag_decorator(fn: cst.FunctionDef, names: Names) -> tuple[cst.Decorator, list[cst.Arg]] | None:
    for deco in fn.decorators:
        d = deco.decorator
        call_args: list[cst.Arg] = []
        if isinstance(d, cst.Call):
            call_args = list(d.args)
            d = d.func
        if isinstance(d, cst.Name) and d.value in names.of("dag"):
            return deco, call_args
    return None


def rewrite_module(module: cst.Module, m: Migrator) -> str:
    from portaflow.compiler.migrate.airflow_body import rewrite_dag
    from portaflow.compiler.migrate.airflow_decorators import rewrite_task

    names = read_imports(module)
    if not names.of("dag") and not names.of("task"):
        m.report(
            None,
            "PF861",
            "no Airflow TaskFlow `dag` or `task` import found; nothing was migrated",
            "import them as `from airflow.sdk import dag, task` (or airflow.decorators)",
        )
        return module.code
    tasks: dict[str, TaskFn] = {}
    dags: list[cst.FunctionDef] = []
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            found = task_decorator(stmt, names)
            if found:
                tasks[stmt.name.value] = TaskFn(stmt.name.value, stmt, *found)
            elif dag_decorator(stmt, names):
                dags.append(stmt)
                for inner in stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ():
                    if isinstance(inner, cst.FunctionDef) and (got := task_decorator(inner, names)):
                        tasks[inner.name.value] = TaskFn(
                            inner.name.value, inner, *got, dag=stmt.name.value
                        )
        elif isinstance(stmt, cst.With) and "DAG" in m.source:
            m.report(
                stmt,
                "PF870",
                "a classic `with DAG(...)` block: only the TaskFlow API (`@dag`, `@task`) is migrated",
                "rewrite the operators as `@task` functions called in a `@dag` function first",
            )
    if not dags:
        m.report(
            None,
            "PF861",
            "no `@dag` function found; only `@task` functions were migrated",
            "portaflow needs a `@pipeline` function calling the steps",
        )
    dag_names = {d.name.value for d in dags}
    consts: dict[str, cst.BaseExpression] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign):
            assign = stmt.body[0]
            if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
                consts[assign.targets[0].target.value] = assign.value
    plans = {d.name.value: rewrite_dag(d, tasks, names, m, consts) for d in dags}
    new_tasks: dict[str, cst.FunctionDef] = {}
    for name, t in tasks.items():
        plan = plans.get(t.dag or "") or (next(iter(plans.values())) if len(plans) == 1 else None)
        new_tasks[name] = rewrite_task(t, plan, names, m)
    body: list[cst.BaseStatement] = []
    carry: list[cst.EmptyLine] = []  # comments of removed statements, for the next one
    dag_vars: set[str] = set()
    for stmt in module.body:
        out: list[cst.BaseStatement]
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in tasks:
            out = [new_tasks[stmt.name.value]]
        elif isinstance(stmt, cst.FunctionDef) and stmt.name.value in plans:
            plan = plans[stmt.name.value]
            hoisted = [_module_level(new_tasks[n], stmt) for n in plan.hoisted]
            out = [*hoisted, plan.function]
        elif _is_dag_call(stmt, dag_names, dag_vars):
            carry += removed_lines(stmt)
            continue
        else:
            out = [stmt]
        if carry:
            first = out[0]
            out[0] = first.with_changes(leading_lines=[*carry, *leading(first)])
            carry = []
        body.extend(out)
    new = module.with_changes(body=body)
    if carry:
        new = new.with_changes(footer=[*carry, *new.footer])
    new = _fix_imports(new, names)
    return new.code


def _module_level(fn: cst.FunctionDef, dag: cst.FunctionDef) -> cst.FunctionDef:
    """A task function moved out of the DAG function: two blank lines above, docstring dedented."""
    lines = [ln for ln in fn.leading_lines if ln.comment is not None]
    fn = fn.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *lines])
    body = fn.body
    indent = dag.body.indent if isinstance(dag.body, cst.IndentedBlock) else None
    width = len(indent) if isinstance(indent, str) else 4
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return fn
    first = body.body[0]
    if not (isinstance(first, cst.SimpleStatementLine) and isinstance(first.body[0], cst.Expr)):
        return fn
    doc = first.body[0].value
    if not isinstance(doc, cst.SimpleString) or "\n" not in doc.value:
        return fn
    pad = " " * width
    text = "\n".join(
        ln[width:] if i and ln.startswith(pad) else ln for i, ln in enumerate(doc.value.split("\n"))
    )
    new_first = first.with_changes(
        body=[first.body[0].with_changes(value=doc.with_changes(value=text))]
    )
    return fn.with_changes(body=body.with_changes(body=[new_first, *body.body[1:]]))


def _is_dag_call(stmt: cst.BaseStatement, dags: set[str], dag_vars: set[str]) -> bool:
    """`etl()`, `dag = etl()`, `etl().test()` and `if __name__ == "__main__": dag.test()`."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        value = getattr(small, "value", None)
        if isinstance(small, (cst.Expr, cst.Assign)) and _calls_dag(value, dags, dag_vars):
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    if isinstance(t.target, cst.Name):
                        dag_vars.add(t.target.value)
            return True
        return False
    if (
        isinstance(stmt, cst.If)
        and stmt.orelse is None
        and "__main__" in cst.Module(body=[]).code_for_node(stmt.test)
        and isinstance(stmt.body, cst.IndentedBlock)
    ):
        return all(
            isinstance(s, cst.SimpleStatementLine)
            and all(isinstance(x, cst.Expr) and _calls_dag(x.value, dags, dag_vars) for x in s.body)
            for s in stmt.body.body
        )
    return False


def _calls_dag(value: object, dags: set[str], dag_vars: set[str]) -> bool:
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    if isinstance(func, cst.Name):
        return func.value in dags
    if isinstance(func, cst.Attribute) and func.attr.value in ("test", "cli"):
        inner = func.value
        if isinstance(inner, cst.Name):
            return inner.value in dag_vars
        return _calls_dag(inner, dags, dag_vars)
    return False


class _NameUse(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _fix_imports(module: cst.Module, names: Names) -> cst.Module:
    """Drop the Airflow names no longer used; import what portaflow's spelling needs."""
    use = _NameUse()
    module.visit(use)
    needed = sorted(names.portaflow)
    annotated = names.annotated and "Annotated" not in use_imported(module)
    body: list[cst.BaseStatement] = []
    carry: list[cst.EmptyLine] = []
    placed = False
    for stmt in module.body:
        new: list[cst.BaseStatement] = [stmt]
        if isinstance(stmt, cst.SimpleStatementLine):
            smalls, replaced = _drop_airflow_names(stmt, names, use.names)
            if replaced:
                new = [stmt.with_changes(body=smalls)] if smalls else []
                if not placed and needed:
                    if annotated:
                        new.append(cst.parse_statement("from typing import Annotated"))
                    new.append(cst.parse_statement(f"from portaflow import {', '.join(needed)}"))
                    placed = True
                if not new:
                    carry += removed_lines(stmt)
                    continue
                new[0] = new[0].with_changes(leading_lines=stmt.leading_lines)
                new = keep_comments([stmt], new)
        if carry:
            new[0] = new[0].with_changes(leading_lines=[*carry, *leading(new[0])])
            carry = []
        body.extend(new)
    module = module.with_changes(body=body)
    if carry:
        module = module.with_changes(footer=[*module.footer, *carry])
    return module


def _drop_airflow_names(
    stmt: cst.SimpleStatementLine, names: Names, used: set[str]
) -> tuple[list[cst.BaseSmallStatement], bool]:
    smalls: list[cst.BaseSmallStatement] = []
    replaced = False
    for small in stmt.body:
        if (
            isinstance(small, cst.ImportFrom)
            and small.module is not None
            and dotted(small.module).split(".")[0] == "airflow"
            and not isinstance(small.names, cst.ImportStar)
        ):
            keep = [
                a
                for a in small.names
                if (a.evaluated_alias or dotted(a.name)) not in names.airflow
                or (a.evaluated_alias or dotted(a.name)) in used
            ]
            if len(keep) == len(small.names):
                smalls.append(small)
                continue
            replaced = True
            if keep:
                keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                smalls.append(small.with_changes(names=keep))
        else:
            smalls.append(small)
    return smalls, replaced


def use_imported(module: cst.Module) -> set[str]:
    """Names bound by `from typing import ...` in the module."""
    out: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.ImportFrom)
                    and small.module is not None
                    and dotted(small.module) in ("typing", "typing_extensions")
                    and not isinstance(small.names, cst.ImportStar)
                ):
                    out |= {a.evaluated_alias or dotted(a.name) for a in small.names}
    return out
