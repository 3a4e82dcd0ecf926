"""IR -> a KFP v2 PipelineSpec YAML (and a kfp-kubernetes platform spec), built as plain dicts.

The output has the shape kfp's own compiler gives the equivalent `kfp.dsl` pipeline
(https://github.com/kubeflow/pipelines/blob/master/api/v2alpha1/pipeline_spec.proto):
one component and executor per task, one DAG component per loop, condition,
sub-pipeline call and exit-handler body (groups.py), `dependentTasks` from the IR's
edges. Keys are sorted as kfp sorts them. Problems are collected and raised once.
"""

from __future__ import annotations

import json

from portaflow.backends import (
    BackendError,
    BackendMessage,
    EmitOptions,
    EmitResult,
    EmittedFile,
    codeboot,
    yamlout,
)
from portaflow.backends.storeconf import store_settings
from portaflow.compiler import ir

from . import cel, codes, executors
from .groups import HANDLER, ROOT, Group, Groups, Obj
from .kfptypes import artifact_type, dns, file_stem, output_key, param_type

SCHEMA_VERSION = "2.1.0"
SDK_VERSION = "portaflow-0.1.0"
FLAVOURS = ("python", "container")

Message = tuple[str, str, "ir.Span | None", str]


class _Emitter:
    def __init__(self, p: ir.Pipeline, options: EmitOptions) -> None:
        self.p = p
        self.o = options
        self.flavour = str(options.extra.get("kfp_executor") or "python")
        self.errors: list[Message] = []
        self.warnings: list[Message] = []
        self.g = Groups(p)
        self.dag_tasks: dict[str, dict[str, Obj]] = {k: {} for k in self.g.groups}
        self.components: dict[str, Obj] = {}
        self.executors: dict[str, Obj] = {}
        self.platform: dict[str, Obj] = {}
        # A store URL in the stack: every task writes its record there (docs/stores.md).
        self.store, self.store_problems = store_settings(options.extra)
        self.store_secret: list[Obj] = []
        if self.store is not None and self.store.secret:
            self.store_secret, problem = executors.store_secret_env(
                self.store.uri, self.store.secret, options.extra.get("store_secret_keys")
            )
            if problem:
                self._error(
                    codes.STORE_SECRET,
                    problem,
                    None,
                    'name them in the stack: extra = { store_secret_keys = ["KEY", ...] }, '
                    "or give the pods a cloud identity (Workload Identity) and drop store_secret",
                )

    # ------------------------------------------------------------------ tasks

    def _task(self, t: ir.Task) -> None:
        gkey = self.g.task_group[t.id]
        name = self.g.names[t.id]
        step = self.p.step(t.step)
        if step.ref == ir.IMPORTER_STEP:
            self._importer(t, gkey, name)
            return
        if step.ref == ir.MODEL_VERSION_STEP and store_settings(self.o.extra)[0] is None:
            self._error(
                codes.IMPORT,
                f"task {t.id!r}: model_version(...) on KFP reads the model registry of the "
                "stack's store in the pod, and the stack has no `store` URL",
                t.span,
                'set `store = "s3://bucket/prefix"` in the stack, or pass the model as '
                "importer(uri, type=T) of its artifact",
            )
        status_inputs = [i.name for i in step.inputs if i.type.type == ir.RUN_STATUS]
        iface = executors.Interface(
            status=t.hook == "failure" or (t.hook is not None and bool(status_inputs)),
            skip=t.hook == "failure" or t.run == "failed",
            run_status=status_inputs[0] if status_inputs else None,
        )
        params: Obj = {}
        iface.loop = self.store is not None and t.loop is not None
        code = self.o.code
        if code is not None and code.mode == "package" and step.container is None:
            iface.code = code  # the pod fetches the code package first (codeboot.py)
        elif step.config.packages and step.container is None:
            self._warn(
                codes.PACKAGES_IGNORED,
                f"step {step.name!r}: packages={list(step.config.packages)} are installed only by "
                "the code package's bootstrap, and this stack ships no code package",
                step.span,
                'set store = "s3://..." in the stack (package mode), or put them in the image',
            )
        arts: Obj = {}
        types = {i.name: i.type.type for i in step.inputs}
        for b in t.inputs:
            bd = b.binding
            if t.hook is not None and not isinstance(bd, (ir.ParamRef, ir.Literal)):
                self._error(
                    codes.HOOK_INPUT,
                    f"hook {t.id!r} reads a task output; a KFP exit task runs outside the "
                    "exit handler's DAG",
                    b.span,
                    "give the hook only pipeline parameters and literals",
                )
                continue
            if isinstance(bd, ir.Literal):
                if b.kind == "artifact":
                    self._error(
                        codes.UNSUPPORTED,
                        f"task {t.id!r}: input {b.name!r} is an artifact bound to a literal",
                        b.span,
                        "artifacts come from step outputs",
                    )
                    continue
                params[b.name] = {"runtimeValue": {"constant": bd.value}}
                iface.inputs[b.name] = ("param", types.get(b.name, "any"))
                continue
            src = self.g.source(bd)
            assert src is not None
            spec = self.g.resolve(gkey, src, b.kind)
            if isinstance(bd, ir.LoopItem) and bd.path:
                spec["parameterExpressionSelector"] = _selector(bd.path)
            if b.kind == "parameter":
                params[b.name] = spec
                iface.inputs[b.name] = ("param", types.get(b.name, "any"))
                if isinstance(bd, ir.Gathered):
                    chain = [lp.id for lp in self.p.loop_chain(self.p.task(bd.task).loop)]
                    levels = len(chain) - chain.index(bd.loop) - 1
                    if levels:
                        iface.flatten[b.name] = levels
                continue
            arts[b.name] = spec
            if isinstance(bd, ir.TaskOutput) and self.p.task(bd.task).step == ir.IMPORTER_STEP:
                iface.imports[b.name] = self._imported_type(self.p.task(bd.task))
            listed = isinstance(bd, ir.Gathered)
            iface.inputs[b.name] = ("artifact-list" if listed else "artifact", types[b.name])
            if listed and self.flavour == "container":
                self._error(
                    codes.ARTIFACT_LIST,
                    f"task {t.id!r}: the container executor cannot pass a list of artifacts "
                    f"to {b.name!r}: no KFP placeholder expands to a list of paths",
                    b.span,
                    "use --kfp-executor python, or gather a parameter (e.g. a URI string)",
                )
        # The generated component calls locals() and __import__: inputs must not shadow them.
        clash = {i for i in iface.inputs} & {output_key(o.name) for o in step.outputs}
        reserved = {"locals", "__import__", executors.METRICS, codeboot.PREPARE}
        clash |= {i for i in iface.inputs} & reserved
        if clash:
            self._error(
                codes.NAME_CLASH,
                f"step {step.name!r}: {sorted(clash)[0]!r} is both an input and an output; "
                "a KFP component cannot have both",
                step.span,
                "rename the input or the output (Annotated[T, 'name'])",
            )
        if t.run == "failed" or (t.run == "done" and status_inputs):
            upstream = self._one_upstream(t)
            if upstream is not None:
                iface.status = True
                iface.status_task = upstream[1]
                params[executors.STATUS] = {"taskFinalStatus": {"producerTask": upstream[0]}}
        elif iface.status:
            params[executors.STATUS] = {"taskFinalStatus": {"producerTask": self._handler()}}
        comp, exe = f"comp-{name}", f"exec-{name}"
        self.components[comp] = executors.component(step, iface, exe)
        self.executors[exe] = {"container": self._container(t, step, iface)}
        self._platform(exe, step, t)
        task: Obj = {
            "cachingOptions": {"enableCache": True} if step.config.cache else {},
            "componentRef": {"name": comp},
        }
        inputs = _io(arts, params)
        if inputs:
            task["inputs"] = inputs
        retry = self._retry(step)
        if retry:
            task["retryPolicy"] = retry
        task["taskInfo"] = {"name": name}
        if t.hook is not None:
            task["dependentTasks"] = [self._handler()]
            task["triggerPolicy"] = {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
        elif t.run == "done":
            # kfp's `task.ignore_upstream_failure()`: runs once its upstreams finish.
            task["triggerPolicy"] = {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
        elif t.run == "failed":
            # As kfp compiles `ignore_upstream_failure()` with a PipelineTaskFinalStatus input:
            # the task starts once its one upstream finished and skips itself unless it failed.
            task["triggerPolicy"] = {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
        self.dag_tasks[gkey][t.id] = task

    def _importer(self, t: ir.Task, gkey: str, name: str) -> None:
        """`importer(uri, type=T)` as kfp compiles `dsl.importer`: an importer executor.

        `reimport: true` makes every run a new artifact, so a consumer is never a KFP cache
        hit on an earlier import of a changed file at the same URI.
        """
        values = {b.name: b for b in t.inputs}
        uri = values["uri"].binding
        meta = values["metadata"].binding if "metadata" in values else None
        importer: Obj = {}
        params: Obj = {}
        if isinstance(uri, ir.Literal):
            importer["artifactUri"] = {"constant": uri.value}
            params["uri"] = {"runtimeValue": {"constant": uri.value}}
        else:
            src = self.g.source(uri)
            assert src is not None
            importer["artifactUri"] = {"runtimeParameter": "uri"}
            params["uri"] = self.g.resolve(gkey, src, "parameter")
        if isinstance(meta, ir.Literal) and isinstance(meta.value, dict) and meta.value:
            importer["metadata"] = dict(sorted(meta.value.items()))
        # KFP resolves `{{$...}}` placeholders in an importer's metadata (and a URI is one
        # string away): user text there would stop being data.
        if "{{" in json.dumps([uri.value if isinstance(uri, ir.Literal) else None, importer]):
            self._error(
                codes.IMPORT_PLACEHOLDER,
                f"task {t.id!r}: importer(...) on KFP has a URI or metadata holding '{{{{', "
                "which KFP reads as a placeholder",
                t.span,
                "drop the braces from the metadata (or pass the URI as a `str` parameter), or "
                "compile for Argo or Airflow, where they stay data",
            )
        importer["reimport"] = True
        importer["typeSchema"] = artifact_type(self._imported_type(t))
        comp, exe = f"comp-{name}", f"exec-{name}"
        self.components[comp] = {
            "executorLabel": exe,
            "inputDefinitions": {"parameters": {"uri": {"parameterType": "STRING"}}},
            "outputDefinitions": {
                "artifacts": {"artifact": {"artifactType": artifact_type(self._imported_type(t))}}
            },
        }
        self.executors[exe] = {"importer": importer}
        self.dag_tasks[gkey][t.id] = {
            "cachingOptions": {},
            "componentRef": {"name": comp},
            "inputs": {"parameters": params},
            "taskInfo": {"name": name},
        }

    @staticmethod
    def _imported_type(t: ir.Task) -> str:
        """The `type=` of an importer task (its literal `type` input)."""
        for b in t.inputs:
            if b.name == "type" and isinstance(b.binding, ir.Literal):
                return str(b.binding.value)
        return "any"

    def _one_upstream(self, t: ir.Task) -> tuple[str, str] | None:
        """The one DAG node (KFP name, IR id) whose final status a `run="failed"` task, or a
        `run="done"` task taking a RunStatus, reads; PF625 when there are several."""
        nodes = set()
        for a in t.after:
            found = self.g.lca_nodes(a, t.id)
            if found is not None and found[0] == self.g.task_group[t.id]:
                nodes.add(found[1])
        if len(nodes) == 1:
            node = nodes.pop()
            return self.g.names[node], node.partition(":")[2] if ":" in node else node
        self._error(
            codes.RUN_FAILED,
            f'task {t.id!r}: run="{t.run}" waits for {len(nodes)} upstream tasks; KFP reads the '
            "final status (PipelineTaskFinalStatus) of exactly one",
            t.span,
            "wait for one: wrap the upstream steps in a sub-pipeline and pass after=[its result], "
            "or use the pipeline's on_failure= hook",
        )
        return None

    def _handler(self) -> str:
        return self.g.names[HANDLER]

    def _container(self, t: ir.Task, step: ir.StepDef, iface: executors.Interface) -> Obj:
        func = step.ref.rpartition(":")[2] or "step"
        if step.container is not None:
            c, problems = executors.command_container(step)
            for item in problems:
                self._error(
                    codes.CONTAINER_STEP,
                    f"container step {step.name!r}: command item {item!r} holds a literal brace next to another, "
                    "which KFP would read as a placeholder",
                    step.span,
                    "pass the text as an input instead, or compile for the local runner",
                )
            if step.config.resources is not None:
                c["resources"] = executors.resources(step.config.resources)
            return dict(sorted(c.items()))
        if self.flavour == "container":
            c = executors.plain_container(t, step, iface)
        else:
            c = executors.python_container(t, step, iface, func)
        cfg = step.config
        env = list(cfg.env)
        if self.store is not None:
            # The step's own env= wins over the store's variables, as on Argo.
            env += [(k, v) for k, v in self.store.env(self.p.name) if k not in dict(cfg.env)]
        if env:
            c["env"] = [{"name": k, "value": v} for k, v in env]
        c["image"] = cfg.image or self.p.image or self.o.image
        if cfg.resources is not None:
            res = executors.resources(cfg.resources)
            if res:
                c["resources"] = res
            if cfg.resources.disk:
                self._warn(
                    codes.DROPPED,
                    f"step {step.name!r}: KFP has no ephemeral-storage request; disk= is dropped",
                    step.span,
                    "",
                )
        return dict(sorted(c.items()))

    def _platform(self, exe: str, step: ir.StepDef, t: ir.Task) -> None:
        """kfp-kubernetes settings of one executor (KubernetesExecutorConfig)."""
        cfg = step.config
        out: Obj = {}
        if cfg.timeout_seconds:
            out["activeDeadlineSeconds"] = str(cfg.timeout_seconds)
        res = cfg.resources
        node_selector = dict(res.node_selector) if res is not None else {}
        extra_ns = self.o.extra.get("node_selector")
        if isinstance(extra_ns, dict):
            node_selector = {**{str(k): str(v) for k, v in extra_ns.items()}, **node_selector}
        if node_selector:
            out["nodeSelector"] = {"labels": dict(sorted(node_selector.items()))}
        pull = self.o.extra.get("image_pull_secrets")
        if isinstance(pull, list) and pull:
            out["imagePullSecret"] = [{"secretName": str(s)} for s in pull]
        if cfg.secrets:
            self._warn(
                codes.SECRET,
                f"step {step.name!r}: KFP maps only named secret keys to environment variables; "
                "each secret is mounted as files under /etc/portaflow/secrets/NAME instead",
                step.span,
                "read the secret's keys from those files, or name each key as a variable: "
                'secrets=[SecretEnv(secret="creds", key="token", env="API_TOKEN")]',
            )
            out["secretAsVolume"] = [
                {
                    "mountPath": f"/etc/portaflow/secrets/{s}",
                    "optional": False,
                    "secretName": s,
                    "secretNameParameter": {"runtimeValue": {"constant": s}},
                }
                for s in cfg.secrets
            ]
        if res is not None and res.tolerations:
            out["tolerations"] = [dict(sorted(tol)) for tol in res.tolerations]
        out.update(executors.pod_mounts(cfg))
        if self.store is not None and step.container is None:
            # The store's credentials (named keys: KFP has no envFrom), and the run id and
            # pod name from the pod's own metadata (executors.RUN_ID_ENV).
            if self.store_secret:
                out["secretAsEnv"] = [*out.get("secretAsEnv", []), *self.store_secret]
            fields = [executors.RUN_ID_ENV, *([executors.POD_ENV] if t.loop else [])]
            out["fieldPathAsEnv"] = [{"fieldPath": f, "name": n} for n, f in fields]
        if any(v.read_only for v in cfg.volumes):
            self._error(
                codes.POD_SETTING,
                f"step {step.name!r}: kfp-kubernetes' pvcMount has no read-only mount "
                "(Volume.pvc(read_only=True))",
                step.span,
                "drop read_only=True for KFP, or compile for Argo or Airflow, which mount it read-only",
            )
        if out:
            self.platform[exe] = dict(sorted(out.items()))

    def _retry(self, step: ir.StepDef) -> Obj | None:
        r = step.config.retry
        if r is None or r.max <= 0:
            return None
        if r.backoff == "linear":
            self._error(
                codes.RETRY,
                f"step {step.name!r}: KFP's retryPolicy has no linear backoff",
                step.span,
                "use backoff='fixed' or backoff='exponential'",
            )
        if r.on not in ("always", "on-failure"):
            self._warn(
                codes.RETRY_ON,
                f"step {step.name!r}: KFP retries every failure, not only {r.on!r}",
                step.span,
                "",
            )
        factor = 1.0 if r.backoff == "fixed" else float(r.factor)
        return {
            "backoffDuration": f"{r.delay_seconds}s",
            "backoffFactor": factor,
            "backoffMaxDuration": f"{r.max_delay_seconds or 3600}s",
            "maxRetryCount": r.max,
        }

    # ------------------------------------------------------------------ groups

    def _group_task(self, g: Group) -> None:
        assert g.parent is not None
        task: Obj = {"componentRef": {"name": f"comp-{g.name}"}}
        iterator: Obj | None = None
        extra_inputs: Obj = {}
        if g.kind == "loop":
            assert g.loop is not None
            iterator = self._iterator(g, g.loop, extra_inputs)
        trigger = None
        if g.kind == "cond":
            assert g.condition is not None
            trigger = self._cel(g, g.condition)
        params: Obj = {}
        arts: Obj = {}
        for (src, kind), name in sorted(g.imports.items(), key=lambda kv: kv[1]):
            spec = self.g.resolve(g.parent, src, kind)
            (params if kind == "parameter" else arts)[name] = spec
        params.update(extra_inputs)
        inputs = _io(dict(sorted(arts.items())), dict(sorted(params.items())))
        if inputs:
            task["inputs"] = inputs
        if iterator is not None:
            task["parameterIterator"] = iterator
            if g.loop is not None and g.loop.parallelism is not None:
                # `dsl.ParallelFor(..., parallelism=N)` as kfp compiles it.
                task["iteratorPolicy"] = {"parallelismLimit": g.loop.parallelism}
        task["taskInfo"] = {"name": g.name}
        if trigger is not None:
            task["triggerPolicy"] = {"condition": trigger}
        self.dag_tasks[g.parent][g.key] = task

    def _iterator(self, g: Group, lp: ir.Loop, inputs: Obj) -> Obj:
        item = self.g.channel(("item", lp.id))
        g.input_defs[item] = ("parameter", {"parameterType": self._item_type(lp)})
        items = lp.items
        if isinstance(items, ir.Literal):
            if not isinstance(items.value, list):
                self._error(
                    codes.UNSUPPORTED, f"loop {lp.id!r} iterates over a non-list", lp.span, ""
                )
                return {"itemInput": item, "items": {"raw": "[]"}}
            raw = json.dumps(items.value, ensure_ascii=False, sort_keys=True)
            return {"itemInput": item, "items": {"raw": raw}}
        src = self.g.source(items)
        assert src is not None and g.parent is not None
        name = self.g.channel(src)
        spec = self.g.resolve(g.parent, src, "parameter")
        if isinstance(items, ir.LoopItem) and items.path:
            name = f"{name}-subvar-{'-'.join(dns(k) for k in items.path)}"
            spec["parameterExpressionSelector"] = _selector(items.path)
        inputs[name] = spec
        g.input_defs[name] = ("parameter", {"parameterType": "LIST"})
        return {"itemInput": item, "items": {"inputParameter": name}}

    def _item_type(self, lp: ir.Loop) -> str:
        return param_type(self.g.source_type(("item", lp.id)))

    def _cel(self, g: Group, cond: ir.Condition) -> str:
        def operand(b: ir.Binding) -> tuple[str, str]:
            src = self.g.source(b)
            assert src is not None
            spec = self.g.resolve(g.key, src, "parameter")
            if "componentInputParameter" not in spec:
                # The producer runs inside this condition: CEL reads only the DAG's inputs.
                spec = self.g._import(g.key, src, "parameter")
            expr = f"inputs.parameter_values['{spec['componentInputParameter']}']"
            if isinstance(b, ir.LoopItem):
                expr += "".join(f"[{cel.literal(k)}]" for k in b.path)
            return expr, self.g.binding_type(b)

        try:
            return cel.to_cel(cond, operand)
        except cel.CelError as exc:
            self._error(
                codes.CONDITION,
                f"KFP cannot evaluate this condition: {exc}",
                self._cond_span(g),
                "compare the value explicitly, e.g. `if x == True:` or `if len_of_x > 0:`",
            )
            return "false"

    def _cond_span(self, g: Group) -> ir.Span | None:
        for n in g.nodes:  # the first task in the condition, however deep (a loop in the `if`)
            if n in self.g.task_group:
                return self.p.task(n).span
            found = self._cond_span(self.g.groups[n]) if n in self.g.groups else None
            if found is not None:
                return found
        return None

    def _depends(self) -> None:
        deps: dict[tuple[str, str], set[str]] = {}
        for e in self.p.edges:
            if e.source not in self.g.task_group or e.target not in self.g.task_group:
                continue
            found = self.g.lca_nodes(e.source, e.target)
            if found is None:
                continue
            gkey, na, nb = found
            if na != nb:
                deps.setdefault((gkey, nb), set()).add(self.g.names[na])
        for (gkey, node), srcs in deps.items():
            task = self.dag_tasks[gkey][node]
            task["dependentTasks"] = sorted(set(task.get("dependentTasks", [])) | srcs)

    # ------------------------------------------------------------------ documents

    def _dag(self, g: Group) -> Obj:
        tasks = {self.g.names[k]: dict(sorted(v.items())) for k, v in self.dag_tasks[g.key].items()}
        dag: Obj = {}
        outs: Obj = {}
        out_defs: Obj = {}
        for name, (kind, definition, spec) in sorted(g.output_defs.items()):
            outs.setdefault("artifacts" if kind == "artifact" else "parameters", {})[name] = spec
            out_defs.setdefault("artifacts" if kind == "artifact" else "parameters", {})[name] = (
                definition
            )
        if outs:
            dag["outputs"] = dict(sorted(outs.items()))
        dag["tasks"] = dict(sorted(tasks.items()))
        comp: Obj = {"dag": dag}
        in_defs: Obj = {}
        for name, (kind, definition) in sorted(g.input_defs.items()):
            in_defs.setdefault("artifacts" if kind == "artifact" else "parameters", {})[name] = (
                definition
            )
        if in_defs:
            comp["inputDefinitions"] = dict(sorted(in_defs.items()))
        if out_defs:
            comp["outputDefinitions"] = dict(sorted(out_defs.items()))
        return comp

    def _pipeline_outputs(self) -> None:
        """The pipeline's `return` as the root DAG's outputs (kfp's pipeline outputs)."""
        root = self.g.groups[ROOT]
        for out in self.p.outputs:
            src = self.g.source(out.binding)
            assert src is not None
            kind = out.type.kind
            spec = self.g.resolve(ROOT, src, kind)
            if "runtimeValue" in spec:  # a merged value KFP cannot express: PF620 says so
                continue
            if kind == "parameter":
                prod = spec["taskOutputParameter"]
                dag_out: Obj = {
                    "valueFromParameter": {
                        "outputParameterKey": prod["outputParameterKey"],
                        "producerSubtask": prod["producerTask"],
                    }
                }
            else:
                prod = spec["taskOutputArtifact"]
                dag_out = {
                    "artifactSelectors": [
                        {
                            "outputArtifactKey": prod["outputArtifactKey"],
                            "producerSubtask": prod["producerTask"],
                        }
                    ]
                }
            root.output_defs[out.name] = (kind, self.g.definition(src, kind), dag_out)

    def _root_inputs(self) -> Obj:
        params: Obj = {}
        for prm in self.p.params:
            d: Obj = {}
            if prm.has_default and prm.default is not None:
                d["defaultValue"] = prm.default
            if prm.has_default:
                d["isOptional"] = True
            d["parameterType"] = param_type(prm.type.type)
            params[prm.name] = d
        return {"parameters": dict(sorted(params.items()))} if params else {}

    def build(self) -> EmitResult:
        if self.flavour not in FLAVOURS:
            self._error(
                codes.UNKNOWN_EXECUTOR,
                f"unknown KFP executor {self.flavour!r}",
                None,
                "use --kfp-executor python (lightweight components, runs under kfp.local) "
                "or container (python -m portaflow.kfp_task, no kfp in the image)",
            )
            raise BackendError([_msg(e) for e in self.errors])
        for code, message, hint in self.store_problems:
            self._error(code, message, None, hint)
        for t in self.p.tasks:
            self._task(t)
        self._pipeline_outputs()
        groups = [g for g in self.g.groups.values() if g.kind != "root"]
        for g in sorted(groups, key=lambda g: -g.depth):
            self._group_task(g)
        self._depends()
        for g in groups:
            self.components[f"comp-{g.name}"] = self._dag(g)
        root = self._dag(self.g.groups[ROOT])
        root_inputs = self._root_inputs()
        if root_inputs:
            root["inputDefinitions"] = root_inputs
        info: Obj = {}
        if self.p.doc:
            info["description"] = self.p.doc
        info["name"] = dns(self.p.name)
        spec = {
            "components": dict(sorted(self.components.items())),
            "deploymentSpec": {"executors": dict(sorted(self.executors.items()))},
            "pipelineInfo": info,
            "root": root,
            "schemaVersion": SCHEMA_VERSION,
            "sdkVersion": SDK_VERSION,
        }
        text = yamlout.dump(spec)
        if self.platform:
            platform = {
                "platforms": {
                    "kubernetes": {
                        "deploymentSpec": {"executors": dict(sorted(self.platform.items()))}
                    }
                }
            }
            text += "---\n" + yamlout.dump(platform)
        self.errors += self.g.problems
        if self.errors:
            raise BackendError([_msg(e) for e in self.errors])
        files = (EmittedFile(path=f"{file_stem(self.p.name)}.yaml", text=text),)
        return EmitResult(files=files, warnings=tuple(_msg(w) for w in self.warnings))

    def _error(self, code: str, message: str, span: ir.Span | None, hint: str) -> None:
        self.errors.append((code, message, span, hint))

    def _warn(self, code: str, message: str, span: ir.Span | None, hint: str) -> None:
        self.warnings.append((code, message, span, hint))


def _selector(path: tuple[str, ...]) -> str:
    """kfp's selector for a field of a struct loop item: `parseJson(string_value)["k"]`."""
    return "parseJson(string_value)" + "".join(f"[{json.dumps(k)}]" for k in path)


def _io(arts: Obj, params: Obj) -> Obj:
    out: Obj = {}
    if arts:
        out["artifacts"] = dict(sorted(arts.items()))
    if params:
        out["parameters"] = dict(sorted(params.items()))
    return out


def _msg(e: Message) -> BackendMessage:
    return BackendMessage(code=e[0], message=e[1], span=e[2], hint=e[3])


def emit(pipeline: ir.Pipeline, *, options: EmitOptions) -> EmitResult:
    """Compile a pipeline to a KFP v2 PipelineSpec YAML file."""
    return _Emitter(pipeline, options).build()
