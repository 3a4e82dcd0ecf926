"""The front end driver: a pipeline file -> one IR `Pipeline`, or diagnostics.

`analyze` collects every diagnostic of a file in one pass and never raises
for any input; `compile_file` raises `CompileError` once when there are
errors. Neither imports nor executes the pipeline file.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

from portaflow.compiler import ir
from portaflow.compiler.body import Abort, BodyCompiler, Ctx, Value
from portaflow.compiler.codehash import CodeHasher
from portaflow.compiler.configvalues import model_spec, schedule_spec
from portaflow.compiler.diagnostics import CODES, CompileError, Diagnostic
from portaflow.compiler.graph import find_cycle, topological_order
from portaflow.compiler.grouphooks import read_hook_step
from portaflow.compiler.outputs import pipeline_outputs
from portaflow.compiler.source import Module, Project
from portaflow.compiler.sourcetext import as_text, deepest_node
from portaflow.compiler.steps import (
    _NOT_LITERAL,
    _PIPELINE_ARGS,
    Ref,
    StaticEval,
    StepReader,
    decorator_args,
    decorator_kind,
    signature_params,
)
from portaflow.compiler.types import TypeReader, compatible, literal_type


@dataclass(slots=True)
class Result:
    """What `analyze` found."""

    #: The IR, when there were no errors.
    pipeline: ir.Pipeline | None
    #: Errors and warnings, sorted by location.
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def find_root(path: Path) -> Path:
    """The nearest folder above `path` holding a pyproject.toml, else the file's folder."""
    start = path.resolve().parent
    for folder in (start, *start.parents):
        if _is_file(folder / "pyproject.toml"):
            return folder
    return start


def compile_file(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    pipeline: str | None = None,
) -> ir.Pipeline:
    """Compile a pipeline file to IR; raises `CompileError` with all diagnostics on errors."""
    result = analyze(path, root=root, pipeline=pipeline)
    if result.errors or result.pipeline is None:
        raise CompileError(result.diagnostics)
    return result.pipeline


def analyze(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    pipeline: str | None = None,
) -> Result:
    """Compile and collect diagnostics; never raises for any input file."""
    shown = str(path)
    analyzer: _Analyzer | None = None
    try:
        analyzer = _Analyzer(Path(path), Path(root) if root else None, pipeline)
        return analyzer.run()
    except RecursionError:
        return Result(None, [_too_deep(analyzer, shown)])
    except Exception as exc:  # a bug of ours must still reach the user as a diagnostic
        return Result(
            None,
            [
                Diagnostic(
                    code="PF001",
                    severity="error",
                    message=f"internal compiler error: {type(exc).__name__}: {exc}",
                    path=shown,
                    hint="please report this with the pipeline file",
                )
            ],
        )


def _too_deep(analyzer: _Analyzer | None, shown: str) -> Diagnostic:
    """PF102 at the deepest expression of the files read so far (the likely culprit)."""
    where: tuple[int, Module, ast.AST] | None = None
    for mod in analyzer.project.modules() if analyzer is not None else ():
        depth, node = deepest_node(mod.tree)
        if where is None or depth > where[0]:
            where = (depth, mod, node)
    hint = "split very long or deeply nested expressions, e.g. into a step"
    message = "the file nests expressions too deeply to analyse"
    if analyzer is None or where is None:
        return Diagnostic(code="PF102", severity="error", message=message, path=shown, hint=hint)
    _, mod, node = where
    span = mod.span(node)
    return Diagnostic(
        code="PF102",
        severity="error",
        message=message,
        path=analyzer.display_path(mod),
        line=span.line,
        col=span.col,
        end_line=span.line,
        end_col=span.end_col if span.end_line == span.line else span.col + 1,
        hint=hint,
        source_line=mod.source_line(span.line),
    )


class _Analyzer:
    def __init__(self, path: Path, root: Path | None, wanted: str | None) -> None:
        self.path = path
        self.root = (root or find_root(path)).resolve()
        self.wanted = wanted
        self.project = Project(self.root)
        self.diags: list[Diagnostic] = []
        self._display: dict[str, str] = {}

    # ------------------------------------------------------------------ reporting

    def display_path(self, module: Module) -> str:
        shown = self._display.get(module.rel)
        if shown is None:
            full = self.root / module.rel
            try:
                shown = os.path.relpath(full)
            except ValueError:
                shown = module.rel
            if shown.startswith(".." + os.sep + ".."):
                shown = module.rel
            self._display[module.rel] = shown
        return shown

    def report_for(self, module: Module):  # type: ignore[no-untyped-def]
        def report(code: str, node: ast.AST, message: str, hint: str = "") -> None:
            span = module.span(node)
            self.diags.append(
                Diagnostic(
                    code=code,
                    severity="warning" if code.startswith("PF9") else "error",
                    message=message,
                    path=self.display_path(module),
                    line=span.line,
                    col=span.col,
                    end_line=span.end_line,
                    end_col=span.end_col,
                    hint=hint,
                    source_line=module.source_line(span.line),
                )
            )
            assert code in CODES, code

        return report

    def module_error(self, module: Module, code: str, message: str, hint: str) -> None:
        """An error about a whole file (no line to point at)."""
        self.diags.append(
            Diagnostic(
                code=code,
                severity="error",
                message=message,
                path=self.display_path(module),
                hint=hint,
            )
        )

    def file_error(self, code: str, message: str, hint: str = "") -> Result:
        self.diags.append(
            Diagnostic(code=code, severity="error", message=message, path=str(self.path), hint=hint)
        )
        return self.finish(None)

    def finish(self, pipeline: ir.Pipeline | None) -> Result:
        diags = self.project.diagnostics + self.diags
        diags.sort(key=lambda d: (d.path, d.line, d.col, d.code))
        unique = list(dict.fromkeys(diags))  # frozen dataclasses hash: linear de-duplication
        has_errors = any(d.severity == "error" for d in unique)
        return Result(None if has_errors else pipeline, unique)

    # ------------------------------------------------------------------ the pass

    def run(self) -> Result:
        if not _is_file(self.path):
            what = "not a regular file" if os.path.lexists(self.path) else "no such file"
            return self.file_error(
                "PF101", f"{what}: {self.path}", "give the path of a pipeline .py file"
            )
        module = self.project.load_path(self.path)
        if module is None:
            if not self.project.diagnostics:
                return self.file_error(
                    "PF101",
                    f"{self.path} is outside the project root {self.root}",
                    "pass --root with a folder that contains the file",
                )
            return self.finish(None)
        fn = self.select(module)
        if fn is None:
            return self.finish(None)
        return self.finish(self.compile(module, fn))

    def pipelines_in(
        self, module: Module
    ) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
        ev = StaticEval(self.project, module, self.report_for(module))
        for stmt in module.tree.body:
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            kind = decorator_kind(self.project, module, stmt)
            if kind is None or kind[0] != "pipeline":
                continue
            name = stmt.name
            dec = kind[1]
            if isinstance(dec, ast.Call):
                for kw in dec.keywords:
                    if kw.arg == "name":
                        val = ev.literal(kw.value)
                        if isinstance(val, str) and val:
                            name = val
            found.append((name, stmt))
        return found

    def select(self, module: Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        report = self.report_for(module)
        found = self.pipelines_in(module)
        seen: dict[str, ast.AST] = {}
        for name, fn in found:
            if name in seen:
                report(
                    "PF113",
                    fn,
                    f"a second pipeline is named {name!r}",
                    "give each pipeline a unique name with @pipeline(name=...)",
                )
            seen[name] = fn
        if not found:
            self.module_error(
                module,
                "PF110",
                f"no @pipeline function found in {self.display_path(module)}",
                "decorate the function that wires your steps with "
                "`@pipeline` (from portaflow import pipeline)",
            )
            return None
        if self.wanted is not None:
            for name, fn in found:
                if self.wanted in (name, fn.name):
                    return fn
            self.module_error(
                module,
                "PF112",
                f"no pipeline named {self.wanted!r}",
                f"pipelines in this file: {', '.join(sorted(n for n, _ in found))}",
            )
            return None
        called = _called_names(found)
        top = [(n, fn) for n, fn in found if fn.name not in called]
        if len(top) == 1:
            return top[0][1]
        candidates = top or found
        if len(candidates) == 1:
            return candidates[0][1]
        report(
            "PF111",
            candidates[1][1],
            f"{len(candidates)} pipelines in {self.display_path(module)} and none chosen",
            f"pass --pipeline NAME, one of: {', '.join(sorted(n for n, _ in candidates))}",
        )
        return None

    def compile(
        self, module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> ir.Pipeline | None:
        report = self.report_for(module)
        hasher = CodeHasher(self.project, self.report_for)
        steps = StepReader(self.project, hasher, self.report_for)
        body = BodyCompiler(self.project, steps, self.report_for)
        ev = StaticEval(self.project, module, report)
        kind = decorator_kind(self.project, module, fn)
        assert kind is not None
        args = decorator_args(ev, kind[1], _PIPELINE_ARGS, "pipeline")
        name = args.get("name", (fn.name, None))[0]
        if not isinstance(name, str) or not name:
            name = fn.name
        params, env = self.params(module, fn)
        # Hooks bind inputs to pipeline parameters only, never to names the body assigns.
        param_values = dict(env)
        ctx = Ctx(module=module, env=env, stack=(f"{module.name}:{fn.name}",))
        body.block(fn.body, ctx, top=True)
        outputs = pipeline_outputs(fn, ctx, report)
        hooks = self.hooks(module, args, body, param_values)
        schedule = schedule_spec(args, report)
        model = model_spec(args, report)
        image = args.get("image", (None, None))[0]
        if any(d.severity == "error" for d in self.diags + self.project.diagnostics):
            return None  # "unused" warnings would be noise: failed statements read nothing
        self.warnings(module, fn, body, env)
        tasks = body.tasks
        edges = build_edges(tasks, body.loops)
        pairs = {(e.source, e.target) for e in edges}
        ids = [t.id for t in tasks]
        cycle = find_cycle(ids, pairs)
        if cycle:  # cannot happen by construction; kept as a guard of the invariant
            report("PF001", fn, f"dependency cycle: {' -> '.join(cycle)}", "")
            return None
        order = {tid: i for i, tid in enumerate(topological_order(ids, pairs))}
        ordered = sorted(tasks, key=lambda t: order[t.id])
        hook_tasks = sorted(hooks, key=lambda t: t.id)
        step_defs = dict(body.step_defs)
        return ir.Pipeline(
            name=name,
            doc=_doc(fn),
            params=tuple(params),
            steps=tuple(step_defs[k] for k in sorted(step_defs)),
            tasks=tuple(ordered + hook_tasks),
            loops=tuple(body.loops),
            subpipelines=tuple(body.subpipelines),
            edges=tuple(edges),
            schedule=schedule,
            model=model,
            image=image if isinstance(image, str) and image else None,
            outputs=outputs,
            source=module.rel,
            span=module.span(fn),
        )

    def params(
        self, module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> tuple[list[ir.Param], dict[str, Value]]:
        report = self.report_for(module)
        types = TypeReader(self.project, module)
        ev = StaticEval(self.project, module, report)
        if fn.args.vararg or fn.args.kwarg:
            bad = fn.args.vararg or fn.args.kwarg
            assert bad is not None
            report(
                "PF303",
                bad,
                "a pipeline cannot take *args/**kwargs",
                "declare each parameter with a name, a type and a default",
            )
        params: list[ir.Param] = []
        env: dict[str, Value] = {}
        for arg, default in signature_params(fn):
            value = None
            if default is not None:
                value = ev.literal(default)
                if value is _NOT_LITERAL:
                    report(
                        "PF300",
                        default,
                        f"the default of parameter {arg.arg!r} must be a literal",
                        "write the value itself, e.g. `n_estimators: int = 100`",
                    )
                    value = None
            if arg.annotation is not None:
                t = types.read(arg.annotation)
            elif default is not None and value is not None:
                lt = literal_type(value)
                t = ir.TypeInfo(annotation="", type=lt, kind="parameter")
            else:
                t = ir.TypeInfo(annotation="", type="any", kind="parameter")
            if t.kind == "artifact" and t.type != "any":
                report(
                    "PF304",
                    arg,
                    f"pipeline parameter {arg.arg!r} has type {t.annotation}, which is not a "
                    "parameter type",
                    "parameters are int, float, str, bool, None, or lists/dicts of those; "
                    "load data inside a step from a path or URI parameter",
                )
            elif t.type == "any":
                t = ir.TypeInfo(annotation=t.annotation, type="any", kind="parameter")
            if (
                default is not None
                and value is not None
                and not compatible(literal_type(value), t.type)
            ):
                report(
                    "PF221",
                    default,
                    f"the default of {arg.arg!r} is {literal_type(value)}, not {t.annotation}",
                    "make the default match the annotation",
                )
            params.append(
                ir.Param(
                    name=arg.arg,
                    type=t,
                    has_default=default is not None,
                    default=value,
                    span=module.span(arg),
                )
            )
            env[arg.arg] = Value(
                binding=ir.ParamRef(param=arg.arg),
                type=t.type,
                kind="parameter",
                task=None,
                loops=(),
                branch=(),
            )
        return params, env

    def hooks(
        self,
        module: Module,
        args: dict[str, tuple[object, ast.expr]],
        body: BodyCompiler,
        params: dict[str, Value],
    ) -> list[ir.Task]:
        report = self.report_for(module)
        out: list[ir.Task] = []
        for key, hook in (("on_exit", "exit"), ("on_failure", "failure")):
            if key not in args:
                continue
            ref, node = args[key]
            assert isinstance(ref, Ref)
            found = read_hook_step(body, module, key, node, report)
            if found is None:
                continue
            step, fn_name = found
            inputs: list[ir.InputBinding] = []
            bad = False
            for inp in step.inputs:
                if inp.type.type == ir.RUN_STATUS:
                    continue  # the runner passes the run's final status
                # Like an exit handler's task in KFP or an onExit template in Argo, a hook
                # takes only what it is given: an input without a default is bound to the
                # pipeline parameter of its name; one with a default keeps its default.
                if inp.name in params and not inp.has_default:
                    params[inp.name].used = True
                    inputs.append(
                        ir.InputBinding(
                            name=inp.name,
                            binding=ir.ParamRef(param=inp.name),
                            kind="parameter",
                            span=module.span(node),
                        )
                    )
                elif not inp.has_default:
                    report(
                        "PF305",
                        node,
                        f"hook step {step.name!r} needs input {inp.name!r}, which is not a "
                        "pipeline parameter",
                        "a hook input without a default is bound to the pipeline parameter of "
                        "its name; give it a default, or add that parameter",
                    )
                    bad = True
            if bad:
                continue
            out.append(
                ir.Task(
                    id=body.unique_id(fn_name),
                    step=step.ref,
                    inputs=tuple(inputs),
                    hook=hook,  # type: ignore[arg-type]
                    span=module.span(node),
                )
            )
        return out

    def warnings(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        body: BodyCompiler,
        env: dict[str, Value],
    ) -> None:
        for mod, node, name, val in body.bound:
            if not val.used:
                self.report_for(mod)(
                    "PF900",
                    node,
                    f"output {name!r} is never used",
                    f"drop the assignment (`step(...)` alone runs the step), or name it `_{name}`",
                )
        report = self.report_for(module)
        for stmt in module.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                kind = decorator_kind(self.project, module, stmt)
                if kind and kind[0] == "step" and id(stmt) not in body.used_step_nodes:
                    report(
                        "PF901",
                        stmt,
                        f"step {stmt.name!r} is defined but never used by the pipeline",
                        "call it in the pipeline body, or remove it",
                    )
        for name, val in env.items():
            if isinstance(val.binding, ir.ParamRef) and val.binding.param == name and not val.used:
                report(
                    "PF902",
                    _param_node(fn, name),
                    f"parameter {name!r} is never used",
                    "pass it to a step, or remove it",
                )


def build_edges(tasks: list[ir.Task], loops: list[ir.Loop]) -> list[ir.Edge]:
    """Every dependency, derived from bindings, conditions, loop sources and `after=`."""
    by_id = {lp.id: lp for lp in loops}
    acc: dict[tuple[str, str, str], set[str]] = {}

    def add(src: str, tgt: str, kind: str, label: str | None) -> None:
        labels = acc.setdefault((src, tgt, kind), set())
        if label:
            labels.add(label)

    for t in tasks:
        for inp in t.inputs:
            for src in ir.binding_tasks(inp.binding):
                out = getattr(inp.binding, "output", "")
                add(src, t.id, "data", f"{out}->{inp.name}")
        if t.condition is not None:
            for b in ir.condition_bindings(t.condition):
                for src in ir.binding_tasks(b):
                    add(src, t.id, "condition", getattr(b, "output", ""))
        loop_id = t.loop
        while loop_id is not None:
            lp = by_id[loop_id]
            for src in ir.binding_tasks(lp.items):
                add(src, t.id, "loop", f"{getattr(lp.items, 'output', '')}->{lp.var}")
            loop_id = lp.parent
        for a in t.after:
            add(a, t.id, "order", None)
    return [
        ir.Edge(source=s, target=tg, kind=k, labels=tuple(sorted(labels)))  # type: ignore[arg-type]
        for (s, tg, k), labels in sorted(acc.items())
    ]


def _called_names(found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]) -> set[str]:
    names = {fn.name for _, fn in found}
    called: set[str] = set()
    for _, fn in found:
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
            ):
                if node.func.id != fn.name:
                    called.add(node.func.id)
    return called


def _param_node(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.AST:
    for arg in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs):
        if arg.arg == name:
            return arg
    return fn


def _doc(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(fn)
    return as_text(doc.strip().splitlines()[0]) if doc and doc.strip() else ""


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the disk, a NUL byte
        return False


__all__ = ["Abort", "Result", "analyze", "compile_file", "find_root"]
