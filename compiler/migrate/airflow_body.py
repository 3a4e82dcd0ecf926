"""The Airflow dialect's DAG function: its decorator, parameters and body become a `@pipeline`.

The body is read in two passes. The first finds every task call (`t(...)`,
`t.expand(...)`, `t.partial(...).expand(...)`), what each statement binds and the
dependencies `>>` / `<<` / `chain()` declare; the second writes the statements
back with `after=`, comprehensions and the `if`s that branches imply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from portaflow.compiler.migrate.airflow_cst import comment_lines, kwarg, lost_comments
from portaflow.compiler.migrate.airflow_decorators import (
    code,
    dag_params,
    decorator,
    schedule_text,
    trigger_rule,
)
from portaflow.compiler.migrate.airflow_dependencies import Edge, read_dependencies
from portaflow.compiler.migrate.airflow_tasks import (
    JOIN_RULES,
    dict_keys,
    dotted,
    kwargs,
    return_type,
    returns,
    string_value,
)

if TYPE_CHECKING:
    from portaflow.compiler.migrate.airflow import Migrator
    from portaflow.compiler.migrate.airflow_module import Names, TaskFn

_DAG_DOCS = {"tags", "description", "doc_md", "owner_links", "default_view", "orientation"}
_DAG_DROPPED = {
    "start_date", "end_date", "max_active_runs", "max_active_tasks", "dagrun_timeout",
    "render_template_as_native_obj", "is_paused_upon_creation", "max_consecutive_failed_dag_runs",
    "fail_fast", "template_searchpath", "user_defined_macros", "user_defined_filters",
    "access_control", "jinja_environment_kwargs", "dag_display_name",
}  # fmt: skip
_DEFAULTS_KNOWN = {
    "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "execution_timeout",
    "trigger_rule",
}  # fmt: skip


@dataclass
class DagPlan:
    """A rewritten DAG function and what its tasks' rewrite needs to know."""

    function: cst.FunctionDef
    #: Task functions defined inside the DAG function, in order (they move above it).
    hoisted: list[str] = field(default_factory=list)
    #: default_args entries, as options every task takes unless it sets its own.
    defaults: dict[str, cst.Arg] = field(default_factory=dict)
    #: Task function -> the annotation of the parameter its result is passed to.
    hints: dict[str, str] = field(default_factory=dict)
    #: (task function, key) -> annotation, for `r["key"]` of multiple outputs.
    key_hints: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Task function -> its output keys, when the body reads `r["key"]`.
    multi: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Inv:
    """One task call in the DAG body."""

    fn: str
    #: The Airflow task id this call gets (`t`, `t__1`, ...): what a branch returns.
    airflow_id: str
    #: The original call node (`t(...)` or the `.expand(...)` call).
    node: cst.Call
    #: Position in source order (statement index, order within it).
    order: tuple[int, int]
    #: The name the statement binds to this call's result.
    var: str | None = None
    #: Calls whose results this one reads.
    data: list[Inv] = field(default_factory=list)
    #: Order-only upstream calls (`>>` from a non-branch task).
    after: list[Inv] = field(default_factory=list)
    #: `choice == "id"` tests from upstream branch tasks.
    tests: list[str] = field(default_factory=list)


class _Body:
    def __init__(
        self, fn: cst.FunctionDef, tasks: dict[str, TaskFn], names: Names, m: Migrator
    ) -> None:
        self.fn = fn
        self.tasks = tasks
        self.names = names
        self.m = m
        self.plan = DagPlan(function=fn)
        self.invs: list[Inv] = []
        self.by_node: dict[cst.Call, Inv] = {}
        self.vars: dict[str, Inv] = {}
        self.counts: dict[str, int] = {}
        self.params: set[str] = set()
        self.taken: set[str] = set(tasks)
        #: Statement index -> the task calls written inside a dependency statement there.
        self.inline: dict[int, list[Inv]] = {}

    # ------------------------------------------------------------------ first pass

    def task_call(self, node: cst.BaseExpression) -> tuple[str, cst.Call | None] | None:
        """(task function, the partial() call) when `node` calls a task, directly or by expand."""
        if not isinstance(node, cst.Call):
            return None
        f = node.func
        if isinstance(f, cst.Name) and f.value in self.tasks:
            return f.value, None
        if isinstance(f, cst.Attribute) and f.attr.value == "expand":
            inner = f.value
            if isinstance(inner, cst.Name) and inner.value in self.tasks:
                return inner.value, None
            if (
                isinstance(inner, cst.Call)
                and isinstance(inner.func, cst.Attribute)
                and inner.func.attr.value == "partial"
                and isinstance(inner.func.value, cst.Name)
                and inner.func.value.value in self.tasks
            ):
                return inner.func.value.value, inner
        return None

    def new_inv(self, fn: str, node: cst.Call, order: tuple[int, int]) -> Inv:
        t = self.tasks[fn]
        task_id = t.option("task_id")
        base = (string_value(task_id.value) if task_id else None) or fn
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        inv = Inv(fn, base if n == 0 else f"{base}__{n}", node, order)
        self.invs.append(inv)
        self.by_node[node] = inv
        return inv

    def find_calls(self, value: cst.BaseExpression, index: int) -> list[Inv]:
        """Every task call inside an expression, innermost first (Airflow's creation order)."""
        found: list[Inv] = []
        body = self

        class _Find(cst.CSTVisitor):
            def leave_Call(self, node: cst.Call) -> None:
                got = body.task_call(node)
                if got is None:
                    if (
                        isinstance(node.func, cst.Attribute)
                        and isinstance(node.func.value, cst.Name)
                        and node.func.value.value in body.tasks
                        and node.func.attr.value != "partial"
                    ):
                        body.m.report(
                            node,
                            "PF866",
                            f"`.{node.func.attr.value}(...)` on a task is not translated",
                            "call the step directly; per-call options go on its `@step`",
                        )
                    return
                found.append(body.new_inv(got[0], node, (index, len(found))))

        value.visit(_Find())
        for inv in found:
            inv.data = self.reads(inv.node)
        return found

    def reads(self, node: cst.CSTNode) -> list[Inv]:
        out: list[Inv] = []
        body = self

        class _Names(cst.CSTVisitor):
            def visit_Name(self, n: cst.Name) -> None:
                inv = body.vars.get(n.value)
                if inv is not None and inv not in out:
                    out.append(inv)

            def visit_Call(self, n: cst.Call) -> None:
                inv = body.by_node.get(n)
                if inv is not None and n is not node and inv not in out:
                    out.append(inv)

        node.visit(_Names())
        return out

    # ------------------------------------------------------------------ decorator

    def decorator(
        self, deco: cst.Decorator, args: list[cst.Arg], consts: dict[str, cst.BaseExpression]
    ) -> cst.Decorator:
        m = self.m
        opts = {a.keyword.value: a for a in args if a.keyword is not None}
        for arg in args:
            if arg.keyword is None:
                m.report(
                    arg,
                    "PF872",
                    "a positional `@dag` argument; it was dropped",
                    'name it: `@dag(dag_id="etl")` becomes `@pipeline(name="etl")`',
                )
        parts: list[str] = []
        if "dag_id" in opts:
            parts.append(f"name={code(opts['dag_id'].value)}")
        catchup = "catchup" in opts and code(opts["catchup"].value) not in ("False", "0")
        tz = None
        start = opts.get("start_date")
        if start is not None and isinstance(start.value, cst.Call):
            tz_arg = kwargs(start.value).get("tz") or kwargs(start.value).get("tzinfo")
            tz = string_value(tz_arg.value) if tz_arg else None
        sched = opts.get("schedule") or opts.get("schedule_interval")
        if sched is not None:
            text = schedule_text(sched, catchup, tz, m)
            if text:
                self.names.portaflow.add("Schedule")
                parts.append(f"schedule={text}")
        dropped = []
        for key, arg in opts.items():
            if key in ("dag_id", "schedule", "schedule_interval", "catchup", "params", *_DAG_DOCS):
                continue
            if key == "default_args":
                self.defaults(arg, consts)
            elif key in _DAG_DROPPED:
                dropped.append(key)
            else:
                m.report(
                    arg,
                    "PF872",
                    f"DAG argument `{key}` has no portaflow equivalent; it was dropped",
                    "a @pipeline takes name, schedule, model, image, on_failure and on_exit "
                    "(failure callbacks become an `on_failure=` step)",
                )
        if dropped:
            m.report(
                opts[dropped[0]],
                "PF868",
                f"Airflow-only DAG settings dropped: {', '.join(dropped)}",
                "set them in the orchestrator; portaflow schedules from `Schedule(cron=...)`",
                severity="warning",
            )
        self.names.portaflow.add("pipeline")
        text = f"pipeline({', '.join(parts)})" if parts else "pipeline"
        return decorator(text, deco)

    def defaults(self, arg: cst.Arg, consts: dict[str, cst.BaseExpression]) -> None:
        value = arg.value
        if isinstance(value, cst.Name) and value.value in consts:
            value = consts[value.value]
        if not isinstance(value, cst.Dict):
            self.m.report(
                arg,
                "PF864",
                "`default_args` is not a dict literal, so it cannot be read",
                "write the options on each `@task(...)`",
            )
            return
        dropped = []
        for el in value.elements:
            key = string_value(el.key) if isinstance(el, cst.DictElement) else None
            if key is None or not isinstance(el, cst.DictElement):
                self.m.report(
                    el,
                    "PF864",
                    'a default_args entry that is not `"key": value`',
                    "write literal keys",
                )
                continue
            if key in _DEFAULTS_KNOWN:
                self.plan.defaults[key] = kwarg(key, el.value)
            else:
                dropped.append(key)
        if dropped:
            self.m.report(
                arg,
                "PF868",
                f"default_args with no portaflow meaning dropped: {', '.join(dropped)}",
                "portaflow steps take retries, timeout, resources, image, env, secrets and cache",
                severity="warning",
            )


def rewrite_dag(
    fn: cst.FunctionDef,
    tasks: dict[str, TaskFn],
    names: Names,
    m: Migrator,
    consts: dict[str, cst.BaseExpression],
) -> DagPlan:
    from portaflow.compiler.migrate.airflow_module import dag_decorator
    from portaflow.compiler.migrate.airflow_rebuild import rebuild_body

    b = _Body(fn, tasks, names, m)
    found = dag_decorator(fn, names)
    assert found is not None
    deco, args = found
    new_deco = b.decorator(deco, args, consts)
    params, b.params = dag_params({a.keyword.value: a for a in args if a.keyword}, fn, m)
    b.taken |= b.params
    if not isinstance(fn.body, cst.IndentedBlock):
        m.report(fn, "PF866", "a one-line DAG function", "write its body on its own lines")
        b.plan.function = fn
        return b.plan
    kinds: list[str] = []
    edges: list[Edge] = []
    for i, stmt in enumerate(fn.body.body):
        kinds.append(_first_pass(b, i, stmt, edges))
    body = rebuild_body(b, list(fn.body.body), kinds, edges)
    decorators = [new_deco if d is deco else d for d in fn.decorators]
    new_fn = fn.with_changes(decorators=decorators, params=params, body=body)
    kept = [s for s, k in zip(fn.body.body, kinds, strict=True) if k != "hoisted"]
    lost = lost_comments([*fn.decorators, fn.params, *kept], [new_fn])
    lines = [*comment_lines(lost), *new_fn.leading_lines]
    b.plan.function = new_fn.with_changes(leading_lines=lines)
    return b.plan


def _first_pass(b: _Body, i: int, stmt: cst.BaseStatement, edges: list[Edge]) -> str:
    if isinstance(stmt, cst.FunctionDef) and stmt.name.value in b.tasks:
        b.plan.hoisted.append(stmt.name.value)
        return "hoisted"
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        b.m.report(
            stmt,
            "PF866",
            "a statement the pipeline body cannot hold; it was left as it is",
            "a @pipeline body calls steps, assigns their results and uses if/for",
        )
        return "other"
    small = stmt.body[0]
    if isinstance(small, cst.Expr) and i == 0 and string_value(small.value) is not None:
        return "doc"
    if isinstance(small, (cst.Pass, cst.Return)):
        return "keep"
    value = getattr(small, "value", None)
    if isinstance(small, cst.Expr) and _is_dependency(b, small.value):
        edges.extend(read_dependencies(b, small.value, i))
        return "dep"
    if isinstance(small, (cst.Expr, cst.Assign)) and isinstance(value, cst.BaseExpression):
        found = b.find_calls(value, i)
        if found:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name):
                    b.taken.add(target.value)
                    if b.by_node.get(value) is not None:  # type: ignore[call-overload]
                        inv = b.by_node[value]  # type: ignore[index]
                        inv.var = target.value
                        b.vars[target.value] = inv
            return "call"
    b.m.report(
        stmt,
        "PF866",
        "a statement that is not a task call or a dependency; it was left as it is",
        "a @pipeline body calls steps, assigns their results and uses if/for",
    )
    return "other"


def _is_dependency(b: _Body, value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.BinaryOperation):
        return isinstance(value.operator, (cst.RightShift, cst.LeftShift))
    return isinstance(value, cst.Call) and (
        dotted(value.func) in b.names.of("chain") or dotted(value.func).endswith(".chain")
    )


def branch_test(b: _Body, up: Inv, var: str, target: Inv) -> str:
    """`choice == "big"`, or `"big" in choice` when the branch returns lists."""
    t = b.tasks[up.fn]
    ann = code(t.node.returns.annotation) if t.node.returns else (return_type(t.node) or "")
    if ann.startswith(("list", "List")):
        return f'"{target.airflow_id}" in {var}'
    return f'{var} == "{target.airflow_id}"'


def is_join(b: _Body, inv: Inv) -> bool:
    arg = b.tasks[inv.fn].option("trigger_rule") or b.plan.defaults.get("trigger_rule")
    return arg is not None and trigger_rule(arg) in JOIN_RULES


def output_keys(b: _Body, fn: str) -> list[str] | None:
    """The keys every `return {...}` of a task spells, in order; None when they differ."""
    found = None
    for r in returns(b.tasks[fn].node):
        keys = dict_keys(r.value) if r.value is not None else None
        if keys is None:
            return None
        names = [k for k, _v in keys]
        if found is not None and names != found:
            return None
        found = names
    return found
