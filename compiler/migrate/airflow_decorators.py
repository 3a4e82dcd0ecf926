"""The Airflow dialect's decorators: `@task(...)` -> `@step(...)`, `@dag(...)` -> `@pipeline(...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from portaflow.compiler.migrate.airflow_cst import comment_lines, expr, lost_comments
from portaflow.compiler.migrate.airflow_tasks import (
    CRON_PRESETS,
    JOIN_RULES,
    PARAM_TYPES,
    dict_keys,
    dotted,
    duration,
    literal_type,
    return_type,
    returns,
    string_value,
)

if TYPE_CHECKING:
    from portaflow.compiler.migrate.airflow import Migrator
    from portaflow.compiler.migrate.airflow_body import DagPlan
    from portaflow.compiler.migrate.airflow_module import Names, TaskFn

#: Parameters through which Airflow hands a task its run context.
CONTEXT_NAMES = {
    "ti", "task_instance", "ds", "ds_nodash", "ts", "logical_date", "execution_date", "dag_run",
    "params", "conf", "data_interval_start", "data_interval_end", "run_id", "dag", "task",
    "macros", "templates_dict", "var", "outlets", "inlets", "triggering_asset_events",
}  # fmt: skip
#: Task options that only document the task.
_DOC_OPTIONS = {"doc", "doc_md", "doc_rst", "doc_json", "doc_yaml", "multiple_outputs"}
#: default_args keys with no portaflow meaning (notification and ownership settings).
_DEFAULTS_DROPPED = {
    "owner", "email", "email_on_failure", "email_on_retry", "depends_on_past", "start_date",
    "end_date", "wait_for_downstream", "sla", "queue", "pool", "priority_weight",
}  # fmt: skip
#: Task options that tune Airflow's own scheduler or executor: dropped with a warning.
_AIRFLOW_TUNING = {
    "pool", "pool_slots", "queue", "priority_weight", "weight_rule", "executor", "executor_config",
    "owner", "email", "email_on_failure", "email_on_retry", "depends_on_past",
    "wait_for_downstream", "max_active_tis_per_dag", "max_active_tis_per_dagrun", "do_xcom_push",
    "map_index_template", "show_return_value_in_logs", "run_as_user",
}  # fmt: skip
_FLAVOURS_WITH_IMAGE = {"docker", "kubernetes"}
_FLAVOURS_PYTHON = {"virtualenv", "external_python", "pyspark"}

_EMPTY = cst.Module(body=[])


def code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def decorator(text: str, old: cst.Decorator) -> cst.Decorator:
    """A new decorator from text, keeping the old one's lines above and its comments."""
    new = cst.Decorator(decorator=expr(text), trailing_whitespace=old.trailing_whitespace)
    lost = lost_comments([old.decorator], [new.decorator])
    return new.with_changes(leading_lines=[*old.leading_lines, *comment_lines(lost)])


def retry_text(
    opts: dict[str, cst.Arg], names: Names, m: Migrator, node: cst.CSTNode
) -> str | None:
    """`retries=3, retry_delay=timedelta(minutes=1)` -> `Retry(max=3, delay="1m", ...)`."""
    retries = opts.get("retries")
    if retries is None:
        return None
    if not isinstance(retries.value, cst.Integer):
        m.report(retries, "PF864", "`retries` is not an integer literal", "write `retries=3`")
        return None
    parts = [f"max={retries.value.value}"]
    delay: str | int | None = "5m"  # Airflow's default retry_delay is five minutes
    if "retry_delay" in opts:
        delay = duration(opts["retry_delay"].value, names.timedelta)
        if delay is None:
            m.report(
                opts["retry_delay"],
                "PF864",
                "`retry_delay` is not a literal duration",
                'write it as `timedelta(minutes=5)`; portaflow takes `Retry(delay="5m")`',
            )
            delay = "5m"
    parts.append(f"delay={delay!r}" if isinstance(delay, str) else f"delay={delay}")
    expo = opts.get("retry_exponential_backoff")
    exponential = expo is not None and code(expo.value) not in ("False", "0")
    parts.append(f'backoff="{"exponential" if exponential else "fixed"}"')
    if "max_retry_delay" in opts:
        most = duration(opts["max_retry_delay"].value, names.timedelta)
        if most is not None:
            parts.append(f"max_delay={most!r}" if isinstance(most, str) else f"max_delay={most}")
    names.portaflow.add("Retry")
    return f"Retry({', '.join(p.replace(chr(39), chr(34)) for p in parts)})"


def step_options(t: TaskFn, defaults: dict[str, cst.Arg], names: Names, m: Migrator) -> list[str]:
    """The `@step(...)` arguments for a task's decorator options and the DAG's default_args."""
    own = {a.keyword.value: a for a in t.args if a.keyword is not None}
    for a in t.args:
        if a.keyword is None:
            m.report(a, "PF864", "a positional argument to `@task`", "name the task's options")
    opts = {k: v for k, v in defaults.items() if k not in _DEFAULTS_DROPPED} | own
    out: list[str] = []
    if "task_id" in own:
        out.append(f"name={code(own['task_id'].value)}")
    if t.flavour in _FLAVOURS_WITH_IMAGE and "image" in own:
        out.append(f"image={code(own['image'].value)}")
    retry = retry_text(opts, names, m, t.decorator)
    if retry:
        out.append(f"retries={retry}")
    if "execution_timeout" in opts:
        limit = duration(opts["execution_timeout"].value, names.timedelta)
        if limit is None:
            m.report(
                opts["execution_timeout"],
                "PF864",
                "`execution_timeout` is not a literal duration",
                'write it as `timedelta(hours=1)`; portaflow takes `timeout="1h"`',
            )
        else:
            out.append(f"timeout={limit!r}".replace("'", '"'))
    handled = {"task_id", "retries", "retry_delay", "retry_exponential_backoff"}
    handled |= {"max_retry_delay", "execution_timeout", *_DOC_OPTIONS}
    if t.flavour in _FLAVOURS_WITH_IMAGE:
        handled.add("image")
    for key, arg in own.items():
        if key in handled:
            continue
        if key == "trigger_rule" and trigger_rule(arg) in (JOIN_RULES | {"all_success"}):
            continue
        tuning = key in _AIRFLOW_TUNING or t.flavour in (*_FLAVOURS_WITH_IMAGE, *_FLAVOURS_PYTHON)
        m.report(
            arg,
            "PF864",
            f"task option `{key}` has no portaflow equivalent; it was dropped",
            "portaflow steps take retries, timeout, resources, image, env, secrets and cache",
            severity="warning" if tuning else "error",
        )
    return out


def trigger_rule(arg: cst.Arg) -> str:
    text = string_value(arg.value)
    if text is not None:
        return text
    name = dotted(arg.value)
    return name.rsplit(".", 1)[-1].lower() if name else ""


def rewrite_task(t: TaskFn, plan: DagPlan | None, names: Names, m: Migrator) -> cst.FunctionDef:
    fn = t.node
    if t.flavour not in ("", "branch", *_FLAVOURS_WITH_IMAGE, *_FLAVOURS_PYTHON):
        m.report(
            t.decorator,
            "PF863",
            f"`@task.{t.flavour}` has no portaflow equivalent; the task was left as it is",
            "write the work as plain Python in a `@step`",
        )
        return fn
    if t.flavour in _FLAVOURS_PYTHON:
        m.report(
            t.decorator,
            "PF863",
            f"`@task.{t.flavour}` becomes a plain `@step`: its requirements must be in the image",
            'install them in the image and name it: `@step(image="...")`',
            severity="warning",
        )
    _check_context(fn, m)
    names.portaflow.add("step")
    options = step_options(t, plan.defaults if plan else {}, names, m)
    deco = decorator(f"step({', '.join(options)})" if options else "step", t.decorator)
    decorators = [deco if d is t.decorator else d for d in fn.decorators]
    fn = fn.with_changes(decorators=decorators)
    keys = plan.multi.get(t.name) if plan else None
    if keys:
        return _multiple_outputs(fn, t, keys, plan, names)
    if fn.returns is None:
        ann = _annotation(t, plan)
        if ann:
            fn = fn.with_changes(returns=cst.Annotation(annotation=expr(ann)))
    return fn


def _annotation(t: TaskFn, plan: DagPlan | None) -> str | None:
    found = return_type(t.node)
    if t.flavour == "branch":
        if found is not None and found.startswith("list"):
            return "list[str]"
        return "str" if found == "str" else "str | None"
    if found is not None:
        return found
    return plan.hints.get(t.name) if plan else None


def _multiple_outputs(
    fn: cst.FunctionDef, t: TaskFn, keys: list[str], plan: DagPlan | None, names: Names
) -> cst.FunctionDef:
    """`return {"a": x, "b": y}` -> `return x, y` with one named output per key."""
    first = dict_keys(returns(t.node)[0].value or cst.Name("None"))
    value_type = None
    if fn.returns is not None:
        ann = fn.returns.annotation
        if isinstance(ann, cst.Subscript) and len(ann.slice) == 2:
            value_type = code(ann.slice[1].slice)
    types = []
    for key, value in first or []:
        hint = plan.key_hints.get((t.name, key)) if plan else None
        types.append(hint or value_type or literal_type(value) or "object")
    names.annotated = True
    parts = [f'Annotated[{typ}, "{key}"]' for key, typ in zip(keys, types, strict=True)]
    ann_text = parts[0] if len(parts) == 1 else f"tuple[{', '.join(parts)}]"
    own = set(returns(t.node))

    class _Returns(cst.CSTTransformer):
        def leave_Return(self, original: cst.Return, updated: cst.Return) -> cst.Return:
            if original not in own or original.value is None:
                return updated
            pairs = dict_keys(original.value) or []
            values = ", ".join(code(v) for _k, v in pairs)
            return updated.with_changes(value=expr(values))

    fn = fn.with_changes(body=t.node.body.visit(_Returns()))
    return fn.with_changes(returns=cst.Annotation(annotation=expr(ann_text)))


def _check_context(fn: cst.FunctionDef, m: Migrator) -> None:
    params = fn.params
    star = params.star_kwarg
    if isinstance(star, cst.Param):
        m.report(
            star,
            "PF865",
            f"the task reads Airflow's run context through `**{star.name.value}`",
            "pass what it needs as arguments (pipeline parameters or step outputs)",
        )
    for p in [*params.params, *params.kwonly_params]:
        if p.name.value in CONTEXT_NAMES and p.annotation is None:
            m.report(
                p,
                "PF865",
                f"`{p.name.value}` is filled from Airflow's run context, which portaflow has not",
                "pass what it needs as arguments (pipeline parameters or step outputs)",
            )

    class _Ctx(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if dotted(node.func).endswith("get_current_context"):
                m.report(
                    node,
                    "PF865",
                    "`get_current_context()` reads Airflow's run context, which portaflow has not",
                    "pass what it needs as arguments (pipeline parameters or step outputs)",
                )

    fn.body.visit(_Ctx())


def schedule_text(arg: cst.Arg, catchup: bool, tz: str | None, m: Migrator) -> str | None:
    """`schedule="@daily"` -> `Schedule(cron="0 0 * * *")`; None when there is none (or no way)."""
    if isinstance(arg.value, cst.Name) and arg.value.value == "None":
        return None
    text = string_value(arg.value)
    cron = CRON_PRESETS.get(text or "", text)
    if cron is None or cron.startswith("@") or len(cron.split()) != 5:
        m.report(
            arg,
            "PF862",
            "a schedule portaflow cannot express (only five-field cron and the @daily-style presets)",
            'write it as cron: `schedule=Schedule(cron="0 3 * * *")`',
        )
        return ""
    extra = ", catchup=True" if catchup else ""
    extra += f", timezone={tz!r}".replace("'", '"') if tz else ""
    return f"Schedule(cron={cron!r}{extra})".replace("'", '"') if '"' not in cron else None


def param_annotation(value: cst.BaseExpression, m: Migrator) -> tuple[str | None, str | None]:
    """(annotation, default code) of one `params` entry: a literal or `Param(default, type=...)`."""
    if isinstance(value, cst.Call) and dotted(value.func).split(".")[-1] == "Param":
        default = next((a.value for a in value.args if a.keyword is None), None)
        for a in value.args:
            if a.keyword is not None and a.keyword.value == "default":
                default = a.value
        typ = next((a for a in value.args if a.keyword and a.keyword.value == "type"), None)
        ann = None
        if typ is not None:
            one = string_value(typ.value)
            if one is not None:
                ann = PARAM_TYPES.get(one)
            elif isinstance(typ.value, cst.List):
                kinds = [string_value(e.value) for e in typ.value.elements]
                mapped = [PARAM_TYPES.get(k or "") for k in kinds]
                if all(mapped):
                    ann = " | ".join(str(x) for x in mapped)
        if ann is None and default is not None:
            ann = literal_type(default)
        return ann, code(default) if default is not None else None
    return literal_type(value), code(value)


def dag_params(
    args: dict[str, cst.Arg], fn: cst.FunctionDef, m: Migrator
) -> tuple[cst.Parameters, set[str]]:
    """The pipeline's parameters: the DAG function's own, typed, then the `params` entries."""
    params: list[cst.Param] = []
    for p in fn.params.params:
        if p.annotation is None and p.default is not None and literal_type(p.default):
            p = p.with_changes(annotation=cst.Annotation(expr(str(literal_type(p.default)))))
            p = p.with_changes(
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(" "),
                    whitespace_after=cst.SimpleWhitespace(" "),
                )
            )
        params.append(p)
    names = {p.name.value for p in params}
    entry = args.get("params")
    if entry is not None:
        if not isinstance(entry.value, cst.Dict):
            m.report(
                entry,
                "PF867",
                "`params` is not a dict literal, so its parameters cannot be read",
                'write `params={"name": Param(default, type=...)}` inline',
            )
        else:
            for el in entry.value.elements:
                key = string_value(el.key) if isinstance(el, cst.DictElement) else None
                if key is None or not key.isidentifier() or key in names:
                    m.report(
                        el,
                        "PF867",
                        "a DAG param without a usable name",
                        "name it with a string literal that is an identifier",
                    )
                    continue
                ann, default = param_annotation(el.value, m)
                if ann is None:
                    m.report(
                        el,
                        "PF867",
                        f"the type of DAG param {key!r} cannot be inferred",
                        'give it one: `Param(5, type="integer")`',
                    )
                head = f"{key}: {ann}" if ann else key
                text = f"{head} = {default}" if default is not None else head
                header = cst.parse_statement(f"def f({text}): pass")
                assert isinstance(header, cst.FunctionDef)
                params.append(header.params.params[0])
                names.add(key)
    required = [p for p in params if p.default is None]
    optional = [p for p in params if p.default is not None]
    ordered = [*required, *optional]
    fixed = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in ordered]
    return fn.params.with_changes(params=fixed), names
