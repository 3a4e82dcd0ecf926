"""Decorator config values, checked against what the orchestrators accept.

Durations and counts fit the 32-bit ints Kubernetes and the engines store,
resource quantities are Kubernetes quantities, cron fields are in range:
a value the orchestrator would refuse at submit time is a PF302 at `check`.
`StaticEval.config` (steps.py) evaluates the DSL calls into `ConfigCall`s;
the functions here turn them into IR.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portaflow import dsl
from portaflow.compiler import ir

Report = Callable[..., None]

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")

#: A non-negative Kubernetes resource quantity: "2", "0.5", "500m", "4Gi", "1e3".
_QUANTITY = re.compile(r"^(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$")
#: Largest count or number of seconds a config value may hold: Kubernetes and the
#: orchestrators store these as 32-bit ints (2**31 - 1 seconds is 68 years).
MAX_INT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class ConfigCall:
    """A DSL config type call, evaluated: `Retry(max=3)` -> ("Retry", {"max": 3})."""

    type_name: str
    values: dict[str, Any]
    node: ast.Call


def parse_duration(value: Any) -> int | None:
    """Seconds from an int or a "1h30m"-style string; None when invalid or beyond MAX_INT."""
    seconds: int | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, float) and math.isfinite(value):
        seconds = int(value)
    elif isinstance(value, str) and value.strip():
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (int(x) if x else 0 for x in m.groups())
            seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    return seconds if seconds is not None and 0 <= seconds <= MAX_INT else None


def small_count(value: Any) -> bool:
    """Whether `value` is an int in 0..MAX_INT (retries, GPUs, deadlines)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def valid_cron(cron: str) -> bool:
    """Five cron fields whose numbers and names are in range, or a macro like "@daily"."""
    if cron.strip() in _CRON_MACROS:
        return True
    fields = cron.split()
    return len(fields) == 5 and all(
        _CRON_FIELD.match(f) and _cron_field_ok(f, *_CRON_RANGES[i]) for i, f in enumerate(fields)
    )


#: (lowest, highest, names) of minute, hour, day of month, month, day of week (7 is Sunday too).
_CRON_RANGES: tuple[tuple[int, int, tuple[str, ...]], ...] = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    (0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def _cron_field_ok(field: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    def value(text: str) -> int | None:
        if text.isdigit() and len(text) <= 2:
            return int(text)
        if text.lower() in names:
            return names.index(text.lower()) + (1 if low == 1 else 0)
        return None

    for item in field.split(","):
        span, _, step = item.partition("/")
        if step and not (step.isdigit() and 0 < int(step) <= high):
            return False
        if span in ("*", "?") and (span == "*" or low in (0, 1)):
            continue
        first, _, last = span.partition("-")
        lo, hi = value(first), value(last) if last else value(first)
        if lo is None or hi is None or not low <= lo <= hi <= high:
            return False
    return True


_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "n": 1e-9,
    "u": 1e-6,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    **{f"{p}i": 1024.0 ** (i + 1) for i, p in enumerate("KMGTPE")},
}


def quantity_value(value: Any) -> float | None:
    """A Kubernetes quantity as a number ("500m" -> 0.5, "1Gi" -> 1073741824); None if not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = _QUANTITY.match(str(value))
    if not m:
        return None
    suffix = m.group(3) or ""
    if suffix[:1] in ("e", "E") and suffix not in _SUFFIX:
        return float(str(value))
    return float(m.group(1)) * _SUFFIX[suffix]


def _quantity(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _num(value)
    return str(value)


def _num(value: float | int) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def retry_policy(val: Any, node: ast.expr, report: Report) -> ir.RetryPolicy | None:
    if val is None:
        return None
    if isinstance(val, int) and not isinstance(val, bool):
        val = ConfigCall("Retry", {"max": val}, ast.Call(func=node, args=[], keywords=[]))
    if not isinstance(val, ConfigCall) or val.type_name != "Retry":
        report("PF302", node, "retries must be an int or Retry(...)", "e.g. retries=Retry(max=3)")
        return None
    d = dsl.Retry()
    v = val.values
    mx = v.get("max", d.max)
    backoff = v.get("backoff", d.backoff)
    on = v.get("on", d.on)
    delay = parse_duration(v.get("delay", d.delay))
    max_delay = parse_duration(v["max_delay"]) if v.get("max_delay") is not None else None
    factor = v.get("factor", d.factor)
    ok = True
    if not small_count(mx):
        report(
            "PF302", node, f"Retry.max must be an int from 0 to {MAX_INT}, not {mx!r}", "e.g. max=3"
        )
        ok = False
    if backoff not in ("fixed", "linear", "exponential"):
        report(
            "PF302",
            node,
            f"Retry.backoff {backoff!r} is unknown",
            'use "fixed", "linear" or "exponential"',
        )
        ok = False
    if on not in ("always", "on-failure", "on-error", "on-transient-error"):
        report(
            "PF302",
            node,
            f"Retry.on {on!r} is unknown",
            'use "always", "on-failure", "on-error" or "on-transient-error"',
        )
        ok = False
    if delay is None or (v.get("max_delay") is not None and max_delay is None):
        report("PF302", node, "Retry delays must be durations", 'e.g. delay="10s", max_delay="5m"')
        ok = False
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor < 1:
        report(
            "PF302", node, f"Retry.factor must be a number >= 1, not {factor!r}", "e.g. factor=2"
        )
        ok = False
    if not ok:
        return None
    assert delay is not None
    return ir.RetryPolicy(
        max=mx,
        backoff=backoff,
        delay_seconds=delay,
        factor=float(factor),
        max_delay_seconds=max_delay,
        on=on,
    )


def resource_spec(val: Any, node: ast.expr, report: Report) -> ir.ResourceSpec | None:
    if val is None:
        return None
    if not isinstance(val, ConfigCall) or val.type_name != "Resources":
        report(
            "PF302", node, "resources must be Resources(...)", 'e.g. Resources(cpu=2, memory="4Gi")'
        )
        return None
    v = val.values
    gpu = v.get("gpu", 0)
    if not small_count(gpu):
        report(
            "PF302",
            node,
            f"Resources.gpu must be an int from 0 to {MAX_INT}, not {gpu!r}",
            "e.g. gpu=1",
        )
        gpu = 0
    node_selector = v.get("node_selector") or {}
    tolerations = v.get("tolerations") or []
    if not isinstance(node_selector, dict) or not all(
        isinstance(x, str) for x in node_selector.values()
    ):
        report("PF302", node, "Resources.node_selector must map strings to strings", "")
        node_selector = {}
    if not isinstance(tolerations, list) or not all(
        isinstance(t, dict) and all(isinstance(x, str) for x in t.values()) for t in tolerations
    ):
        report(
            "PF302",
            node,
            "Resources.tolerations must be a list of dicts of strings",
            'e.g. tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]',
        )
        tolerations = []
    for field_name in ("cpu", "memory", "disk", "cpu_limit", "memory_limit"):
        q = v.get(field_name)
        if q is not None and (isinstance(q, bool) or not isinstance(q, (int, float, str))):
            report("PF302", node, f"Resources.{field_name} must be a number or quantity string", "")
        elif (isinstance(q, str) and not _QUANTITY.match(q)) or (
            isinstance(q, (int, float)) and not (math.isfinite(q) and q >= 0)
        ):
            report(
                "PF302",
                node,
                f"Resources.{field_name} {q!r} is not a Kubernetes quantity",
                'e.g. cpu=2, cpu="500m", memory="4Gi", disk="10G"',
            )
    for request, limit in (("cpu", "cpu_limit"), ("memory", "memory_limit")):
        low, high = quantity_value(v.get(request)), quantity_value(v.get(limit))
        if low is not None and high is not None and high < low:
            report(
                "PF302",
                node,
                f"Resources.{limit} {v[limit]!r} is below the request {v[request]!r}",
                f"Kubernetes refuses a limit below its request; raise {limit} or lower {request}",
            )
    return ir.ResourceSpec(
        cpu=_quantity(v.get("cpu")),
        memory=_quantity(v.get("memory")),
        gpu=gpu,
        gpu_vendor=str(v.get("gpu_vendor", "nvidia.com/gpu")),
        disk=_quantity(v.get("disk")),
        node_selector=tuple(sorted(node_selector.items())),
        tolerations=tuple(tuple(sorted(t.items())) for t in tolerations),
        cpu_limit=_quantity(v.get("cpu_limit")),
        memory_limit=_quantity(v.get("memory_limit")),
    )


def schedule_spec(args: dict[str, tuple[Any, ast.expr]], report: Report) -> ir.ScheduleSpec | None:
    """The `schedule=` of a @pipeline, checked; None when absent or invalid (reported)."""
    if "schedule" not in args:
        return None
    val, node = args["schedule"]
    if val is None:
        return None
    if not isinstance(val, ConfigCall) or val.type_name != "Schedule":
        report("PF302", node, "schedule must be Schedule(...)", 'e.g. Schedule(cron="0 3 * * *")')
        return None
    v = val.values
    cron = v.get("cron")
    ok = True
    if not isinstance(cron, str) or not valid_cron(cron):
        report(
            "PF302",
            node,
            f"cron {cron!r} is not a five-field cron expression",
            'write minute hour day-of-month month day-of-week, e.g. "0 3 * * *", or "@daily"',
        )
        ok = False
    policy = v.get("concurrency_policy", "Allow")
    if policy not in ("Allow", "Forbid", "Replace"):
        report(
            "PF302",
            node,
            f"concurrency_policy {policy!r} is unknown",
            'use "Allow", "Forbid" or "Replace"',
        )
        ok = False
    tz = v.get("timezone")
    deadline = v.get("starting_deadline_seconds")
    catchup = v.get("catchup", False)
    if tz is not None and not isinstance(tz, str):
        report("PF302", node, "timezone must be a string", 'e.g. timezone="Europe/Paris"')
        ok = False
    if deadline is not None and not small_count(deadline):
        report("PF302", node, "starting_deadline_seconds must be an int from 0 to 2147483647", "")
        ok = False
    if not isinstance(catchup, bool):
        report("PF302", node, "catchup must be True or False", "")
        ok = False
    if not ok:
        return None
    assert isinstance(cron, str)
    return ir.ScheduleSpec(
        cron=cron.strip(),
        timezone=tz,
        concurrency_policy=policy,
        starting_deadline_seconds=deadline,
        catchup=catchup,
    )


def model_spec(args: dict[str, tuple[Any, ast.expr]], report: Report) -> ir.ModelSpec | None:
    """The `model=` of a @pipeline, checked; None when absent or invalid (reported)."""
    if "model" not in args:
        return None
    val, node = args["model"]
    if val is None:
        return None
    if not isinstance(val, ConfigCall) or val.type_name != "Model":
        report("PF302", node, "model must be Model(...)", 'e.g. Model(name="my_model")')
        return None
    v = val.values
    name = v.get("name")
    tags = v.get("tags", [])
    desc = v.get("description")
    if not isinstance(name, str) or not name.strip():
        report("PF302", node, "Model.name must be a non-empty string", "")
        return None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        report("PF302", node, "Model.tags must be a list of strings", "")
        return None
    return ir.ModelSpec(
        name=name, description=desc if isinstance(desc, str) else None, tags=tuple(tags)
    )
