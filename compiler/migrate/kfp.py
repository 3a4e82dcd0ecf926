"""`portaflow migrate --from kfp`: KFP v2 SDK pipelines (`kfp.dsl`) -> portaflow, one rule each.

The file is rewritten with libcst, so comments, formatting and code the rules do not
touch stay byte for byte. The passes: find the kfp names the file imports and its
components and pipelines; rewrite each pipeline body (kfp_body), which also gathers
the task options that become step options; rewrite each component (kfp_components);
then set the decorators and replace the kfp imports with `from portaflow import ...`.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from portaflow.compiler.diagnostics import Diagnostic
from portaflow.compiler.migrate.base import MigrateResult, Rule
from portaflow.compiler.migrate.kfp_body import PipelineBody
from portaflow.compiler.migrate.kfp_common import Component, Context, kwargs, make_call
from portaflow.compiler.migrate.kfp_components import (
    decorator_args,
    migrate_component,
    step_decorator,
)

RULES: tuple[Rule, ...] = (
    Rule(
        "component-decorator",
        '`@dsl.component(base_image="python:3.11", packages_to_install=["pandas"])` -> '
        '`@step(image="python:3.11")`; packages_to_install is reported (PF801): install them '
        "in the image",
    ),
    Rule(
        "pipeline-decorator",
        '`@dsl.pipeline(name="etl", description=...)` -> `@pipeline(name="etl")`',
    ),
    Rule(
        "task-output",
        '`t.output` -> `t`; `t.outputs["x"]` -> `t` (one output) or `t_x` (several outputs)',
    ),
    Rule(
        "named-outputs",
        '`-> NamedTuple("Outputs", [("a", int), ("b", str)])` -> '
        '`-> tuple[Annotated[int, "a"], Annotated[str, "b"]]`; its task `t = c()` -> `t_a, t_b = c()`',
    ),
    Rule(
        "if-elif-else",
        "`with dsl.If(c):` / `dsl.Elif(c)` / `dsl.Else()` -> `if c:` / `elif c:` / `else:`",
    ),
    Rule(
        "parallel-for",
        '`with dsl.ParallelFor(xs) as x:` -> `for x in xs:`; `x.field` -> `x["field"]`',
    ),
    Rule(
        "collected",
        "`with dsl.ParallelFor(xs) as x: v = c(x=x)` then `dsl.Collected(v.output)` -> "
        "`v = [c(x=x) for x in xs]` then `v`",
    ),
    Rule(
        "after",
        "`c(...).after(t1, t2)` (or `t.after(t1)` on its own line) -> `c(..., after=[t1, t2])`",
    ),
    Rule(
        "set-retry",
        '`.set_retry(num_retries=3, backoff_duration="60s", backoff_factor=2)` -> '
        '`@step(retries=Retry(max=3, delay="60s", factor=2))`',
    ),
    Rule(
        "set-resources",
        '`.set_cpu_limit("2").set_memory_limit("4G")` -> `@step(resources=Resources(cpu="2", memory="4G"))`',
    ),
    Rule(
        "set-accelerator",
        '`.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)` -> '
        '`Resources(gpu=1, gpu_vendor="nvidia.com/gpu")`',
    ),
    Rule("set-caching", "`.set_caching_options(False)` -> `@step(cache=False)`"),
    Rule("set-env", '`.set_env_variable("K", "v")` -> `@step(env={"K": "v"})`'),
    Rule(
        "output-artifact",
        '`out: Output[Dataset]` written once by `with open(out.path, "w") as f: f.write(v)` -> '
        '`-> Annotated[str, "out"]` returning `v`',
    ),
    Rule(
        "input-artifact",
        "`data: Input[Dataset]` read once by `with open(data.path) as f: text = f.read()` -> "
        "`data: str` and `text = data`",
    ),
    Rule("metrics", '`m: Output[Metrics]` with `m.log_metric("acc", v)` -> `log_metric("acc", v)`'),
    Rule(
        "exit-handler",
        "`with dsl.ExitHandler(exit_task=cleanup()):` -> `@pipeline(on_exit=cleanup)`",
    ),
    Rule(
        "compile-call",
        '`compiler.Compiler().compile(p, "p.yaml")` under `if __name__ == "__main__":` -> a '
        "`SystemExit` naming `portaflow compile FILE --target kfp`",
    ),
    Rule(
        "imports",
        "`from kfp import dsl` (and `kfp.dsl` names) -> `from portaflow import pipeline, step, ...`",
    ),
)

Where = Callable[[cst.CSTNode], CodeRange | None]

_PIPELINE_DROP = {"description", "pipeline_root", "display_name", "pipeline_config"}


def migrate(source: str, path: str) -> MigrateResult:
    """Rewrite a KFP v2 pipeline file; what cannot be translated stays, with a diagnostic."""
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        return MigrateResult(
            code=source,
            diagnostics=[
                Diagnostic(
                    code="PF100",
                    severity="error",
                    message=f"cannot parse the file: {str(exc).splitlines()[0]}",
                    path=path,
                    hint="migrate reads a valid Python file; fix the syntax first",
                )
            ],
        )
    try:
        return _migrate(module, source, path)
    except RecursionError:
        return MigrateResult(
            code=source,
            diagnostics=[
                Diagnostic(
                    code="PF102",
                    severity="error",
                    message="the file nests too deeply to rewrite",
                    path=path,
                )
            ],
        )


def _migrate(module: cst.Module, source: str, path: str) -> MigrateResult:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions: dict[cst.CSTNode, CodeRange] = {}

    def where(node: cst.CSTNode) -> CodeRange | None:
        # Positions cost as much as the rewrite: computed only once a diagnostic needs one.
        if not positions:
            positions.update(wrapper.resolve(PositionProvider))
        return positions.get(node)

    ctx = Context(source, path)
    _scan(ctx, module, where)
    if not ctx.aliases:
        return MigrateResult(code=source)
    # Components first: their outputs decide how the pipelines' tasks unpack.
    body: list[cst.BaseStatement] = []
    for stmt in module.body:
        comp = _component(ctx, stmt)
        if comp is not None and not comp.is_pipeline:
            assert isinstance(stmt, cst.FunctionDef)
            for deco in stmt.decorators:
                if _deco_qual(ctx, deco) in _COMPONENT:
                    comp.args = decorator_args(ctx, deco, where)
            stmt = migrate_component(ctx, comp, stmt, where)
        body.append(stmt)
    for i, stmt in enumerate(module.body):
        comp = _component(ctx, stmt)
        if comp is not None and comp.is_pipeline:
            assert isinstance(stmt, cst.FunctionDef)
            body[i] = _pipeline(ctx, stmt, where)
        elif comp is None and _is_main(stmt):
            assert isinstance(stmt, cst.If)
            body[i] = _main(ctx, stmt, where)
        elif comp is None:
            _check_module_level(ctx, stmt, where)
    body = [_decorate(ctx, s) for s in body]
    new = module.with_changes(body=_imports(ctx, body))
    ctx.diagnostics.sort(key=lambda d: (d.line, d.col))
    return MigrateResult(code=new.code, diagnostics=ctx.diagnostics)


_COMPONENT = ("kfp.dsl.component", "kfp.components.create_component_from_func")
_COMPILE_HINT = "compile with `portaflow compile {file} --target kfp -o DIR`; run locally with `portaflow run {file}`"


def _deco_qual(ctx: Context, deco: cst.Decorator) -> str | None:
    func = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
    return ctx.qual(func)


def _component(ctx: Context, stmt: cst.BaseStatement) -> Component | None:
    if isinstance(stmt, cst.FunctionDef):
        return ctx.components.get(stmt.name.value)
    return None


def _scan(ctx: Context, module: cst.Module, where: Where) -> None:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _alias(ctx, small)
    for stmt in module.body:
        if not isinstance(stmt, cst.FunctionDef):
            continue
        for deco in stmt.decorators:
            q = _deco_qual(ctx, deco)
            if q in _COMPONENT:
                ctx.components[stmt.name.value] = Component()
            elif q == "kfp.dsl.pipeline":
                ctx.components[stmt.name.value] = Component(is_pipeline=True)
            elif q is not None and q.startswith("kfp."):
                ctx.add(
                    "PF800",
                    "error",
                    f"`@{q.removeprefix('kfp.')}` has no portaflow equivalent",
                    where(deco),
                    "portaflow steps are Python functions: write the container's work as "
                    "a @step body, run in its `image`",
                )


def _alias(ctx: Context, small: cst.BaseSmallStatement) -> None:
    if isinstance(small, cst.Import):
        for a in small.names:
            name = cst.Module(body=[]).code_for_node(a.name)
            if name.split(".")[0] != "kfp":
                continue
            if a.asname is not None and isinstance(a.asname.name, cst.Name):
                ctx.aliases[a.asname.name.value] = name
            else:
                ctx.aliases["kfp"] = "kfp"
    elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        mod = cst.Module(body=[]).code_for_node(small.module)
        if mod.split(".")[0] != "kfp" or isinstance(small.names, cst.ImportStar):
            return
        for a in small.names:
            name = cst.Module(body=[]).code_for_node(a.name)
            local = (
                a.asname.name.value if a.asname and isinstance(a.asname.name, cst.Name) else name
            )
            ctx.aliases[local] = f"{mod}.{name}"


def _pipeline(ctx: Context, fn: cst.FunctionDef, where: object) -> cst.FunctionDef:
    name = fn.name.value
    params = {p.name.value for p in (*fn.params.params, *fn.params.kwonly_params)}
    body = PipelineBody(ctx, where, name, params)  # type: ignore[arg-type]
    if isinstance(fn.body, cst.IndentedBlock):
        body.scan(fn.body.body)
        fn = fn.with_changes(body=body.indented(fn.body))
    decorators = []
    for deco in fn.decorators:
        func = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if ctx.qual(func) != "kfp.dsl.pipeline":
            decorators.append(deco)
            continue
        args = []
        given = kwargs(deco.decorator) if isinstance(deco.decorator, cst.Call) else {}
        for key, value in given.items():
            if key == "name":
                args.append((key, value))
            elif key in _PIPELINE_DROP:
                ctx.add(
                    "PF806",
                    "warning",
                    f"`@dsl.pipeline({key}=...)` has no portaflow equivalent and is dropped",
                    where(value),  # type: ignore[operator]
                    "a docstring describes a pipeline; the artifact store is a stack setting",
                )
        if name in ctx.on_exit:
            args.append(("on_exit", cst.Name(ctx.on_exit[name])))
        expr = make_call("pipeline", args) if args else cst.Name("pipeline")
        decorators.append(deco.with_changes(decorator=expr))
        ctx.portaflow.add("pipeline")
    return fn.with_changes(decorators=decorators)


def _decorate(ctx: Context, stmt: cst.BaseStatement) -> cst.BaseStatement:
    if not isinstance(stmt, cst.FunctionDef) or stmt.name.value not in ctx.components:
        return stmt
    comp = ctx.components[stmt.name.value]
    if comp.is_pipeline:
        return stmt
    decorators = []
    for deco in stmt.decorators:
        func = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if ctx.qual(func) in _COMPONENT:
            deco = step_decorator(deco, comp)
            ctx.portaflow.add("step")
        decorators.append(deco)
    return stmt.with_changes(decorators=decorators)


def _is_main(stmt: cst.BaseStatement) -> bool:
    """`if __name__ == "__main__":`"""
    if not isinstance(stmt, cst.If) or not isinstance(stmt.test, cst.Comparison):
        return False
    code = cst.Module(body=[]).code_for_node(stmt.test).replace("'", '"')
    return code == '__name__ == "__main__"'


class _KfpNames(cst.CSTVisitor):
    """The first expression that uses a name the file imported from kfp."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.found: cst.CSTNode | None = None

    def visit_Name(self, node: cst.Name) -> None:
        if self.found is None and node.value in self.ctx.aliases:
            self.found = node


def _kfp_use(ctx: Context, node: cst.CSTNode) -> cst.CSTNode | None:
    v = _KfpNames(ctx)
    node.visit(v)
    return v.found


def _is_compile(ctx: Context, stmt: cst.BaseStatement) -> bool:
    """`compiler.Compiler().compile(...)` as a statement of its own."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    small = stmt.body[0]
    if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
        return False
    func = small.value.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "compile"
        and isinstance(func.value, cst.Call)
        and ctx.qual(func.value.func) == "kfp.compiler.Compiler"
    )


def _main(ctx: Context, stmt: cst.If, where: object) -> cst.BaseStatement:
    """kfp's compile call under `if __name__ == "__main__":` -> a message naming portaflow's."""
    if not isinstance(stmt.body, cst.IndentedBlock):
        return stmt
    file = ctx.path.replace("\\", "/").rsplit("/", 1)[-1]
    stmts: list[cst.BaseStatement] = []
    for s in stmt.body.body:
        if _is_compile(ctx, s):
            assert isinstance(s, cst.SimpleStatementLine)
            message = f"compile with: portaflow compile {file} --target kfp -o DIR"
            text = f'"{message}"' if not set(message) & set('"\\\n') else repr(message)
            raise_ = cst.Raise(exc=make_call("SystemExit", [(None, cst.SimpleString(text))]))
            stmts.append(s.with_changes(body=[raise_]))
            continue
        _check_module_level(ctx, s, where)
        stmts.append(s)
    return stmt.with_changes(body=stmt.body.with_changes(body=stmts))


def _check_module_level(ctx: Context, stmt: cst.BaseStatement, where: object) -> None:
    """Module code (besides imports) that uses kfp: reported, left as it is."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return  # helpers may use kfp: their import stays, and so do they
    if isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    ):
        return
    found = _kfp_use(ctx, stmt)
    if found is None:
        return
    file = ctx.path.replace("\\", "/").rsplit("/", 1)[-1]
    ctx.add(
        "PF807",
        "error",
        "module-level code that uses kfp (a client, kfp.local, a compile) has no portaflow "
        "equivalent",
        where(stmt if _is_compile(ctx, stmt) else found),  # type: ignore[operator]
        _COMPILE_HINT.format(file=file)
        + f"; submit with `portaflow submit {file} --target kfp --host URL`",
    )


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False


def _bound(small: cst.BaseSmallStatement) -> list[str]:
    """Names an import statement binds."""
    if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(
        small.names, cst.ImportStar
    ):
        return []
    out = []
    for a in small.names:
        if a.asname is not None and isinstance(a.asname.name, cst.Name):
            out.append(a.asname.name.value)
        else:
            out.append(cst.Module(body=[]).code_for_node(a.name).split(".")[0])
    return out


def _is_kfp_import(small: cst.BaseSmallStatement) -> bool:
    if isinstance(small, cst.Import):
        return any(
            cst.Module(body=[]).code_for_node(a.name).split(".")[0] == "kfp" for a in small.names
        )
    if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        return cst.Module(body=[]).code_for_node(small.module).split(".")[0] == "kfp"
    return False


def _imports(ctx: Context, body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """kfp imports no longer used go; `from portaflow import ...` (and `Annotated`) come."""
    names = _Names()
    for stmt in body:
        stmt.visit(names)
    out: list[cst.BaseStatement] = []
    first: int | None = None
    comments: list[cst.EmptyLine] = []
    leading: list[cst.EmptyLine] = []
    has_annotated = False
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            if any("Annotated" in _bound(s) for s in stmt.body):
                has_annotated = True
            kfp = [s for s in stmt.body if _is_kfp_import(s)]
            if kfp and len(kfp) == len(stmt.body):
                if not any(set(_bound(s)) & names.names for s in kfp):
                    if first is None:
                        first = len(out)
                        leading = list(stmt.leading_lines)
                    else:
                        comments += [ln for ln in stmt.leading_lines if ln.comment]
                    if stmt.trailing_whitespace.comment is not None:
                        comments.append(cst.EmptyLine(comment=stmt.trailing_whitespace.comment))
                    continue
                if first is None:
                    first = len(out) + 1
        out.append(stmt)
    wanted = sorted(n for n in ctx.portaflow if n[0].isupper()) + sorted(
        n for n in ctx.portaflow if n[0].islower()
    )
    if not wanted:
        return out
    new: list[cst.BaseStatement] = []
    if ctx.annotated and not has_annotated:
        typing_at = _typing_import(out)
        if typing_at is None:
            new.append(cst.parse_statement("from typing import Annotated\n"))
        else:
            out[typing_at] = _with_annotated(out[typing_at])
    pf = cst.parse_statement(f"from portaflow import {', '.join(wanted)}\n")
    new.append(pf.with_changes(leading_lines=[cst.EmptyLine()]) if new else pf)
    new[0] = new[0].with_changes(leading_lines=[*leading, *comments])
    at = first if first is not None else _after_docstring(out)
    return out[:at] + new + out[at:]


def _after_docstring(body: list[cst.BaseStatement]) -> int:
    if body and isinstance(body[0], cst.SimpleStatementLine):
        small = body[0].body[0]
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
            return 1
    return 0


def _typing_import(body: list[cst.BaseStatement]) -> int | None:
    """The index of a module-level `from typing import a, b` (no parentheses, no star)."""
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if (
                isinstance(small, cst.ImportFrom)
                and isinstance(small.module, cst.Name)
                and small.module.value == "typing"
                and not small.relative
                and not isinstance(small.names, cst.ImportStar)
                and small.lpar is None
            ):
                return i
    return None


def _with_annotated(stmt: cst.BaseStatement) -> cst.BaseStatement:
    """`from typing import X` -> `from typing import Annotated, X` (sorted as isort would)."""
    assert isinstance(stmt, cst.SimpleStatementLine)
    small = stmt.body[0]
    assert isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)
    names = [cst.Module(body=[]).code_for_node(a).rstrip(", ") for a in small.names]
    text = "from typing import " + ", ".join(sorted([*names, "Annotated"])) + "\n"
    new = cst.parse_statement(text)
    assert isinstance(new, cst.SimpleStatementLine)
    return stmt.with_changes(body=new.body)
