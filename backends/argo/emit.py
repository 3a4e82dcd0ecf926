"""IR -> Argo Workflow / WorkflowTemplate / CronWorkflow, built as plain dicts (manifest.py).

One DAG template for the pipeline, one nested DAG template per loop body and sub-pipeline
call, one container template per distinct step, and an exit-handler DAG for hooks
(https://argo-workflows.readthedocs.io/en/latest/walk-through/dag/). Problems are
collected and raised once as a BackendError.
"""

from __future__ import annotations

import hashlib
import json

from portaflow.backends import BackendError, BackendMessage, EmitOptions, EmitResult, EmittedFile
from portaflow.backends.storeconf import store_settings
from portaflow.compiler import ir

from . import (
    codes,
    commandsteps,
    conditions,
    containers,
    loops,
    merge,
    names,
    status,
    values,
    versions,
    yamlout,
)
from . import manifest as mf
from .manifest import Obj
from .scopes import ROOT, Group, Ref, Scopes, Source

API_VERSION = "argoproj.io/v1alpha1"
#: Above this many bytes a parameter value risks Argo's and etcd's size limits.
SIZE_WARN = 64 * 1024

Message = tuple[str, str, "ir.Span | None", str]


class _Emitter:
    def __init__(self, p: ir.Pipeline, options: EmitOptions) -> None:
        self.p = p
        self.o = options
        self.store, self.store_problems = store_settings(options.extra)
        self.errors: list[Message] = []
        self.warnings: list[Message] = []
        self.sc = Scopes(p, self.errors)
        self.pnames = {prm.name: names.param_name(prm.name) for prm in p.params}
        self.dag_tasks: dict[str, dict[str, Obj]] = {g: {} for g in self.sc.groups}
        found = versions.profile(options.extra.get("argo_version"))
        if found is None:
            self.errors.append(
                (
                    codes.ARGO_VERSION,
                    f"unsupported Argo version {options.extra.get('argo_version')!r}",
                    None,
                    f"use one of {', '.join(versions.SUPPORTED)} (default {versions.NEWEST})",
                )
            )
        self.profile = found or versions.Profile(versions.NEWEST)

    # ------------------------------------------------------------------ naming

    def _plan(self) -> None:
        for t in self.p.tasks:
            for b in t.inputs:
                if b.kind == "artifact" and isinstance(b.binding, ir.Gathered):
                    lp = self.p.loop(b.binding.loop)
                    g = self.sc.groups[f"loop:{lp.id}"]
                    if isinstance(lp.items, ir.Literal) and isinstance(lp.items.value, list):
                        if not self.sc.loops_between(
                            f"loop:{lp.id}", self.sc.task_group[b.binding.task]
                        ):
                            g.unrolled = list(lp.items.value)
                            continue
                    self.errors.append(
                        (
                            codes.ARTIFACT_FAN_IN,
                            f"task {t.id!r}: Argo cannot gather artifacts over a list known "
                            "only at run time or over nested loops",
                            b.span,
                            "loop over a literal list, or return a parameter (e.g. a URI string) "
                            "from the step and gather that",
                        )
                    )
        for g in self.sc.groups.values():
            # DAG task names are identifiers in `depends` expressions.
            namer = names.Namer(identifier=True)
            for node in g.nodes:
                namer.want(node, node.rsplit(".", 1)[-1].split(":", 1)[-1])
            g.node_names = namer.resolve()
        # Template names share one namespace.
        tn = names.Namer()
        tn.want("group:", self.p.name)
        for key, g in self.sc.groups.items():
            if g.kind == "loop":
                assert g.loop is not None
                tn.want(f"group:{key}", f"{self.p.name}-{g.loop.id}")
            elif key.startswith("bound:"):
                tn.want(f"group:{key}", f"{self.p.name}-{key[6:]}-bounded")
            elif g.kind == "sub":
                tn.want(f"group:{key}", f"{self.p.name}-{key[4:]}")
            elif g.kind == "exit":
                tn.want(f"group:{key}", f"{self.p.name}-exit")
        self.list_sizes: dict[str, dict[str, int]] = {}
        self.shapes: dict[str, containers.Shape] = {}
        self.variants: dict[tuple[str, containers.Shape], str] = {}
        per_step: dict[str, int] = {}
        for t in self.p.tasks:
            sizes = {}
            for b in t.inputs:
                if isinstance(b.binding, ir.Gathered) and b.kind == "artifact":
                    unrolled = self.sc.groups[f"loop:{b.binding.loop}"].unrolled
                    sizes[b.name] = len(unrolled or [])
            self.list_sizes[t.id] = sizes
            shape = self.shapes[t.id] = containers.shape_of(
                t, sizes, self.p, store=self.store is not None
            )
            vkey = (t.step, shape)
            if vkey not in self.variants:
                n = per_step[t.step] = per_step.get(t.step, 0) + 1
                step = self.p.step(t.step)
                raw = step.name if n == 1 else f"{step.name}-{n}"
                self.variants[vkey] = f"step:{t.step}#{n}"
                tn.want(self.variants[vkey], raw)
        self.tnames = tn.resolve()

    # ------------------------------------------------------------------ values

    def _src(self, b: ir.Binding) -> Source:
        if isinstance(b, ir.TaskOutput):
            return ("out", b.task, names.param_name(b.output))
        if isinstance(b, ir.Gathered):
            return ("gathered", b.task, names.param_name(b.output), b.loop)
        if isinstance(b, ir.LoopItem):
            return ("item", b.loop, *b.path)
        if isinstance(b, ir.OneOf):
            return ("oneof", *(x for o in b.options for x in (o.task, names.param_name(o.output))))
        raise AssertionError(b)

    def _artifact_ref(self, gkey: str, b: ir.Binding) -> Ref:
        return self.sc.resolve(gkey, self._src(b), "artifact")

    def _type_of(self, b: ir.Binding) -> str:
        if isinstance(b, ir.ParamRef):
            found: str = next(prm.type.type for prm in self.p.params if prm.name == b.param)
            return found
        if isinstance(b, ir.OneOf):
            return self._type_of(b.options[0])
        if isinstance(b, (ir.TaskOutput, ir.Gathered)):
            step = self.p.step(self.p.task(b.task).step)
            typ = next((o.type.type for o in step.outputs if o.name == b.output), "any")
            return typ if isinstance(b, ir.TaskOutput) else f"list[{typ}]"
        return "any"

    def _param_ref(self, gkey: str, b: ir.Binding) -> Ref:
        if isinstance(b, ir.ParamRef):
            from .scopes import path_ref

            return path_ref("workflow", "parameters", self.pnames[b.param])
        if isinstance(b, ir.Literal):
            return Ref(path=None, expr=values.expr_literal(b.value))
        return self.sc.resolve(gkey, self._src(b), "parameter")

    def _big_int(self, value: ir.JSONValue, span: ir.Span | None, what: str) -> None:
        if values.has_big_int(value):
            self.warnings.append(
                (
                    codes.BIG_INT,
                    f"{what} holds an integer beyond 2**53; Argo's expressions decode JSON "
                    "numbers as float64 and would round it",
                    span,
                    "pass such numbers as strings",
                )
            )

    def _literal(self, value: ir.JSONValue, span: ir.Span | None, what: str) -> str:
        text = values.to_json(value)
        if len(text.encode()) > SIZE_WARN:
            self.warnings.append(
                (
                    codes.SIZE,
                    f"{what} is {len(text.encode())} bytes of JSON; Argo keeps parameters in the "
                    "workflow object, which etcd limits to about 1 MiB",
                    span,
                    "pass large data as an artifact produced by a step",
                )
            )
        return text

    # ------------------------------------------------------------------ tasks

    def _task(self, t: ir.Task) -> None:
        gkey = self.sc.task_group[t.id]
        g = self.sc.groups[gkey]
        step = self.p.step(t.step)
        params = [mf.parameter(name="portaflow-task", value=t.id.replace("{", "%7B"))]
        arts: list[Obj] = []
        for b in t.inputs:
            pname = names.param_name(b.name)
            bd = b.binding
            if t.hook is not None and not isinstance(bd, (ir.ParamRef, ir.Literal)):
                self.errors.append(
                    (
                        codes.HOOK_INPUT,
                        f"hook {t.id!r} reads a task output; Argo exit handlers run outside the DAG",
                        b.span,
                        "give the hook only pipeline parameters and literals",
                    )
                )
                continue
            if b.kind == "parameter":
                if isinstance(bd, ir.Literal):
                    value = self._literal(bd.value, b.span, f"literal for {b.name!r}")
                else:
                    value = self._param_ref(gkey, bd).tag
                params.append(mf.parameter(name=pname, value=value))
            elif isinstance(bd, ir.Gathered):
                refs = self.sc.artifact_list(gkey, self._src(bd))
                arts += [mf.artifact(name=f"{pname}-{i}", from_=r.tag) for i, r in enumerate(refs)]
            elif isinstance(bd, (ir.TaskOutput, ir.LoopItem, ir.OneOf)):
                ref = self._artifact_ref(gkey, bd)
                if ref.path is None and isinstance(bd, ir.OneOf):
                    arts.append(mf.artifact(name=pname, from_expression=ref.expr))
                else:
                    arts.append(mf.artifact(name=pname, from_=ref.tag))
            else:
                self.errors.append(
                    (
                        codes.UNSUPPORTED,
                        f"task {t.id!r}: input {b.name!r} is an artifact bound to a parameter or literal",
                        b.span,
                        "artifacts come from step outputs",
                    )
                )
        when = None
        if t.condition is not None:
            for lit in ir.condition_bindings(t.condition):
                if isinstance(lit, ir.Literal):
                    self._big_int(lit.value, t.span, f"the condition of task {t.id!r}")
            when = conditions.when(
                t.condition, lambda bd: (self._param_ref(gkey, bd), self._type_of(bd))
            )
        if t.hook is not None:
            # The workflow's phase, as Argo substitutes it in an exit handler.
            final = json.dumps({"status": "{{workflow.status}}"})
            params += [
                mf.parameter(name=names.param_name(n), value=final) for n in status.inputs_of(step)
            ]
        if t.hook == "failure":
            failed = "workflow.status != 'Succeeded'"
            when = "{{=" + failed + "}}" if when is None else when[:-2] + f" && {failed}}}}}"
        if g.kind == "loop":
            when = loops.guard(when)
        shape = self.shapes[t.id]
        self.dag_tasks[gkey][t.id] = mf.dag_task(
            name=g.node_names[t.id],
            template=self.tnames[self.variants[(t.step, shape)]],
            arguments=mf.arguments(parameters=params, artifacts=arts or None),
            when=when,
        )
        del step

    def _loop_items(self, parent: str, lp: ir.Loop) -> tuple[list[list[str]] | None, str | None]:
        items = lp.items
        if isinstance(items, ir.Literal):
            if not isinstance(items.value, list):
                self.errors.append(
                    (
                        codes.UNSUPPORTED,
                        f"loop {lp.id!r} iterates over a non-list literal",
                        lp.span,
                        "",
                    )
                )
                return [], None
            text = [self._literal(v, lp.span, "a fan-out item") for v in items.value]
            self._literal(items.value, lp.span, "the fan-out list")
            for v in items.value:
                if isinstance(v, (list, dict)):
                    self._big_int(v, lp.span, f"an item of loop {lp.id!r}")
            return loops.with_items(text), None
        ref = self._param_ref(parent, items)
        in_loop = self.sc.groups[parent].kind == "loop"
        return None, loops.with_param(ref.expr, in_loop=in_loop)

    def _group_task(self, g: Group) -> None:
        assert g.parent is not None
        pg = self.sc.groups[g.parent]
        node = pg.node_names[g.key]
        params: list[Obj] = []
        arts: list[Obj] = []
        for (src, kind), name in sorted(g.imports.items(), key=lambda kv: kv[1]):
            if kind == "parameter":
                params.append(
                    mf.parameter(name=name, value=self.sc.resolve(g.parent, src, kind).tag)
                )
            else:
                arts.append(mf.artifact(name=name, from_=self.sc.resolve(g.parent, src, kind).tag))
        template = self.tnames[f"group:{g.key}"]
        if g.kind == "loop":
            assert g.loop is not None
            if g.unrolled is not None:
                for i, item in enumerate(g.unrolled):
                    text = self._literal(item, g.span, "a fan-out item")
                    item_p = mf.parameter(name="item", value=loops.wrap_literal(text))
                    self.dag_tasks[g.parent][f"{g.key}#{i}"] = mf.dag_task(
                        name=f"{node}-{i}",
                        template=template,
                        arguments=mf.arguments(
                            parameters=[item_p, *params], artifacts=arts or None
                        ),
                        when=loops.guard(None) if pg.kind == "loop" else None,
                    )
                return
            with_items, with_param = self._loop_items(g.parent, g.loop)
            params.insert(0, mf.parameter(name="item", value="{{item}}"))
            self.dag_tasks[g.parent][g.key] = mf.dag_task(
                name=node,
                template=template,
                arguments=mf.arguments(parameters=params, artifacts=arts or None),
                when=loops.guard(None) if pg.kind == "loop" else None,
                with_items=with_items,
                with_param=with_param,
            )
            return
        self.dag_tasks[g.parent][g.key] = mf.dag_task(
            name=node,
            template=template,
            arguments=mf.arguments(parameters=params or None, artifacts=arts or None)
            if params or arts
            else None,
            when=loops.guard(None) if pg.kind == "loop" else None,
        )

    def _depends(self) -> None:
        # node -> {upstream DAG task name: whether only `after=` orders them}
        deps: dict[tuple[str, str], dict[str, bool]] = {}
        ir_ids: dict[str, str] = {}  # Argo DAG task name -> the IR node it runs
        merged = merge.merge_only_pairs(self.p)
        for e in self.p.edges:
            if e.source not in self.sc.task_group or e.target not in self.sc.task_group:
                continue
            found = self.sc.lca_nodes(e.source, e.target)
            if found is None:
                continue
            gkey, na, nb = found
            srcs = deps.setdefault((gkey, nb), {})
            for name in self._node_task_names(gkey, na):
                loose = e.kind == "order" or (e.source, e.target) in merged
                srcs[name] = srcs.get(name, True) and loose
                ir_ids[name] = na.partition(":")[2] if ":" in na else na
        ran = merge.ran_terms(self.p, self.sc, self._node_task_names)
        for (gkey, node), srcs in deps.items():
            run = self.p.task(node).run if node in self.sc.task_group else "succeeded"
            if run == "succeeded":
                text = " && ".join(_depend_term(n, order) for n, order in sorted(srcs.items()))
            else:
                text = status.depends(sorted(srcs), failed=run == "failed")
            for term in sorted(ran.get((gkey, node), ())):
                text += " && " + term
            phases_json = None
            if run != "succeeded":
                phases = {ir_ids[n]: f"{{{{tasks.{n}.status}}}}" for n in sorted(srcs)}
                phases_json = json.dumps({"tasks": phases})
            for key in self._node_keys(gkey, node):
                tasks = self.dag_tasks[gkey]
                tasks[key] = mf.replace("DAGTask", tasks[key], depends=text)
                if phases_json is not None:
                    args = dict(tasks[key]["arguments"])
                    args["parameters"] = [
                        *args["parameters"],
                        *(
                            mf.parameter(name=names.param_name(n), value=phases_json)
                            for n in status.inputs_of(self.p.step(self.p.task(node).step))
                        ),
                    ]
                    tasks[key] = mf.replace("DAGTask", tasks[key], arguments=args)

    def _node_keys(self, gkey: str, node: str) -> list[str]:
        g = self.sc.groups.get(node)
        if g is not None and g.unrolled is not None:
            return [f"{node}#{i}" for i in range(len(g.unrolled))]
        return [node]

    def _node_task_names(self, gkey: str, node: str) -> list[str]:
        return [self.dag_tasks[gkey][k]["name"] for k in self._node_keys(gkey, node)]

    # ------------------------------------------------------------------ templates

    def _group_template(self, g: Group) -> Obj:
        in_params = [mf.parameter(name="item")] if g.kind == "loop" else []
        in_arts: list[Obj] = []
        for (_src, kind), name in sorted(g.imports.items(), key=lambda kv: kv[1]):
            if kind == "parameter":
                in_params.append(mf.parameter(name=name))
            else:
                in_arts.append(mf.artifact(name=name))
        out_params: list[Obj] = []
        out_arts: list[Obj] = []
        for (_src, kind), (name, tag, expr) in sorted(g.exports.items(), key=lambda kv: kv[1][0]):
            if kind == "artifact":
                out_arts.append(mf.artifact(name=name, from_=tag))
            elif g.kind == "loop":
                # The text itself, or "" where nothing ran (the sentinel): see loops.py.
                vf = (
                    mf.value_from(parameter=tag, default="")
                    if tag is not None
                    else mf.value_from(expression=expr, default="")
                )
                out_params.append(mf.parameter(name=name, value_from=vf))
            elif tag is not None:
                out_params.append(mf.parameter(name=name, value_from=mf.value_from(parameter=tag)))
            else:
                out_params.append(
                    mf.parameter(name=name, value_from=mf.value_from(expression=expr))
                )
        if g.key == ROOT:
            out_params += self.root_outputs[0]
            out_arts += self.root_outputs[1]
        return mf.template(
            name=self.tnames["group:" + g.key] if g.key != ROOT else self.tnames["group:"],
            metadata=mf.metadata(annotations=containers.provenance(g.span)),
            inputs=mf.inputs(parameters=in_params or None, artifacts=in_arts or None)
            if in_params or in_arts
            else None,
            outputs=mf.outputs(parameters=out_params or None, artifacts=out_arts or None)
            if out_params or out_arts
            else None,
            dag=mf.dag_template(
                tasks=list(self.dag_tasks[g.key].values()),
                # A DAG stops scheduling at its first failure unless failFast is off; a
                # run="done"/"failed" task must still start after one.
                fail_fast=False
                if any(
                    self.sc.task_group.get(t.id) == g.key and t.run != "succeeded"
                    for t in self.p.tasks
                )
                else None,
            ),
            parallelism=self._parallelism(g),
        )

    def _pipeline_outputs(self) -> tuple[list[Obj], list[Obj]]:
        """The pipeline's `return`: outputs of the entrypoint DAG, which Argo reports as the
        workflow's outputs (`status.outputs`)."""
        params: list[Obj] = []
        arts: list[Obj] = []
        for out in self.p.outputs:
            name = names.param_name(out.name)
            if out.type.kind == "artifact":
                ref = self._artifact_ref(ROOT, out.binding)
                if ref.path is not None:
                    arts.append(mf.artifact(name=name, from_=ref.tag))
                else:
                    arts.append(mf.artifact(name=name, from_expression=ref.expr))
                continue
            ref = self._param_ref(ROOT, out.binding)
            vf = (
                mf.value_from(parameter=ref.tag)
                if ref.path is not None
                else mf.value_from(expression=ref.expr)
            )
            params.append(mf.parameter(name=name, value_from=vf))
        return params, arts

    def _parallelism(self, g: Group) -> int | None:
        """`parallel(xs, limit=N)`: the wrapper DAG around the loop's task runs N children at once."""
        if not g.key.startswith("bound:"):
            return None
        return self.p.loop(g.key[len("bound:") :]).parallelism

    def _step_templates(self) -> list[Obj]:
        out = []
        for (ref, shape), key in self.variants.items():
            step = self.p.step(ref)
            if ref == ir.MODEL_VERSION_STEP and self.store is None:
                self.errors.append(
                    (
                        codes.MODEL_VERSION,
                        "model_version(...) on Argo reads the model registry of the stack's store "
                        "in the pod, and the stack has no `store` URL",
                        step.span,
                        'set `store = "s3://bucket/prefix"` in the stack (or --stack NAME), or '
                        "import the model's artifact with importer(uri, type=T)",
                    )
                )
            if step.container is not None:
                out.append(
                    commandsteps.command_template(
                        name=self.tnames[key],
                        step=step,
                        shape=shape,
                        extra=self.o.extra,
                        errors=self.errors,
                        warnings=self.warnings,
                        backoff_cap=self.profile.backoff_cap,
                    )
                )
                continue
            image = step.config.image or self.p.image or self.o.image
            out.append(
                containers.container_template(
                    name=self.tnames[key],
                    step=step,
                    shape=shape,
                    image=image,
                    extra=self.o.extra,
                    errors=self.errors,
                    warnings=self.warnings,
                    backoff_cap=self.profile.backoff_cap,
                    store=self.store,
                    pipeline_name=self.p.name,
                    code=self.o.code,
                )
            )
        return out

    # ------------------------------------------------------------------ documents

    def build(self) -> EmitResult:
        self._plan()
        for t in self.p.tasks:
            self._task(t)
        self.root_outputs = self._pipeline_outputs()
        groups = [g for g in self.sc.groups.values() if g.kind in ("loop", "sub")]
        for g in sorted(groups, key=lambda g: -g.depth):
            self._group_task(g)
        # Keep each DAG's tasks in node order, wherever they were added from.
        for g in self.sc.groups.values():
            tasks = self.dag_tasks[g.key]
            order = [k for n in g.nodes for k in self._node_keys(g.key, n)]
            self.dag_tasks[g.key] = {k: tasks[k] for k in order if k in tasks}
        self._depends()
        templates = [self._group_template(self.sc.groups[ROOT])]
        templates += [self._group_template(g) for g in groups]
        if "exit" in self.sc.groups:
            templates.append(self._group_template(self.sc.groups["exit"]))
        templates += self._step_templates()
        spec = self._spec(templates)
        files = self._documents(spec)
        self._check_options()
        if self.errors:
            raise BackendError([_msg(e) for e in self.errors])
        return EmitResult(files=tuple(files), warnings=tuple(_msg(w) for w in self.warnings))

    def _spec(self, templates: list[Obj]) -> Obj:
        args = []
        for prm in self.p.params:
            value = (
                self._literal(prm.default, prm.span, f"default of parameter {prm.name!r}")
                if prm.has_default
                else None
            )
            args.append(mf.parameter(name=self.pnames[prm.name], value=value))
        store = self.o.artifact_store
        repo_ref = None
        if store:
            if "://" in store:
                self.warnings.append(
                    (
                        codes.ARTIFACT_STORE,
                        f"artifact store {store!r} is a URI; Argo uses the cluster's default "
                        "artifact repository instead",
                        None,
                        "name an artifact repository ('key' or 'configmap/key') in the stack",
                    )
                )
            else:
                cm, _, key = store.rpartition("/")
                repo_ref = mf.artifact_repository_ref(config_map=cm or None, key=key)
        extra = self.o.extra
        node_selector = extra.get("node_selector")
        return mf.workflow_spec(
            entrypoint=self.tnames["group:"],
            arguments=mf.arguments(parameters=args) if args else None,
            on_exit=self.tnames["group:exit"] if "exit" in self.sc.groups else None,
            service_account_name=self.o.service_account,
            artifact_repository_ref=repo_ref,
            node_selector=dict(sorted(node_selector.items())) if node_selector else None,
            templates=templates,
        )

    def _metadata(self, name: str, *, generate: bool) -> Obj:
        labels = {"portaflow.dev/pipeline": names.dns_label(self.p.name)}
        labels.update(self.o.labels)
        annotations = {
            "portaflow.dev/source": containers.safe_annotation(
                f"{self.p.source}:{self.p.span.line}"
            ),
            # repr of the frozen IR is canonical and far cheaper than its JSON form.
            "portaflow.dev/ir-hash": hashlib.sha256(repr(self.p).encode()).hexdigest(),
        }
        annotations.update(self.o.annotations)
        return mf.object_meta(
            name=None if generate else name,
            generate_name=f"{name}-" if generate else None,
            namespace=self.o.namespace,
            labels=dict(sorted(labels.items())),
            annotations=dict(sorted(annotations.items())),
        )

    def _documents(self, spec: Obj) -> list[EmittedFile]:
        kind = self.o.kind or "workflow"
        name = names.dns_label(self.p.name)
        sched = self.p.schedule
        if kind not in ("workflow", "workflow-template"):
            self.errors.append(
                (
                    codes.UNKNOWN_KIND,
                    f"unknown Argo kind {kind!r}",
                    None,
                    "use 'workflow' or 'workflow-template'",
                )
            )
            return []
        docs: list[tuple[str, Obj]] = []
        if kind == "workflow-template":
            docs.append(
                (
                    f"{name}.yaml",
                    mf.document(
                        api_version=API_VERSION,
                        kind="WorkflowTemplate",
                        metadata=self._metadata(name, generate=False),
                        spec=spec,
                    ),
                )
            )
            if sched is not None:
                ref_spec = mf.workflow_spec(
                    workflow_template_ref=mf.workflow_template_ref(name=name),
                    arguments=spec.get("arguments"),
                )
                docs.append((f"{name}-cron.yaml", self._cron(name, ref_spec, sched)))
        elif sched is not None:
            docs.append((f"{name}.yaml", self._cron(name, spec, sched)))
        else:
            # generateName: submitting the same file twice creates two runs; a fixed
            # name (`generate_name = false` in the stack's extra) is the option.
            generate = bool(self.o.extra.get("generate_name", True))
            docs.append(
                (
                    f"{name}.yaml",
                    mf.document(
                        api_version=API_VERSION,
                        kind="Workflow",
                        metadata=self._metadata(name, generate=generate),
                        spec=spec,
                    ),
                )
            )
        return [EmittedFile(path=path, text=yamlout.dump(doc)) for path, doc in docs]

    def _cron(self, name: str, spec: Obj, sched: ir.ScheduleSpec) -> Obj:
        # Argo appends an 11-character timestamp to a CronWorkflow's runs: keep names <= 52.
        cname = names.dns_label(name, limit=52)
        cron = mf.cron_workflow_spec(
            schedules=[sched.cron],
            timezone=sched.timezone,
            concurrency_policy=sched.concurrency_policy,
            starting_deadline_seconds=sched.starting_deadline_seconds,
            workflow_spec=spec,
        )
        if not self.profile.cron_schedules:
            # v3.5 knows only `schedule` (one string) and rejects a spec without it.
            cron = {("schedule" if k == "schedules" else k): v for k, v in cron.items()}
            cron["schedule"] = sched.cron
        return mf.document(
            api_version=API_VERSION,
            kind="CronWorkflow",
            metadata=self._metadata(cname, generate=False),
            spec=cron,
        )

    def _check_options(self) -> None:
        for code, message, hint in self.store_problems:
            self.errors.append((code, message, None, hint))
        for k, v in {**self.o.labels}.items():
            if len(v) > 63 or not (v == "" or names.LABEL_VALUE.fullmatch(v)):
                self.errors.append(
                    (
                        codes.INVALID_NAME,
                        f"label {k}={v!r} is not a valid Kubernetes label value",
                        None,
                        "",
                    )
                )
        for k, v in {**self.o.labels, **self.o.annotations}.items():
            if values.has_tag(k) or values.has_tag(v):
                self.errors.append(
                    (codes.TEMPLATE_TAG, f"label or annotation {k!r} holds '{{{{'", None, "")
                )


def _depend_term(name: str, order_only: bool) -> str:
    """One upstream node in `depends`.

    A node that reads an upstream value runs only if it Succeeded: when the producer was
    skipped (its branch not taken) the reader is Omitted without its `when` ever being
    evaluated, so a condition never looks up an output that does not exist (the strict
    lookup of v3.7.11-3.7.15 and v4.0.2-4.0.6 requeues such a node forever). An `after=`
    dependency also proceeds past a skipped or omitted node, as `portaflow run` does.
    """
    if order_only:
        return f"({name}.Succeeded || {name}.Skipped || {name}.Omitted)"
    return f"{name}.Succeeded"


def _msg(e: Message) -> BackendMessage:
    return BackendMessage(code=e[0], message=e[1], span=e[2], hint=e[3])


def emit(pipeline: ir.Pipeline, *, options: EmitOptions) -> EmitResult:
    """Compile a pipeline to Argo manifests: one file per document."""
    return _Emitter(pipeline, options).build()
