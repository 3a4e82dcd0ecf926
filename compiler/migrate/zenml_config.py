"""ZenML config objects -> portaflow's: `StepRetryConfig`, `ResourceSettings`, `Schedule`, `Model`.

Each function takes the original libcst node, returns the portaflow expression (or None
when there is none) and reports what it had to leave out. They are pure: the same call is
translated the same way wherever it appears (in a decorator, or bound to a module-level
name the decorator uses).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst

from portaflow.compiler.diagnostics import Severity

#: (code, severity, node, message, hint) -> None
Report = Callable[[str, Severity, cst.CSTNode, str, str], None]

#: ZenML config class -> the portaflow name its translation uses.
CONFIG_CLASSES = {
    "StepRetryConfig": "Retry",
    "ResourceSettings": "Resources",
    "Schedule": "Schedule",
    "Model": "Model",
    "ModelVersion": "Model",
}

#: ZenML memory units -> Kubernetes quantity suffixes ("4GB" -> "4G", "512MiB" -> "512Mi").
_UNITS = {
    "KB": "k",
    "KiB": "Ki",
    "MB": "M",
    "MiB": "Mi",
    "GB": "G",
    "GiB": "Gi",
    "TB": "T",
    "TiB": "Ti",
    "PB": "P",
    "PiB": "Pi",
}
_MEMORY = re.compile(r"^(\d+)(KB|KiB|MB|MiB|GB|GiB|TB|TiB|PB|PiB)$")


@dataclass(frozen=True, slots=True)
class Translated:
    """A config call rewritten: the portaflow expression and the names it needs imported."""

    expr: cst.BaseExpression
    needs: tuple[str, ...]


def kwargs(call: cst.Call, what: str, report: Report) -> dict[str, cst.Arg]:
    """The keyword arguments of a call; positional ones and `**x` are reported and skipped."""
    out: dict[str, cst.Arg] = {}
    for arg in call.args:
        if arg.keyword is None:
            report(
                "PF834",
                "error",
                arg,
                f"a positional or unpacked argument to {what} cannot be translated",
                "pass each setting by keyword, e.g. `StepRetryConfig(max_retries=3)`",
            )
            continue
        out[arg.keyword.value] = arg
    return out


def literal(expr: cst.BaseExpression) -> object:
    """The Python value of a simple literal (int, float, str, bool, None), else `_NOT`."""
    if isinstance(expr, cst.Integer):
        return int(expr.value.replace("_", ""), 0)
    if isinstance(expr, cst.Float):
        return float(expr.value.replace("_", ""))
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else _NOT
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = literal(expr.expression)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
    return _NOT


_NOT = object()


def call(name: str, items: Sequence[tuple[str, cst.BaseExpression]]) -> cst.Call:
    """`name(k=v, ...)`, written the way `ruff format` would for a short call."""
    args = [
        cst.Arg(
            keyword=cst.Name(k),
            value=v,
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            if i < len(items) - 1
            else cst.MaybeSentinel.DEFAULT,
        )
        for i, (k, v) in enumerate(items)
    ]
    return cst.Call(func=cst.Name(name), args=args)


Item = tuple[str, cst.BaseExpression, cst.Arg | None]


def rebuild(node: cst.Call | None, name: str, items: Sequence[Item]) -> cst.Call:
    """`name(k=v, ...)`, reusing each original argument's spacing and comments where there was one.

    A new argument is written `k=v, `; the last one keeps the original call's ending
    (a trailing comma and newline stay).
    """
    new = call(name, [(k, v) for k, v, _ in items])
    args = []
    for arg, (k, v, orig) in zip(new.args, items, strict=True):
        args.append(arg if orig is None else orig.with_changes(keyword=cst.Name(k), value=v))
    ending = node.args[-1].comma if node is not None and node.args else cst.MaybeSentinel.DEFAULT
    for i, arg in enumerate(args):
        if i == len(args) - 1:
            args[i] = arg.with_changes(comma=ending)
        elif not isinstance(arg.comma, cst.Comma):
            args[i] = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    if node is None:
        return new.with_changes(args=args)
    return node.with_changes(func=cst.Name(name), args=args)


def retry(node: cst.Call, report: Report) -> Translated:
    """`StepRetryConfig(max_retries=3, delay=10, backoff=2)` -> `Retry(max=3, delay=10, factor=2)`.

    ZenML waits `delay` seconds before a retry and multiplies the wait by `backoff`
    after each one; a backoff of 0 or 1 keeps it fixed.
    """
    args = kwargs(node, "StepRetryConfig", report)
    items: list[Item] = [
        ("max", args["max_retries"].value, args["max_retries"])
        if "max_retries" in args
        else ("max", cst.Integer("1"), None)
    ]
    backoff = literal(args["backoff"].value) if "backoff" in args else 0
    if "backoff" in args and not isinstance(backoff, (int, float)):
        report(
            "PF834",
            "error",
            args["backoff"],
            "a StepRetryConfig backoff that is not a number literal cannot be translated",
            'write the factor itself: `Retry(max=3, backoff="exponential", factor=2)`',
        )
        backoff = 0
    assert isinstance(backoff, (int, float))
    items.append(
        ("delay", args["delay"].value, args["delay"])
        if "delay" in args
        else ("delay", cst.Integer("0"), None)
    )
    if backoff > 1:
        items += [
            ("backoff", cst.SimpleString('"exponential"'), None),
            ("factor", args["backoff"].value, args["backoff"]),
        ]
    else:
        items.append(("backoff", cst.SimpleString('"fixed"'), args.get("backoff")))
    for name, arg in args.items():
        if name not in ("max_retries", "delay", "backoff"):
            report(
                "PF834",
                "error",
                arg,
                f"StepRetryConfig has no argument {name!r} portaflow knows",
                "Retry takes max=, delay=, backoff=, factor=, max_delay=",
            )
    return Translated(rebuild(node, "Retry", items), ("Retry",))


def memory(expr: cst.BaseExpression, report: Report) -> cst.BaseExpression:
    """ZenML's "4GB" / "512MiB" as a Kubernetes quantity ("4G", "512Mi")."""
    value = literal(expr)
    m = _MEMORY.match(value) if isinstance(value, str) else None
    if m is None:
        report(
            "PF834",
            "error",
            expr,
            'a ResourceSettings memory that is not a literal like "4GB" cannot be translated',
            'write a Kubernetes quantity: `Resources(memory="4Gi")`',
        )
        return expr
    return cst.SimpleString(f'"{m.group(1)}{_UNITS[m.group(2)]}"')


def resources(node: cst.Call | cst.Dict, report: Report) -> Translated:
    """`ResourceSettings(cpu_count=2, memory="4GB", gpu_count=1)` -> `Resources(cpu=2, memory="4G", gpu=1)`.

    The dict form ZenML also accepts (`{"cpu_count": 2}`) is read the same way.
    """
    originals: dict[str, cst.Arg] = {}
    if isinstance(node, cst.Call):
        originals = kwargs(node, "ResourceSettings", report)
        args = {k: a.value for k, a in originals.items()}
    else:
        args = {}
        for el in node.elements:
            key = literal(el.key) if isinstance(el, cst.DictElement) else _NOT
            if not isinstance(key, str) or not isinstance(el, cst.DictElement):
                report(
                    "PF834",
                    "error",
                    el,
                    "a resource setting whose key is not a string literal cannot be translated",
                    'write `ResourceSettings(cpu_count=2, memory="4GB")`',
                )
                continue
            args[key] = el.value
    items: list[Item] = []
    names = {"cpu_count": "cpu", "memory": "memory", "gpu_count": "gpu"}
    for name, value in args.items():
        if name not in names:
            report(
                "PF834",
                "error",
                value,
                f"ResourceSettings {name!r} has no portaflow equivalent",
                "Resources takes cpu=, memory=, gpu=, disk=, node_selector=, tolerations=",
            )
            continue
        new = memory(value, report) if name == "memory" else value
        items.append((names[name], new, originals.get(name)))
    return Translated(
        rebuild(node if isinstance(node, cst.Call) else None, "Resources", items), ("Resources",)
    )


def schedule(node: cst.Call, report: Report) -> Translated | None:
    """`Schedule(cron_expression="0 3 * * *", catchup=False)` -> `Schedule(cron="0 3 * * *", catchup=False)`.

    ZenML's interval and start/end times have no portaflow form: without a cron the
    schedule is dropped and reported.
    """
    args = kwargs(node, "Schedule", report)
    if "cron_expression" not in args:
        report(
            "PF834",
            "error",
            node,
            "a ZenML Schedule without cron_expression has no portaflow equivalent",
            'portaflow schedules are cron: `@pipeline(schedule=Schedule(cron="0 * * * *"))`',
        )
        return None
    items: list[Item] = [("cron", args["cron_expression"].value, args["cron_expression"])]
    if "catchup" in args:
        items.append(("catchup", args["catchup"].value, args["catchup"]))
    for name, arg in args.items():
        if name in ("cron_expression", "catchup"):
            continue
        severity: Severity = "warning" if name == "name" else "error"
        report(
            "PF834",
            severity,
            arg,
            f"Schedule {name!r} has no portaflow equivalent and is left out",
            "a portaflow Schedule takes cron=, timezone=, concurrency_policy=, "
            "starting_deadline_seconds=, catchup=",
        )
    return Translated(rebuild(node, "Schedule", items), ("Schedule",))


def model(node: cst.Call, report: Report) -> Translated | None:
    """`Model(name="churn", description=..., tags=[...], license=...)` -> `Model(name="churn", ...)`.

    portaflow registers a new version of the named model on every successful run; ZenML's
    fixed `version=`, license and model-card fields are left out with a warning.
    """
    args = kwargs(node, "Model", report)
    if "name" not in args:
        report(
            "PF834",
            "error",
            node,
            "a ZenML Model without a name cannot be translated",
            'name it: `Model(name="my_model")`',
        )
        return None
    items: list[Item] = []
    for name, arg in args.items():
        if name in ("name", "description", "tags"):
            items.append((name, arg.value, arg))
        else:
            report(
                "PF834",
                "warning",
                arg,
                f"Model {name!r} has no portaflow equivalent and is left out",
                "portaflow numbers model versions itself; promote one with "
                "`portaflow models promote NAME VERSION --stage production`",
            )
    return Translated(rebuild(node, "Model", items), ("Model",))


def translate(kind: str, node: cst.Call, report: Report) -> Translated | None:
    """Translate a ZenML config call of `kind` (a key of CONFIG_CLASSES)."""
    if kind == "StepRetryConfig":
        return retry(node, report)
    if kind == "ResourceSettings":
        return resources(node, report)
    if kind == "Schedule":
        return schedule(node, report)
    return model(node, report)
