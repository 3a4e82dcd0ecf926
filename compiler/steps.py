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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portaflow import dsl
from portaflow.compiler import ir
from portaflow.compiler.codehash import CodeHasher
from portaflow.compiler.configvalues import (
    MAX_INT,
    ConfigCall,
    parse_duration,
    resource_spec,
    retry_policy,
)
from portaflow.compiler.podconfig import check_pod_names, secret_list, volume_specs
from portaflow.compiler.source import Module, Project, dsl_name
from portaflow.compiler.sourcetext import as_text, encodable
from portaflow.compiler.types import TypeReader

_CONFIG_TYPES: dict[str, type] = {
    "Retry": dsl.Retry,
    "Resources": dsl.Resources,
    "Schedule": dsl.Schedule,
    "Model": dsl.Model,
    "SecretEnv": dsl.SecretEnv,
}
#: `Volume.<constructor>` -> (its fields after the mount path, the required ones).
_VOLUME_CALLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Volume.empty_dir": (("medium", "size_limit"), ()),
    "Volume.pvc": (("claim", "read_only"), ("claim",)),
}
_STEP_ARGS = (
    "name",
    "retries",
    "timeout",
    "resources",
    "image",
    "env",
    "secrets",
    "cache",
    "volumes",
    "packages",
)
_PIPELINE_ARGS = ("name", "schedule", "model", "image", "on_failure", "on_exit")

_NOT_LITERAL = object()
_REPORTED = object()  # a constant whose PF250 is already reported


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

    def constant(self, node: ast.expr) -> Any:
        """A literal that may also name module-level constants, and join them with `+` or an
        f-string (`@step(image=IMAGE)`, `IMAGE = f"{REGISTRY}/train:{TAG}"`); `_NOT_LITERAL`
        otherwise. A name that is not such a constant reports PF250."""
        try:
            return _Constants(self).eval(node, self.module, ())
        except _Reported:
            return _REPORTED

    def value(self, node: ast.expr, what: str) -> Any:
        """A literal or a DSL config call; reports PF300 and returns None otherwise."""
        lit = self.constant(node)
        if lit is _REPORTED:
            return None
        if lit is not _NOT_LITERAL:
            return lit
        if isinstance(node, ast.Call):
            kind = dsl_name(self.project, self.module, node.func)
            if kind in _CONFIG_TYPES:
                return self.config(kind, node)
            if kind in _VOLUME_CALLS:
                return self.volume(kind, node)
        if isinstance(node, (ast.List, ast.Tuple)) and any(
            isinstance(e, ast.Call) for e in node.elts
        ):
            # A list mixing literals and config calls: `secrets=["a", SecretEnv(...)]`.
            return [self.value(e, what) for e in node.elts]
        self.report(
            "PF300",
            node,
            f"{what} must be a literal or a DSL config type, not `{short(node)}`",
            'write the value itself, e.g. `timeout="1h"` or `retries=Retry(max=3)`; '
            "decorator arguments are read without running the file",
        )
        return None

    def volume(self, kind: str, node: ast.Call) -> ConfigCall | None:
        """`Volume.empty_dir("/dev/shm", medium="Memory")` -> ConfigCall("Volume", {...})."""
        fields, required = _VOLUME_CALLS[kind]
        values: dict[str, Any] = {"kind": kind.split(".", 1)[1]}
        ok = True
        if len(node.args) != 1:
            self.report(
                "PF302",
                node,
                f"{kind}(...) takes the mount path as its one positional argument",
                f'e.g. {kind}("/data", ...)',
            )
            ok = False
        args = [("mount_path", a) for a in node.args[:1]] + [
            (k.arg, k.value) for k in node.keywords
        ]
        for name, expr in args:
            if name is None or (name != "mount_path" and name not in fields):
                self.report(
                    "PF301",
                    expr,
                    f"{kind} has no option {name!r}",
                    f"options: {', '.join(fields)}",
                )
                ok = False
                continue
            lit = self.literal(expr)
            if lit is _NOT_LITERAL:
                self.report(
                    "PF300",
                    expr,
                    f"{kind}: {name} must be a literal, not `{short(expr)}`",
                    "decorator arguments are read without running the file; write the value itself",
                )
                ok = False
                continue
            values[name] = lit
        missing = [f for f in required if f not in values]
        if missing and ok:
            self.report(
                "PF302",
                node,
                f"{kind} needs {missing[0]}=",
                f'e.g. {kind}("/data", claim="my-pvc")',
            )
            ok = False
        return ConfigCall("Volume", values, node) if ok else None

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
            lit = self.constant(kw.value)
            if lit is _REPORTED:
                ok = False
                continue
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


class _Constants:
    """Module constants in decorator arguments, evaluated statically (never imported).

    A constant is a name assigned exactly once at the top level of a project module
    (and never changed with `+=`, `global` or a loop), before its use, to an
    expression of literals, other constants, `+` and f-strings.
    """

    _MAX_DEPTH = 32

    def __init__(self, ev: StaticEval) -> None:
        self.ev = ev

    def eval(self, node: ast.expr, module: Module, seen: tuple[str, ...]) -> Any:
        if isinstance(node, ast.Name):
            return self.name(node, module, seen)
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.eval(e, module, seen) for e in node.elts]
            return _NOT_LITERAL if any(i is _NOT_LITERAL for i in items) else items
        if isinstance(node, ast.Dict):
            out: dict[str, Any] = {}
            for k, v in zip(node.keys, node.values, strict=True):
                key = self.eval(k, module, seen) if k is not None else _NOT_LITERAL
                val = self.eval(v, module, seen)
                if not isinstance(key, str) or val is _NOT_LITERAL:
                    return _NOT_LITERAL
                out[key] = val
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a = self.eval(node.left, module, seen)
            b = self.eval(node.right, module, seen)
            if isinstance(a, str) and isinstance(b, str):
                return a + b
            if isinstance(a, list) and isinstance(b, list):
                return a + b
            if (
                isinstance(a, (int, float))
                and isinstance(b, (int, float))
                and not isinstance(a, bool)
                and not isinstance(b, bool)
                and abs(a) < MAX_INT
                and abs(b) < MAX_INT
            ):
                return a + b
            return _NOT_LITERAL
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for v in node.values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    parts.append(v.value)
                    continue
                if not isinstance(v, ast.FormattedValue) or v.format_spec or v.conversion != -1:
                    return _NOT_LITERAL
                inner = self.eval(v.value, module, seen)
                if not isinstance(inner, (str, int)) or isinstance(inner, bool):
                    return _NOT_LITERAL
                parts.append(str(inner))
            return "".join(parts)
        if module is self.ev.module:
            return self.ev.literal(node)
        return StaticEval(self.ev.project, module, lambda *a: None).literal(node)

    def name(self, node: ast.Name, module: Module, seen: tuple[str, ...]) -> Any:
        sym = self.ev.project.resolve(module, node.id)
        if sym is None or sym.kind != "assign" or sym.module is None:
            return _NOT_LITERAL  # not a module constant: the caller says what is allowed
        key = f"{sym.module.name}.{node.id}"
        where = sym.module
        stmt = sym.node
        why = ""
        if key in seen or len(seen) > self._MAX_DEPTH:
            why = "it is defined in terms of itself"
        elif _assigned_more_than_once(where, node.id):
            why = f"{node.id!r} is assigned more than once in {where.rel}, so its value depends on when it is read"
        elif not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
            why = f"{node.id!r} has no value"
        elif where is module and stmt.lineno > node.lineno and seen == ():
            why = f"{node.id!r} is assigned after this line"
        if not why:
            assert isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None
            val = self.eval(stmt.value, where, (*seen, key))
            if val is not _NOT_LITERAL:
                return val
            why = f"`{short(stmt.value)}` is computed when the file runs"
        if not seen:  # report once, at the name the user wrote in the decorator
            self.ev.report(
                "PF250",
                node,
                f"module constant {node.id!r} cannot be evaluated statically: {why}",
                "a constant in a decorator argument is a literal, or literals and other "
                'constants joined with `+` or an f-string: `IMAGE = f"{REGISTRY}/train:1.4"`; '
                "assign it once, at the top level, before the step",
            )
            raise _Reported()
        return _NOT_LITERAL


class _Reported(Exception):
    """A PF250 was reported; the argument has no value."""


def _assigned_more_than_once(module: Module, name: str) -> bool:
    count = 0
    for stmt in module.tree.body:
        if isinstance(stmt, ast.Assign):
            count += sum(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
            count += sum(
                isinstance(e, ast.Name) and e.id == name
                for t in stmt.targets
                if isinstance(t, (ast.Tuple, ast.List))
                for e in t.elts
            )
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            count += stmt.target.id == name and stmt.value is not None
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            count += 2 * (stmt.target.id == name)
        elif isinstance(stmt, (ast.For, ast.While, ast.If, ast.With, ast.Try)):
            count += 2 * any(
                isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
                for n in ast.walk(stmt)
            )
    return count > 1


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
        secret_env: tuple[ir.SecretKeyEnv, ...] = ()
        volumes: tuple[ir.VolumeSpec, ...] = ()
        packages: tuple[str, ...] = ()
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
            secrets, secret_env = secret_list(val, node, report)
        if "volumes" in args:
            val, node = args["volumes"]
            volumes = volume_specs(val, node, report)
        if "packages" in args:
            val, node = args["packages"]
            packages = package_specs(val, node, report)
        if "cache" in args:
            val, node = args["cache"]
            if isinstance(val, bool):
                cache = val
            elif val is not None:
                report("PF302", node, "cache must be True or False", "e.g. cache=False")
        config = ir.StepConfig(
            retry=retry,
            timeout_seconds=timeout,
            resources=resources,
            image=image,
            env=env,
            secrets=secrets,
            cache=cache,
            secret_env=secret_env,
            volumes=volumes,
            packages=packages,
        )
        check_pod_names(config, args, report)
        return config


def package_specs(val: Any, node: ast.expr, report: Report) -> tuple[str, ...]:
    """`packages=[...]`: pip requirement specs, each one argument of `pip install` (PF302).

    A spec is data, never an option or a template: one starting with "-" (a pip flag such
    as --index-url), holding whitespace other than spaces, or `{{` / `$(` is refused.
    """
    if val is None:
        return ()
    if isinstance(val, list) and all(
        isinstance(v, str)
        and v.strip()
        and not v.lstrip().startswith("-")
        and v.isprintable()
        and "{{" not in v
        and "$(" not in v
        for v in val
    ):
        return tuple(v.strip() for v in val)
    report(
        "PF302",
        node,
        "packages must be a list of pip requirement strings (no pip options, no '{{' or '$(')",
        'e.g. packages=["tabulate==0.9.0"]; an image holding them is the reproducible choice',
    )
    return ()


def _first_doc_line(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(fn)
    return as_text(doc.strip().splitlines()[0]) if doc and doc.strip() else ""
