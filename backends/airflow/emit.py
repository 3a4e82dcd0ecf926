"""IR -> one Airflow 3 DAG file per pipeline, rendered from the jinja2 template `templates/dag.py.j2`.

Every IR task becomes one operator from `operators.py` (a `PortaflowTask`
running `python -m portaflow.task` on the worker, or a `PortaflowPodTask`, a
KubernetesPodOperator); a task inside a fan-out is mapped (`.partial(...).expand(...)`,
https://airflow.apache.org/docs/apache-airflow/stable/authoring-and-scheduling/dynamic-task-mapping.html)
over the iterations listed by one `PortaflowItems` task per loop; sub-pipelines are task
groups. Each operator evaluates its own condition and skips itself when it is false,
and every task runs with the `none_failed` trigger rule, so a task after an if/else
runs when a branch was skipped, as under `portaflow run`. The operators take no Jinja
template fields: user values are Python literals (pylit.py) and stay data.
"""

from __future__ import annotations

import hashlib
import keyword
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2

from portaflow.backends import BackendError, BackendMessage, EmitOptions, EmitResult, EmittedFile
from portaflow.backends.storeconf import store_settings
from portaflow.compiler import ir, irjson

from . import codes
from .names import WATCHER, Names, dag_id
from .pylit import block, lit

OPERATORS = ("kubernetes", "local")
#: Names the generated module defines or imports; variables never take them.
_RESERVED = {"DAG", "Param", "TaskGroup", "PortaflowItems", "PortaflowTask", "PortaflowPodTask"}
_RESERVED |= {"PortaflowWatcher", "pendulum", "timedelta", "dag", "annotations"}
_JSON_TYPES = {
    "int": "integer",
    "float": "number",
    "str": "string",
    "bool": "boolean",
    "null": "null",
    "list": "array",
    "dict": "object",
}


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portaflow.backends.airflow", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("dag.py.j2")


@dataclass
class _Op:
    """One operator call in the generated file."""

    var: str
    call: str
    kwargs: list[tuple[str, str]] = field(default_factory=list)
    expand: str = ""


def param_schema_type(type_text: str) -> list[str] | str:
    """The JSON-schema `type` of an IR parameter type ("int | null" -> ["integer", "null"])."""
    kinds = []
    for part in type_text.split("|"):
        base = part.strip().split("[", 1)[0]
        kinds.append(_JSON_TYPES.get(base, ""))
    if "" in kinds:
        return ""
    return kinds[0] if len(kinds) == 1 else kinds


class _Emitter:
    def __init__(self, p: ir.Pipeline, options: EmitOptions) -> None:
        self.p = p
        self.o = options
        self.errors: list[BackendMessage] = []
        self.warnings: list[BackendMessage] = []
        self.n = Names(p)
        self.vars: dict[str, str] = {}
        self._used_vars = set(_RESERVED)
        self._bounded: set[str] = set()  # outer bounded loops already reported (PF720)
        flavour = options.extra.get("airflow_operator", "kubernetes")
        if flavour not in OPERATORS:
            self.errors.append(
                BackendMessage(
                    code=codes.BAD_OPTION,
                    message=f"unknown airflow_operator {flavour!r}",
                    span=p.span,
                    hint="use --airflow-operator kubernetes or --airflow-operator local",
                )
            )
            flavour = "kubernetes"
        self.flavour = str(flavour)
        # A store URL in the stack: every pod writes its record there (docs/stores.md).
        self.store, problems = store_settings(options.extra)
        for code, message, hint in problems:
            self.errors.append(BackendMessage(code=code, message=message, span=p.span, hint=hint))
        if self.flavour != "kubernetes":
            self.store = None  # the worker runs the step: its own environment decides

    # ------------------------------------------------------------------ names

    def var(self, airflow_id: str) -> str:
        if airflow_id not in self.vars:
            base = airflow_id.replace(".", "__").replace("-", "_").replace("group:", "group_")
            if base[0].isdigit() or keyword.iskeyword(base):
                base = f"t_{base}"
            name, k = base, 1
            while name in self._used_vars:
                k += 1
                name = f"{base}_{k}"
            self._used_vars.add(name)
            self.vars[airflow_id] = name
        return self.vars[airflow_id]

    # ------------------------------------------------------------------ values

    def chain(self, loop_id: str | None) -> tuple[str, ...]:
        return tuple(lp.id for lp in self.p.loop_chain(loop_id))

    def source(self, b: ir.Binding, chain: tuple[str, ...], kind: str, span: ir.Span) -> Any:
        """The operator's description of where a value comes from (a JSON-like dict)."""
        match b:
            case ir.ParamRef(param=name):
                return {"param": name}
            case ir.Literal(value=v):
                return {"value": v}
            case ir.LoopItem(loop=loop_id, path=path):
                return {"item": chain.index(loop_id), "path": list(path)}
            case ir.TaskOutput(task=up, output=out):
                up_task = self.p.task(up)
                up_chain = self.chain(up_task.loop)
                src: dict[str, Any] = {"task": self.n.task[up], "output": out}
                if up_chain:
                    src["items"] = self.n.loop[up_chain[-1]]
                    src["depth"] = len(up_chain)
                return src
            case ir.OneOf(options=opts):
                # The branch that ran: the first arm whose task pushed an XCom.
                return {"oneof": [self.source(o, chain, kind, span) for o in opts]}
            case ir.Gathered(task=up, output=out, loop=loop_id):
                up_chain = self.chain(self.p.task(up).loop)
                return {
                    "gather": self.n.task[up],
                    "output": out,
                    "items": self.n.loop[up_chain[-1]],
                    "depth": len(self.chain(loop_id)) - 1,
                    "kind": kind,
                }
        raise AssertionError(b)  # pragma: no cover

    def condition(self, c: ir.Condition, chain: tuple[str, ...], span: ir.Span) -> Any:
        match c:
            case ir.Truthy(value=v):
                return {"truthy": self.source(v, chain, "parameter", span)}
            case ir.Compare(left=a, op=op, right=b):
                return {
                    "compare": op,
                    "left": self.source(a, chain, "parameter", span),
                    "right": self.source(b, chain, "parameter", span),
                }
            case ir.Not(operand=x):
                return {"not": self.condition(x, chain, span)}
            case ir.All(operands=xs):
                return {"all": [self.condition(x, chain, span) for x in xs]}
            case ir.Any(operands=xs):
                return {"any": [self.condition(x, chain, span) for x in xs]}
        raise AssertionError(c)  # pragma: no cover

    # ------------------------------------------------------------------ operators

    def group_kw(self, scope: tuple[str, ...]) -> list[tuple[str, str]]:
        return [("task_group", self.var("group:" + scope[-1]))] if scope else []

    def items_op(self, lp: ir.Loop) -> _Op:
        seg = self.n.loop[lp.id].rsplit(".", 1)[-1]
        chain = self.chain(lp.parent)
        kw = [("task_id", lit(seg)), *self.group_kw(lp.scope)]
        kw.append(("items", lit(self.source(lp.items, chain, "parameter", lp.span))))
        if lp.parent is not None:
            kw.append(("parent", lit(self.n.loop[lp.parent])))
        return _Op(var=self.var(self.n.loop[lp.id]), call="PortaflowItems", kwargs=kw)

    def task_op(self, t: ir.Task) -> _Op:
        aid = self.n.task[t.id]
        step = self.p.step(t.step)
        chain = self.chain(t.loop)
        kw = [("task_id", lit(aid.rsplit(".", 1)[-1])), *self.group_kw(t.scope)]
        kw += [("step", lit(step.ref)), ("code_hash", lit(step.code_hash))]
        inputs: dict[str, Any] = {}
        for b in t.inputs:
            if t.hook is not None and not isinstance(b.binding, (ir.ParamRef, ir.Literal)):
                self.errors.append(
                    BackendMessage(
                        code=codes.HOOK_INPUT,
                        message=f"hook {t.id!r} reads a task output; hooks run after the DAG",
                        span=b.span,
                        hint="give the hook only pipeline parameters and literals",
                    )
                )
                continue
            if b.kind == "artifact" and isinstance(b.binding, (ir.ParamRef, ir.Literal)):
                self.errors.append(
                    BackendMessage(
                        code=codes.ARTIFACT_LITERAL,
                        message=f"task {t.id!r}: artifact input {b.name!r} is bound to a "
                        "parameter or literal",
                        span=b.span,
                        hint="artifacts come from step outputs",
                    )
                )
                continue
            src = self.source(b.binding, chain, b.kind, b.span)
            inputs[b.name] = {**src, "kind": b.kind} if "gather" not in src else src
        if t.hook is not None or t.run != "succeeded":
            # A RunStatus input: the states of the upstreams (a hook: of every task), read
            # from Airflow on the worker; Airflow task id -> IR task id.
            watched = (
                [m.id for m in self.p.main_tasks]
                if t.hook is not None
                else sorted({e.source for e in self.p.edges if e.target == t.id})
            )
            status = {"status": {self.n.task[w]: w for w in watched}, "kind": "parameter"}
            for i in step.inputs:
                if i.type.type == ir.RUN_STATUS:
                    inputs[i.name] = status
        kw.append(("inputs", block(inputs, 8)))
        kw.append(("outputs", block({o.name: o.type.kind for o in step.outputs}, 8)))
        if t.condition is not None:
            kw.append(("condition", lit(self.condition(t.condition, chain, t.span))))
        cfg = step.config
        if cfg.retry is not None:
            r = cfg.retry
            kw.append(("retries", lit(r.max)))
            kw.append(("retry_delay", f"timedelta(seconds={r.delay_seconds!r})"))
            if r.backoff == "exponential":
                kw.append(("retry_exponential_backoff", lit(float(r.factor))))
            if r.max_delay_seconds is not None:
                kw.append(("max_retry_delay", f"timedelta(seconds={r.max_delay_seconds!r})"))
        if cfg.timeout_seconds is not None:
            kw.append(("execution_timeout", f"timedelta(seconds={cfg.timeout_seconds!r})"))
        env = dict(cfg.env)
        if self.store is not None:
            env.update({k: v for k, v in self.store.env(self.p.name) if k not in env})
        if env:
            kw.append(("env", block(env, 8)))
        if self.flavour == "kubernetes" and step.ref == ir.MODEL_VERSION_STEP and not self.store:
            self.errors.append(
                BackendMessage(
                    code=codes.MODEL_VERSION,
                    message=f"task {t.id!r}: model_version(...) in Airflow's kubernetes flavour "
                    "reads the model registry of the stack's store in the pod, and the stack has "
                    "no `store` URL",
                    span=t.span,
                    hint='set `store = "s3://bucket/prefix"` in the stack, use the local flavour '
                    "(the worker's PORTAFLOW_STORE_URI), or import the model's artifact with "
                    "importer(uri, type=T)",
                )
            )
        if self.flavour == "kubernetes" and step.container is not None:
            self.errors.append(
                BackendMessage(
                    code=codes.CONTAINER_STEP,
                    message=f"container step {step.name!r} cannot run in the kubernetes flavour: "
                    "KubernetesPodOperator hands a pod's results to XCom only through "
                    "/airflow/xcom/return.json, which the command does not write",
                    span=t.span,
                    hint="use the local flavour (`--airflow-operator local`: the worker runs "
                    "the command as a subprocess), or compile for Argo or KFP (the image runs it)",
                )
            )
        elif self.flavour == "kubernetes":
            kw += self.pod_kwargs(cfg)
            code = self.o.code
            if code is not None and code.mode == "package" and code.uri is not None:
                # The init container fetches the code package; the task runs from it (pod.py).
                ref: dict[str, Any] = {"digest": code.digest, "uri": code.uri}
                if cfg.packages:
                    ref["packages"] = list(cfg.packages)
                kw.append(("code", lit(ref)))
        if cfg.packages and "code" not in dict(kw):
            self.warnings.append(
                BackendMessage(
                    code=codes.PACKAGES_IGNORED,
                    message=f"step {step.name!r}: packages={list(cfg.packages)} are installed only "
                    "by the code package's bootstrap in a pod, and this DAG runs none",
                    span=step.span,
                    hint='use the kubernetes flavour with store = "s3://..." in the stack '
                    "(package mode), or install them where the task runs",
                )
            )
        kw += self.bound_kwargs(t)
        if t.hook == "exit":
            kw.append(("trigger_rule", lit("all_done")))
        elif t.hook == "failure":
            kw.append(("trigger_rule", lit("one_failed")))
        elif t.run == "done":
            kw.append(("trigger_rule", lit("all_done")))
        elif t.run == "failed":
            kw.append(("trigger_rule", lit("one_failed")))
        if step.doc:
            # The newline keeps Airflow from reading a doc ending in ".md" as a template file name.
            kw.append(("doc_md", lit(f"`{step.ref}`: {step.doc}\n")))
        call = "PortaflowPodTask" if self.flavour == "kubernetes" else "PortaflowTask"
        op = _Op(var=self.var(aid), call=call, kwargs=kw)
        if chain:
            op.expand = f".expand(iteration={self.var(self.n.loop[chain[-1]])}.output)"
        return op

    def output_origin(self, b: ir.Binding) -> str:
        match b:
            case ir.TaskOutput(task=t, output=o):
                return f"`{self.n.task[t]}`.`{o}`"
            case ir.OneOf(options=opts):
                return " or ".join(self.output_origin(o) for o in opts)
        return "?"  # pragma: no cover - the compiler returns only these

    def bound_kwargs(self, t: ir.Task) -> list[tuple[str, str]]:
        """`parallel(xs, limit=N)`: at most N mapped instances of the task run at once."""
        chain = self.p.loop_chain(t.loop)
        for depth, lp in enumerate(chain):
            if lp.parallelism is not None and depth < len(chain) - 1 and lp.id not in self._bounded:
                self._bounded.add(lp.id)
                self.errors.append(
                    BackendMessage(
                        code=codes.BOUNDED_OUTER,
                        message=f"bounded fan-out {lp.id!r} holds another loop; Airflow bounds "
                        "the running instances of one mapped task, not iterations of an outer loop",
                        span=lp.span,
                        hint="bound the inner loop instead (`parallel(...)` on it), or use an "
                        "Airflow pool for the tasks",
                    )
                )
        if chain and chain[-1].parallelism is not None:
            return [("max_active_tis_per_dagrun", lit(chain[-1].parallelism))]
        return []

    def pod_kwargs(self, cfg: ir.StepConfig) -> list[tuple[str, str]]:
        image = cfg.image or self.p.image or self.o.image
        kw = [("image", lit(image))]
        secrets = list(cfg.secrets)
        if self.store is not None and self.store.secret and self.store.secret not in secrets:
            secrets.append(self.store.secret)  # the store's credentials, by reference
        if secrets:
            kw.append(("secrets", lit(secrets)))
        res = cfg.resources
        if res is not None:
            spec: dict[str, Any] = {}
            for key in ("cpu", "memory", "disk", "cpu_limit", "memory_limit"):
                if getattr(res, key) is not None:
                    spec[key] = getattr(res, key)
            if res.gpu:
                spec[res.gpu_vendor] = res.gpu
            if spec:
                kw.append(("resources", lit(spec)))
            if res.node_selector:
                kw.append(("node_selector", lit(dict(res.node_selector))))
            if res.tolerations:
                kw.append(("tolerations", lit([dict(tl) for tl in res.tolerations])))
        if cfg.secret_env:
            keys = [{"secret": k.secret, "key": k.key, "env": k.env} for k in cfg.secret_env]
            kw.append(("secret_env", lit(keys)))
        if cfg.volumes:
            vols = [
                {
                    "kind": v.kind,
                    "mount_path": v.mount_path,
                    **({"medium": v.medium} if v.medium else {}),
                    **({"size_limit": v.size_limit} if v.size_limit else {}),
                    **({"claim": v.claim} if v.claim else {}),
                    **({"read_only": True} if v.read_only else {}),
                }
                for v in cfg.volumes
            ]
            kw.append(("volumes", lit(vols)))
        return kw

    # ------------------------------------------------------------------ the file

    def dag_kwargs(self) -> list[tuple[str, str]]:
        p, o = self.p, self.o
        sched = p.schedule
        kw = [("dag_id", lit(dag_id(p.name)))]
        if sched is None:
            kw.append(("schedule", "None"))
            kw.append(("start_date", "None"))
        else:
            kw.append(("schedule", lit(sched.cron)))
            tz = sched.timezone or "UTC"
            kw.append(("start_date", f"pendulum.datetime(2024, 1, 1, tz={lit(tz)})"))
            if sched.concurrency_policy != "Allow":
                kw.append(("max_active_runs", "1"))
        kw.append(("catchup", lit(bool(sched and sched.catchup))))
        params = {}
        for prm in p.params:
            typ = param_schema_type(prm.type.type)
            args = [lit(prm.default)] if prm.has_default else []
            if typ:
                args.append(f"type={lit(typ)}")
            params[prm.name] = f"Param({', '.join(args)})"
        if params:
            body = "".join(f"        {lit(k)}: {v},\n" for k, v in params.items())
            kw.append(("params", "{\n" + body + "    }"))
        tags = ["portaflow", *(p.model.tags if p.model else ())]
        kw.append(("tags", lit(sorted(set(tags)))))
        doc = f"**{p.name}** — {p.doc}\n\n" if p.doc else f"**{p.name}**\n\n"
        doc += f"Generated by portaflow from `{p.source}` (line {p.span.line}); do not edit."
        if p.outputs:  # Airflow has no DAG outputs: say which task's XCom holds each
            doc += "\n\nOutputs (the XCom of the task that produced them): " + ", ".join(
                f"`{o.name}` = {self.output_origin(o.binding)}" for o in p.outputs
            )
        kw.append(("doc_md", lit(doc)))
        defaults: dict[str, Any] = {"trigger_rule": "none_failed"}
        if o.artifact_store:
            defaults["artifact_store"] = o.artifact_store
        root = o.extra.get("project_root")
        if root:
            defaults["project_root"] = str(root)
        if self.flavour == "kubernetes":
            if o.namespace:
                defaults["namespace"] = o.namespace
            if o.service_account:
                defaults["service_account_name"] = o.service_account
        kw.append(("default_args", block(defaults, 4)))
        return kw

    def render(self) -> str:
        groups = []
        for sp in self.p.subpipelines:
            gkw = [("group_id", lit(self.n.group[sp.id]))]
            if sp.scope:
                gkw.append(("parent_group", self.var("group:" + sp.scope[-1])))
            groups.append((self.var("group:" + sp.id), gkw))
        ops: list[_Op] = []
        done_loops: set[str] = set()
        edges: dict[str, set[str]] = {}
        for t in self.p.tasks:
            for lid in self.chain(t.loop):
                if lid in done_loops:
                    continue
                done_loops.add(lid)
                lp = self.p.loop(lid)
                ops.append(self.items_op(lp))
                ups = [self.n.loop[lp.parent]] if lp.parent else []
                ups += [self.n.task[u] for u in ir.binding_tasks(lp.items)]
                for u in ups:
                    edges.setdefault(u, set()).add(self.n.loop[lid])
            ops.append(self.task_op(t))
        for e in self.p.edges:
            edges.setdefault(self.n.task[e.source], set()).add(self.n.task[e.target])
        main = self.p.main_tasks
        hooks = self.p.hooks
        # A failure a run="done"/"failed" task lets pass must still fail the run, as it does
        # under `portaflow run`: the watcher also waits on the upstreams of those tasks.
        tolerated = sorted(
            {
                self.n.task[e.source]
                for e in self.p.edges
                if self.p.task(e.target).run != "succeeded"
            }
        )
        if hooks or tolerated:
            sources = {e.source for e in self.p.edges}
            leaves = [self.n.task[t.id] for t in main if t.id not in sources]
            ops.append(_Op(var=self.var(WATCHER), call="PortaflowWatcher", kwargs=[]))
            ops[-1].kwargs.append(("task_id", lit(WATCHER)))
            for leaf in leaves:
                for h in [*hooks]:
                    edges.setdefault(leaf, set()).add(self.n.task[h.id])
                edges.setdefault(leaf, set()).add(WATCHER)
            for up in tolerated:
                edges.setdefault(up, set()).add(WATCHER)
        lines = []
        order = {aid: i for i, aid in enumerate(self.vars)}
        for src in sorted(edges, key=lambda a: order[a]):
            dsts = sorted(edges[src], key=lambda a: order[a])
            right = (
                self.var(dsts[0]) if len(dsts) == 1 else "[" + ", ".join(map(self.var, dsts)) + "]"
            )
            lines.append(f"{self.var(src)} >> {right}")
        ir_text = irjson.dumps(self.p)
        return _template().render(
            source=lit(self.p.source),
            ir_hash=hashlib.sha256(ir_text.encode()).hexdigest(),
            flavour=self.flavour,
            operator_imports=sorted({op.call for op in ops}),
            dag_kwargs=self.dag_kwargs(),
            groups=groups,
            ops=ops,
            edges=lines,
            uses_timedelta=any("timedelta(" in v for op in ops for _, v in op.kwargs),
            uses_pendulum=self.p.schedule is not None,
            uses_param=bool(self.p.params),
        )


def emit(pipeline: ir.Pipeline, *, options: EmitOptions) -> EmitResult:
    """One DAG file, `<dag_id>.py`, for the pipeline."""
    e = _Emitter(pipeline, options)
    text = e.render()
    if e.errors:
        raise BackendError(e.errors)
    return EmitResult(
        files=(EmittedFile(path=f"{dag_id(pipeline.name)}.py", text=text),),
        warnings=tuple(e.warnings),
    )
