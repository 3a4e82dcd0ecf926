"""`importer(uri, type=T)` and `model_version(name, ...)` in a pipeline body: a task each.

Both bring in an artifact that no step of the run made. They compile to a task
of a step the runtime provides (`ir.IMPORTER_STEP`, `ir.MODEL_VERSION_STEP`,
runtime/imports.py) whose one output, `artifact`, is that existing artifact, so
every backend wires it like a step output; the value carries the type `T`, so
the consumers' inputs are checked against it. Neither is ever cached: the
task fetches again on every run, and its sha256 is part of each consumer's
cache key (a changed file at the same URI is never a stale hit).
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

from portaflow.compiler import ir
from portaflow.compiler.bodyctx import Ctx, Value
from portaflow.compiler.steps import StaticEval, short
from portaflow.compiler.types import ANY, TypeReader

if TYPE_CHECKING:
    from portaflow.compiler.calls import CallCompiler

KINDS = ("importer", "model_version")
STAGES = ("staging", "production", "archived")
_STR = ir.TypeInfo(annotation="str", type="str", kind="parameter")
_OPT_STR = ir.TypeInfo(annotation="str | None", type="str | null", kind="parameter")
_OPT_INT = ir.TypeInfo(annotation="int | None", type="int | null", kind="parameter")
_META = ir.TypeInfo(
    annotation="dict[str, Any] | None", type="dict[str, any] | null", kind="parameter"
)
_HINTS = {
    "importer": 'importer("s3://bucket/data.parquet", type=pd.DataFrame, metadata={"owner": "ml"})',
    "model_version": 'model_version("regressor", stage="production")  (or version=3)',
}


def _step(kind: str, span: ir.Span) -> ir.StepDef:
    """The runtime-provided step of an import task (the same for every call)."""
    inputs: tuple[ir.StepInput, ...]
    if kind == "importer":
        inputs = (
            ir.StepInput(name="uri", type=_STR, has_default=False),
            ir.StepInput(name="type", type=_STR, has_default=True, default="any"),
            ir.StepInput(name="metadata", type=_META, has_default=True, default=None),
        )
        ref, doc = ir.IMPORTER_STEP, "An existing artifact at a URI."
    else:
        inputs = (
            ir.StepInput(name="name", type=_STR, has_default=False),
            ir.StepInput(name="stage", type=_OPT_STR, has_default=True, default=None),
            ir.StepInput(name="version", type=_OPT_INT, has_default=True, default=None),
            ir.StepInput(name="artifact", type=_OPT_STR, has_default=True, default=None),
        )
        ref, doc = ir.MODEL_VERSION_STEP, "A registered model version from the store's registry."
    return ir.StepDef(
        ref=ref,
        name=kind,
        inputs=inputs,
        outputs=(ir.StepOutput(name="artifact" if kind == "importer" else "model", type=ANY),),
        # Never reused: the task fetches on every run; consumers' keys cover what it fetched.
        config=ir.StepConfig(cache=False),
        code_hash=hashlib.sha256(f"{ref}/1".encode()).hexdigest(),
        doc=doc,
        span=span,
    )


def import_call(cc: CallCompiler, node: ast.Call, kind: str, ctx: Ctx) -> Value:
    """Compile an `importer(...)` / `model_version(...)` call into its task."""
    names = ["uri", "type", "metadata"] if kind == "importer" else ["name"]
    keywords = (
        ["uri", "type", "metadata"]
        if kind == "importer"
        else ["name", "stage", "version", "artifact"]
    )
    given: dict[str, ast.expr] = {}
    after: list[ast.keyword] = []
    for i, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred) or i >= len(names):
            raise cc.error(
                ctx,
                "PF270",
                arg,
                f"{kind}() takes at most {len(names)} positional argument(s)",
                _HINTS[kind],
            )
        given[names[i]] = arg
    for kw in node.keywords:
        if kw.arg == "after":
            after.append(kw)
            continue
        if kw.arg not in keywords or kw.arg in given:
            what = "`**kwargs`" if kw.arg is None else repr(kw.arg)
            raise cc.error(
                ctx,
                "PF270",
                kw,
                f"{kind}() has no argument {what}"
                if kw.arg not in keywords
                else f"{kind}() gets {kw.arg!r} twice",
                f"its arguments: {', '.join(keywords)}; e.g. {_HINTS[kind]}",
            )
        given[kw.arg] = kw.value
    required = ("uri", "type") if kind == "importer" else ("name",)
    for name in required:
        if name not in given:
            raise cc.error(ctx, "PF270", node, f"{kind}() needs {name}=", _HINTS[kind])
    ev = StaticEval(cc.project, ctx.module, cc.report_for(ctx.module))
    args: list[ast.keyword] = []
    declared = "any"
    if kind == "importer":
        _string_source(cc, given["uri"], "uri", kind, ctx)
        declared = _artifact_type(cc, given["type"], ctx)
        args.append(_kw("uri", given["uri"]))
        args.append(_kw("type", ast.copy_location(ast.Constant(declared), given["type"])))
        if "metadata" in given:
            meta = ev.literal(given["metadata"])
            if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
                raise cc.error(
                    ctx,
                    "PF273",
                    given["metadata"],
                    f"importer metadata= must be a dict literal of string keys to JSON values, "
                    f"not `{short(given['metadata'])}`",
                    'e.g. metadata={"source": "warehouse", "rows": 1000}',
                )
            args.append(_kw("metadata", given["metadata"]))
    else:
        _string_source(cc, given["name"], "name", kind, ctx)
        args.append(_kw("name", given["name"]))
        _model_selector(cc, given, ev, ctx)
        args += [_kw(k, given[k]) for k in ("stage", "version", "artifact") if k in given]
    call = ast.copy_location(ast.Call(func=node.func, args=[], keywords=args + after), node)
    ast.fix_missing_locations(call)
    step = cc.step_defs.get(ir.IMPORTER_STEP if kind == "importer" else ir.MODEL_VERSION_STEP)
    val = cc.step_task(call, step or _step(kind, ctx.module.span(node)), kind, ctx)
    return replace(val, type=declared)


def _kw(name: str, value: ast.expr) -> ast.keyword:
    return ast.copy_location(ast.keyword(arg=name, value=value), value)


def _string_source(cc: CallCompiler, node: ast.expr, what: str, kind: str, ctx: Ctx) -> None:
    """A string literal (or module constant) or a `str` pipeline parameter."""
    val = cc.value(node, ctx)
    if isinstance(val.binding, ir.Literal) and isinstance(val.binding.value, str):
        if val.binding.value.strip():
            return
    elif isinstance(val.binding, ir.ParamRef) and val.type == "str":
        return
    raise cc.error(
        ctx,
        "PF271",
        node,
        f"{kind}() {what} must be a non-empty string literal or a `str` pipeline parameter, "
        f"not `{short(node)}`",
        "the "
        + ("URI" if what == "uri" else "model name")
        + " is fixed when the run starts: write it in the call, or pass a parameter "
        '(`def p(data_uri: str = "s3://...")`); to compute it, read the data inside a step',
    )


def _artifact_type(cc: CallCompiler, node: ast.expr, ctx: Ctx) -> str:
    """The normalised artifact type of `type=`; PF272 when unknown or a parameter type."""
    reader = TypeReader(cc.project, ctx.module)
    known = isinstance(node, (ast.Name, ast.Attribute)) and (
        cc.project.resolve_expr(ctx.module, node) is not None or ast.unparse(node) == "bytes"
    )
    info = reader.read(node) if known else None
    if info is None or info.type == "any" or info.kind != "artifact":
        why = (
            f"`{short(node)}` is a JSON type, which travels as a parameter, not an artifact"
            if info is not None and info.kind == "parameter"
            else f"`{short(node)}` is not a type the compiler can find (import it at the top)"
        )
        raise cc.error(
            ctx,
            "PF272",
            node,
            f"importer type= must name an artifact type: {why}",
            "e.g. type=pd.DataFrame, type=np.ndarray, type=bytes, or type=Path for a plain "
            "file or folder; pass JSON values as pipeline parameters",
        )
    return info.type


def _model_selector(cc: CallCompiler, given: dict[str, ast.expr], ev: StaticEval, ctx: Ctx) -> None:
    hint = 'model_version("name", stage="production") or model_version("name", version=3)'
    if "stage" in given and "version" in given:
        raise cc.error(
            ctx,
            "PF274",
            given["version"],
            "model_version() takes stage= or version=, not both",
            hint,
        )
    if "stage" in given:
        stage = ev.literal(given["stage"])
        if stage not in STAGES:
            raise cc.error(
                ctx,
                "PF274",
                given["stage"],
                f"model_version(stage=...) must be one of {', '.join(STAGES)}, "
                f"not `{short(given['stage'])}`",
                hint,
            )
    if "version" in given:
        version = ev.literal(given["version"])
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise cc.error(
                ctx,
                "PF274",
                given["version"],
                f"model_version(version=...) must be an int >= 1, not `{short(given['version'])}`",
                hint,
            )
    if "artifact" in given:
        art = ev.literal(given["artifact"])
        if not isinstance(art, str) or not art:
            raise cc.error(
                ctx,
                "PF274",
                given["artifact"],
                "model_version(artifact=...) must be a string literal naming an output "
                '("model" or "task.output")',
                hint,
            )


__all__ = ["KINDS", "STAGES", "import_call"]
