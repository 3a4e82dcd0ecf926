"""Step and pipeline definitions, read statically: decorators, signatures, config.

Decorator arguments must be literals or calls of the DSL's own config types
(`Retry`, `Resources`, `Schedule`, `Model`); they are evaluated here without
running anything, and checked against the config dataclasses' fields.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portaflow import dsl
from portaflow.compiler import ir
from portaflow.compiler.codehash import CodeHasher
from portaflow.compiler.source import Module, Project, dsl_name
from portaflow.compiler.sourcetext import as_text, encodable
from portaflow.compiler.types import TypeReader

_CONFIG_TYPES: dict[str, type] = {
    "Retry": dsl.Retry,
    "Resources": dsl.Resources,
    "Schedule": dsl.Schedule,
    "Model": dsl.Model,
}
_STEP_ARGS = ("name", "retries", "timeout", "resources", "image", "env", "secrets", "cache")
_PIPELINE_ARGS = ("name", "schedule", "model", "image", "on_failure", "on_exit")
_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")

_NOT_LITERAL = object()
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


@dataclass(frozen=True, slots=True)
class Ref:
    """A name that resolved to a step or pipeline definition (used by hooks)."""

    node: ast.expr


Report = Callable[..., None]


def decorator_kind(
    project: Project, module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
) -> tuple[str, ast.expr] | None:
    """("step" | "pipeline", decorator) when `fn` carries a DSL decorator."""
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = dsl_name(project, module, target)
        if name in ("step", "pipeline"):
            return name, dec
    return None


class StaticEval:
    """Evaluates decorator arguments of one module without running them."""

    def __init__(self, project: Project, module: Module, report: Report) -> None:
        self.project = project
        self.module = module
        self.report = report

    def literal(self, node: ast.expr) -> Any:
        """A JSON literal value, or `_NOT_LITERAL`."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float) and not math.isfinite(node.value):
                self.report(
                    "PF106",
                    node,
                    f"`{short(node)}` overflows to infinity, which JSON cannot carry",
                    "write a finite number; pass infinity as a string and convert it in the step",
                )
            if isinstance(node.value, str) and not encodable(node.value):
                self.report(
                    "PF107",
                    node,
                    "this string holds a lone surrogate (e.g. '\\ud800'), which is not valid text "
                    "in UTF-8, JSON or YAML",
                    "write the character itself or one `\\U0001F600`-style escape (in Python a pair "
                    "of `\\ud83d\\ude00` escapes stays two lone surrogates)",
                )
            if node.value is None or isinstance(node.value, (bool, int, float, str)):
                return node.value
            return _NOT_LITERAL
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.literal(node.operand)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner if isinstance(node.op, ast.USub) else inner
            return _NOT_LITERAL
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.literal(e) for e in node.elts]
            return _NOT_LITERAL if any(i is _NOT_LITERAL for i in items) else items
        if isinstance(node, ast.Dict):
            out: dict[str, Any] = {}
            for k, v in zip(node.keys, node.values, strict=True):
                key = self.literal(k) if k is not None else _NOT_LITERAL
                val = self.literal(v)
                if not isinstance(key, str) or val is _NOT_LITERAL:
                    return _NOT_LITERAL
                out[key] = val
            return out
        return _NOT_LITERAL

    def value(self, node: ast.expr, what: str) -> Any:
        """A literal or a DSL config call; reports PF300 and returns None otherwise."""
        lit = self.literal(node)
        if lit is not _NOT_LITERAL:
            return lit
        if isinstance(node, ast.Call):
            kind = dsl_name(self.project, self.module, node.func)
            if kind in _CONFIG_TYPES:
                return self.config(kind, node)
        self.report(
            "PF300",
            node,
            f"{what} must be a literal or a DSL config type, not `{short(node)}`",
            'write the value itself, e.g. `timeout="1h"` or `retries=Retry(max=3)`; '
            "decorator arguments are read without running the file",
        )
        return None

    def config(self, type_name: str, node: ast.Call) -> ConfigCall | None:
        cls = _CONFIG_TYPES[type_name]
        fields = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        ok = True
        if node.args:
            self.report(
                "PF300",
                node.args[0],
                f"{type_name}(...) takes keyword arguments only",
                f"name each field, e.g. `{type_name}({sorted(fields)[0]}=...)`",
            )
            ok = False
        for kw in node.keywords:
            if kw.arg is None:
                self.report("PF300", kw.value, f"`**` is not allowed in {type_name}(...)", "")
                ok = False
                continue
            if kw.arg not in fields:
                close = difflib.get_close_matches(kw.arg, sorted(fields), n=1)
                self.report(
                    "PF301",
                    kw,
                    f"{type_name} has no field {kw.arg!r}",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + f"fields: {', '.join(sorted(fields))}",
                )
                ok = False
                continue
            lit = self.literal(kw.value)
            if lit is _NOT_LITERAL:
                self.report(
                    "PF300",
                    kw.value,
                    f"{type_name}.{kw.arg} must be a literal, not `{short(kw.value)}`",
                    "decorator arguments are read without running the file; write the value itself",
                )
                ok = False
                continue
            values[kw.arg] = lit
        if type_name == "Schedule" and "cron" not in values and ok:
            self.report(
                "PF302",
                node,
                "Schedule needs a cron expression",
                'write `Schedule(cron="0 3 * * *")`',
            )
            ok = False
        if type_name == "Model" and "name" not in values and ok:
            self.report("PF302", node, "Model needs a name", 'write `Model(name="my_model")`')
            ok = False
        return ConfigCall(type_name, values, node) if ok else None


def decorator_args(
    ev: StaticEval, dec: ast.expr, allowed: tuple[str, ...], what: str
) -> dict[str, tuple[Any, ast.expr]]:
    """Keyword arguments of a decorator call, evaluated; hooks are kept as names."""
    out: dict[str, tuple[Any, ast.expr]] = {}
    if not isinstance(dec, ast.Call):
        return out
    for arg in dec.args:
        ev.report(
            "PF300",
            arg,
            f"@{what}(...) takes keyword arguments only",
            f"name the option, e.g. `@{what}({allowed[1]}=...)`",
        )
    for kw in dec.keywords:
        if kw.arg is None or kw.arg not in allowed:
            close = difflib.get_close_matches(kw.arg or "", allowed, n=1)
            ev.report(
                "PF301",
                kw,
                f"@{what} has no option {kw.arg!r}",
                (f"did you mean {close[0]!r}? " if close else "")
                + f"options: {', '.join(allowed)}",
            )
            continue
        if kw.arg in ("on_failure", "on_exit"):
            out[kw.arg] = (Ref(kw.value), kw.value)
            continue
        out[kw.arg] = (ev.value(kw.value, f"@{what} option {kw.arg!r}"), kw.value)
    return out


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


def signature_params(
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[tuple[ast.arg, ast.expr | None]]:
    """A function's named parameters in order, each with its default expression (None if none)."""
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(
        a.defaults
    )
    return list(zip(positional, defaults, strict=True)) + list(
        zip(a.kwonlyargs, a.kw_defaults, strict=True)
    )


def short(node: ast.AST) -> str:
    """Source text of a node for a message, cut to 40 characters."""
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


class StepReader:
    """Builds `ir.StepDef`s from step function definitions."""

    def __init__(
        self, project: Project, hasher: CodeHasher, report_for: Callable[[Module], Report]
    ):
        self.project = project
        self.hasher = hasher
        self.report_for = report_for
        self._cache: dict[str, ir.StepDef | None] = {}

    def read(self, module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ir.StepDef | None:
        ref = f"{module.name}:{fn.name}"
        if ref in self._cache:
            return self._cache[ref]
        report = self.report_for(module)
        found = decorator_kind(self.project, module, fn)
        ev = StaticEval(self.project, module, report)
        args = decorator_args(ev, found[1], _STEP_ARGS, "step") if found else {}
        types = TypeReader(self.project, module)
        inputs = self._inputs(module, fn, types, ev, report)
        outputs = self._outputs(fn, types)
        self._check_output_names(fn, outputs, report)
        if isinstance(fn, ast.AsyncFunctionDef):
            report(
                "PF303",
                fn,
                f"step {fn.name!r} is `async def`; the task runtime calls steps synchronously",
                "make it a plain `def` and run the coroutine inside: `asyncio.run(work())`",
            )
        config = self._config(args, report)
        name_val = args.get("name", (None, None))[0]
        step = ir.StepDef(
            ref=ref,
            name=name_val if isinstance(name_val, str) and name_val else fn.name,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            config=config,
            code_hash=self.hasher.step_hash(module, fn),
            doc=_first_doc_line(fn),
            span=module.span(fn),
        )
        self._cache[ref] = step
        return step

    def _inputs(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        types: TypeReader,
        ev: StaticEval,
        report: Report,
    ) -> list[ir.StepInput]:
        a = fn.args
        if a.vararg or a.kwarg:
            bad = a.vararg or a.kwarg
            assert bad is not None
            report(
                "PF303",
                bad,
                f"step {fn.name!r} takes *args/**kwargs, which a pipeline cannot bind",
                "declare each input as a named parameter with a type annotation",
            )
        out: list[ir.StepInput] = []
        for arg, default in signature_params(fn):
            value = ev.literal(default) if default is not None else None
            out.append(
                ir.StepInput(
                    name=arg.arg,
                    type=types.read(arg.annotation),
                    has_default=default is not None,
                    default=None if value is _NOT_LITERAL else value,
                )
            )
        return out

    def _outputs(
        self, fn: ast.FunctionDef | ast.AsyncFunctionDef, types: TypeReader
    ) -> list[ir.StepOutput]:
        ann = fn.returns
        if ann is None:
            return [ir.StepOutput(name="output", type=types.read(None))]
        if isinstance(ann, ast.Constant) and ann.value is None:
            return []
        if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
            try:
                ann = ast.parse(ann.value, mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return [ir.StepOutput(name="output", type=types.read(ann))]
        if isinstance(ann, ast.Subscript) and ast.unparse(ann.value) in ("tuple", "Tuple"):
            elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
            if not any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in elts):
                return [self._one(e, f"output_{i}", types) for i, e in enumerate(elts)]
        return [self._one(ann, "output", types)]

    @staticmethod
    def _check_output_names(
        fn: ast.FunctionDef | ast.AsyncFunctionDef, outputs: list[ir.StepOutput], report: Report
    ) -> None:
        names = [o.name for o in outputs]
        where: ast.AST = fn.returns if fn.returns is not None else fn
        if any(not n.strip() for n in names):
            report(
                "PF303",
                where,
                f"step {fn.name!r} has an output with an empty name",
                'name it: `Annotated[int, "count"]`',
            )
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            report(
                "PF303",
                where,
                f"step {fn.name!r} names more than one output {twice[0]!r}",
                "give each element of the tuple[...] its own name",
            )

    @staticmethod
    def _one(node: ast.expr, default_name: str, types: TypeReader) -> ir.StepOutput:
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) in (
            "Annotated",
            "typing.Annotated",
        ):
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for meta in elts[1:]:
                if isinstance(meta, ast.Constant) and isinstance(meta.value, str):
                    return ir.StepOutput(name=meta.value, type=types.read(elts[0]))
        return ir.StepOutput(name=default_name, type=types.read(node))

    def _config(self, args: dict[str, tuple[Any, ast.expr]], report: Report) -> ir.StepConfig:
        retry = None
        timeout = None
        resources = None
        image = None
        env: tuple[tuple[str, str], ...] = ()
        secrets: tuple[str, ...] = ()
        cache = True
        if "retries" in args:
            val, node = args["retries"]
            retry = retry_policy(val, node, report)
        if "timeout" in args:
            val, node = args["timeout"]
            if val is not None:
                timeout = parse_duration(val)
                if timeout is None:
                    report(
                        "PF302",
                        node,
                        f"timeout {val!r} is not a duration of at most {MAX_INT} seconds",
                        'write seconds as an int or a string like "90s", "15m", "1h30m", "2d"',
                    )
        if "resources" in args:
            val, node = args["resources"]
            resources = resource_spec(val, node, report)
        if "image" in args:
            val, node = args["image"]
            if isinstance(val, str) and val.strip():
                image = val
            elif val is not None:
                report(
                    "PF302", node, "image must be a non-empty string", 'e.g. image="python:3.11"'
                )
        if "env" in args:
            val, node = args["env"]
            if isinstance(val, dict) and all(isinstance(v, str) for v in val.values()):
                env = tuple(sorted(val.items()))
            elif val is not None:
                report(
                    "PF302",
                    node,
                    "env must be a dict of string names to string values",
                    'quote the values: env={"OMP_NUM_THREADS": "2"}',
                )
        if "secrets" in args:
            val, node = args["secrets"]
            if isinstance(val, list) and all(isinstance(v, str) and v for v in val):
                secrets = tuple(val)
            elif val is not None:
                report(
                    "PF302",
                    node,
                    "secrets must be a list of secret names",
                    'e.g. secrets=["aws-creds"]; values are never written into manifests',
                )
        if "cache" in args:
            val, node = args["cache"]
            if isinstance(val, bool):
                cache = val
            elif val is not None:
                report("PF302", node, "cache must be True or False", "e.g. cache=False")
        return ir.StepConfig(
            retry=retry,
            timeout_seconds=timeout,
            resources=resources,
            image=image,
            env=env,
            secrets=secrets,
            cache=cache,
        )


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
    for field_name in ("cpu", "memory", "disk"):
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
    return ir.ResourceSpec(
        cpu=_quantity(v.get("cpu")),
        memory=_quantity(v.get("memory")),
        gpu=gpu,
        gpu_vendor=str(v.get("gpu_vendor", "nvidia.com/gpu")),
        disk=_quantity(v.get("disk")),
        node_selector=tuple(sorted(node_selector.items())),
        tolerations=tuple(tuple(sorted(t.items())) for t in tolerations),
    )


def _first_doc_line(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(fn)
    return as_text(doc.strip().splitlines()[0]) if doc and doc.strip() else ""
