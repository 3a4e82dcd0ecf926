"""The local runner: executes a compiled pipeline with the embedded stores and no server.

`run_pipeline` drives a `Plan` (which executions exist and when they are
ready) with an `Executor` (a process per task: forks of a warm fork server, or
subprocesses of `python -m portaflow.task`), checks
the cache before starting anything, retries per the step's policy, records
every transition in the `Store`, and registers a model version when the run
succeeds. One thread owns all state; subprocess waiters only post outcomes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from portaflow.compiler import ir, irjson

from . import params as params_mod
from .bounds import LoopBounds
from .cache import cache_key, verified_hit, why_not_reusable
from .executor import ISOLATIONS, Executor, Job, Outcome, default_isolation, kill_tree
from .housekeeping import holding, is_our_step, sweep_interrupted, sweep_run
from .mlflowlog import mirror, tracking_uri
from .outputs import pipeline_outputs
from .plan import (
    CACHED,
    CANCELLED,
    FAILED,
    OK_STATES,
    PENDING,
    READY,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    UNKNOWN,
    UPSTREAM_FAILED,
    WOULD_RUN,
    ArtifactList,
    ArtifactRef,
    Node,
    Plan,
    Unknown,
    value_to_json,
)
from .podenv import EnvFileError, env_file_values, pod_env
from .progress import NullReporter, Reporter
from .result import ExecutionResult, RunError, RunResult
from .store import ArtifactInfo, Store, resolve_store
from .taskio import (
    MissingOutput,
    artifact_info,
    collect_outputs,
    exit_text,
    inputs_json,
    logged_metrics,
    read_json,
    safe_name,
    stored_values,
    task_argv,
    task_refusal,
)

#: State shown while an attempt failed and the next one waits for its backoff.
RETRYING = "retrying"


def run_pipeline(
    pipeline: ir.Pipeline | None,
    *,
    root: str | os.PathLike[str] = ".",
    store: str | os.PathLike[str] | None = None,
    params: Mapping[str, ir.JSONValue] | None = None,
    workers: int | None = None,
    cache: bool = True,
    resume: str | None = None,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    task_command: Sequence[str] | None = None,
    isolation: str | None = None,
    mlflow_tracking_uri: str | None = None,
    env_file: str | None = None,
) -> RunResult:
    """Run a compiled pipeline locally; see docs/local.md.

    `store` is a folder or a store URL (`s3://bucket/prefix`, docs/stores.md).
    `pipeline` may be None with `resume`: the run's stored IR is used. `params`
    are typed JSON values (see `params.parse_assignments` for `k=v` text).
    `task_command` replaces `python -m portaflow.task` (for tests). `isolation` is
    "fork" (each task a fork of a warm fork server; the default on POSIX) or
    "process" (each task a fresh `python -m portaflow.task`); default: env
    PORTAFLOW_ISOLATION, else "fork" where it is available. `mlflow_tracking_uri`
    (else env MLFLOW_TRACKING_URI) mirrors the finished run into MLflow (docs/mlflow.md).
    `env_file` (the stack's
    `env_file`, relative to `root`) holds `SecretEnv` variables not set in the
    environment (see podenv.py).
    """
    if isolation is None:
        try:
            isolation = default_isolation()
        except ValueError as exc:
            raise RunError(str(exc)) from None
    elif isolation not in ISOLATIONS:
        raise RunError(f"isolation must be one of {', '.join(ISOLATIONS)}, not {isolation!r}")
    root_path = Path(root).resolve()
    try:
        dotenv = env_file_values(root_path, env_file)
    except EnvFileError as exc:
        raise RunError(str(exc)) from None
    location, uri = resolve_store(root_path, store)  # a URL keeps its index under the root
    with Store(location, uri=uri) as st:
        runner = _Runner(
            st,
            root=root_path,
            workers=workers or os.cpu_count() or 1,
            use_cache=cache,
            dry_run=dry_run,
            reporter=reporter or NullReporter(),
            task_command=list(task_command or [sys.executable, "-m", "portaflow.task"]),
            isolation=isolation,
            dotenv=dotenv,
        )
        result = runner.run(pipeline, params or {}, resume)
        if not dry_run and tracking_uri(mlflow_tracking_uri) is not None:
            mirror(st, result, runner.pipeline, configured=mlflow_tracking_uri)
        return result


def new_run_id(pipeline: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    return f"{pipeline}-{stamp}-{secrets.token_hex(2)}"


class _Runner:
    def __init__(
        self,
        store: Store,
        *,
        root: Path,
        workers: int,
        use_cache: bool,
        dry_run: bool,
        reporter: Reporter,
        task_command: list[str],
        isolation: str = "process",
        dotenv: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.dotenv = dict(dotenv or {})
        self.root = root
        self.workers = workers
        self.use_cache = use_cache
        self.dry_run = dry_run
        self.reporter = reporter
        self.task_command = task_command
        self.isolation = isolation
        self.run_id = "dry-run"
        self.pipeline: ir.Pipeline
        self.plan: Plan
        self.bounds: LoopBounds
        #: Successful executions of the run being resumed, by key.
        self.previous: dict[str, dict[str, Any]] = {}
        #: Attempts already made per key (resumed runs continue the count).
        self.attempts: dict[str, int] = {}
        #: Attempts made before this resume: the retry budget starts again after them.
        self.attempt_base: dict[str, int] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.queue: list[Node] = []
        self.retry_at: dict[str, float] = {}
        self.seen: dict[str, str] = {}
        #: Why an execution runs although an earlier result existed (shown by `runs show`).
        self.notes: dict[str, str] = {}

    # ----------------------------------------------------------------- setup

    def run(
        self, pipeline: ir.Pipeline | None, given: Mapping[str, ir.JSONValue], resume: str | None
    ) -> RunResult:
        if resume is not None:
            row = self.store.get_run(resume)
            self.run_id = row["id"]
            if pipeline is None:
                pipeline = irjson.loads(row["ir"])
            elif pipeline.name != row["pipeline"]:
                raise RunError(
                    f"run {self.run_id} is of pipeline {row['pipeline']!r}, not {pipeline.name!r}"
                )
            if given:
                raise RunError("--resume continues a run with its own parameters; drop --param")
            try:
                values = dict(json.loads(row["params"]))
            except (TypeError, ValueError):
                raise RunError(
                    f"run {self.run_id}: its parameters in the store are damaged; start a new run"
                ) from None
            # A run started with --no-cache continues without the cache.
            self.use_cache = (
                self.use_cache and self.store.run_options(row).get("cache") is not False
            )
        else:
            if pipeline is None:
                raise RunError("nothing to run: give a pipeline or --resume RUN_ID")
            try:
                values = params_mod.resolve(pipeline, given)
            except params_mod.ParamError as exc:
                raise RunError(str(exc)) from None
        self.pipeline = pipeline
        self.plan = Plan(pipeline, values)
        self.bounds = LoopBounds(pipeline)
        if self.dry_run:
            return self._loop(values)
        if resume is None:
            self.run_id = new_run_id(pipeline.name)
        with self._lock(self.run_id):
            if resume is not None:
                self._prepare_resume()
            else:
                self.store.create_run(
                    run_id=self.run_id,
                    pipeline=pipeline.name,
                    source=pipeline.source,
                    root=str(self.root),
                    params=values,
                    ir_json=irjson.dumps(pipeline),
                    options={"cache": self.use_cache},
                )
            # What killed runs (this one, when resumed) left half-written is deleted.
            sweep_interrupted(self.store, besides=resume)
            try:
                return self._loop(values)
            finally:
                sweep_run(self.store, self.run_id)  # steps killed on timeout or Ctrl-C

    @contextlib.contextmanager
    def _lock(self, run_id: str) -> Iterator[None]:
        """Hold the run's lock file: the kernel drops it when this process dies, however it dies."""
        with holding(self.store, run_id) as held:
            if not held:
                raise RunError(f"run {run_id} is still being executed by another portaflow process")
            yield

    def _prepare_resume(self) -> None:
        for r in self.store.executions(self.run_id):
            self.attempts[r["key"]] = self.attempt_base[r["key"]] = int(r["attempt"] or 0)
            if r["state"] in OK_STATES and not r["damaged"]:
                self.previous[r["key"]] = r  # its artifacts are checked when it is reused
            elif r["state"] in OK_STATES:
                self.notes[r["key"]] = (
                    "finished before the resume, but its record in the store is damaged; ran again"
                )
            elif r["state"] == RUNNING and r["pid"]:
                # A step of a runner that was killed may still run: stop it before redoing its work.
                if is_our_step(int(r["pid"]), self.run_id):
                    kill_tree(int(r["pid"]))
        self.store.forget_unfinished(self.run_id)
        self.store.set_run_status(self.run_id, "running")

    # ----------------------------------------------------------------- main loop

    def _loop(self, values: dict[str, ir.JSONValue]) -> RunResult:
        executor = Executor(
            self.workers, isolation="process" if self.dry_run else self.isolation, tag=self.run_id
        )
        self.reporter.started(
            run_id=self.run_id, pipeline=self.pipeline.name, plan=self.plan, dry_run=self.dry_run
        )
        try:
            status = "running"
            try:
                while True:
                    self._advance()
                    self._sync()
                    self._start_queued(executor)
                    if self.plan.main_done and not self.plan.hooks_added:
                        self.plan.add_hooks()
                        continue
                    if self.plan.done:
                        break
                    if not executor.busy and not self.queue and not self.retry_at:
                        if self.dry_run:
                            break
                        self._deadlock()
                        continue
                    wait = 0.25
                    if self.retry_at:
                        wait = max(0.0, min(wait, min(self.retry_at.values()) - time.time()))
                    for outcome in executor.wait(wait):
                        self._finished(outcome)
                    self.reporter.tick()
                status = (
                    "dry-run" if self.dry_run else ("failed" if self.plan.failed else "succeeded")
                )
            except KeyboardInterrupt:
                for outcome in executor.stop_all():
                    self._finished(outcome, interrupted=True)
                status = "cancelled"
                self._sync()
        finally:
            executor.close()  # the fork server, when there is one
        model_version = None
        if not self.dry_run:
            self.store.set_run_status(self.run_id, status, self._summary(status))
            if status == "succeeded" and self.pipeline.model is not None:
                m = self.pipeline.model
                version = self.store.register_model_version(
                    model=m.name, description=m.description, tags=m.tags, run_id=self.run_id
                )
                model_version = (m.name, version)
        executions = tuple(self._result(n) for n in self._ordered_nodes())
        result = RunResult(
            run_id=self.run_id,
            pipeline=self.pipeline.name,
            status=status,
            store=self.store.location,
            params=values,
            executions=executions,
            model_version=model_version,
            outputs=pipeline_outputs(self.pipeline, {e.key: e.outputs for e in executions}),
        )
        self.reporter.finished(result)
        return result

    def _advance(self) -> None:
        """Hand every newly ready node to `_ready`; cache hits make more nodes ready at once."""
        while True:
            fresh = [n for n in self.plan.advance() if n not in self.queue]
            if not fresh:
                return
            for node in fresh:
                self._ready(node)

    def _deadlock(self) -> None:
        """Nothing runs and nothing can start: a bug, but the run must still end."""
        for node in self.plan.nodes.values():
            if not node.terminal:
                node.state, node.message = FAILED, "internal error: could not be scheduled"
        if not self.plan.hooks_added:
            self.plan.add_hooks()

    # ----------------------------------------------------------------- ready nodes

    def _ready(self, node: Node) -> None:
        step = self.pipeline.step(node.task.step)
        key = cache_key(step, step.config.image or self.pipeline.image, node.inputs)
        self.records[node.key] = {"cache_key": key}
        prev = self.previous.get(node.key)
        if prev is not None and prev["cache_key"] == key:
            rejected = why_not_reusable(step, prev["outputs"])
            if rejected is None:
                node.message = "finished before the resume"
                self.plan.finish(node.key, prev["state"], outputs=stored_values(prev["outputs"]))
                self.records[node.key].update(reused=True, row=prev)
                return
            self.notes[node.key] = f"finished before the resume, but {rejected}; ran again"
        hit = None
        if key is not None and self.use_cache and step.config.cache:
            hit, rejected = verified_hit(self.store, step, key)
            if rejected is not None:
                self.notes.setdefault(node.key, rejected)
        if hit is not None:
            self.notes.pop(node.key, None)
            self._cache_hit(node, hit)
        elif self.dry_run:
            why = "cache off" if not (self.use_cache and step.config.cache) else "no earlier result"
            if step.ref in (ir.IMPORTER_STEP, ir.MODEL_VERSION_STEP):
                why = "fetched again on every run"
            if key is None:
                why = "inputs known only at run time"
            why = self.notes.get(node.key, why)
            node.message = f"{node.message}; {why}" if node.message else why
            self.plan.finish(
                node.key,
                WOULD_RUN,
                outputs={o.name: Unknown(f"output of {node.key}") for o in step.outputs},
                message=node.message,
            )
        else:
            self.queue.append(node)

    def _cache_hit(self, node: Node, hit: dict[str, Any]) -> None:
        origin = hit["cached_from"] or f"{hit['run_id']}/{hit['key']}"
        outputs = stored_values(hit["outputs"])
        if self.dry_run:  # keep "condition unknown until run": the hit only counts if it holds
            note = f"{node.message}; reused {origin}" if node.message else f"reused {origin}"
            self.plan.finish(node.key, CACHED, outputs=outputs, message=note)
            return
        self.plan.finish(node.key, CACHED, outputs=outputs, message=f"reused {origin}")
        now = time.time()
        self.store.save_execution(
            self.run_id,
            node.key,
            task=node.task.id,
            step=node.task.step,
            state=CACHED,
            attempt=0,
            started=now,
            finished=now,
            cache_key=self.records[node.key]["cache_key"],
            cache_hit=1,
            cached_from=origin,
            log_path=hit["log_path"],
            message=f"reused {origin}",
            inputs=inputs_json(node),
            outputs=hit["outputs"],
            metadata=hit["metadata"],
        )
        metadata = hit["metadata"] if isinstance(hit["metadata"], dict) else {}
        self._record_lineage(node, hit["outputs"], metadata)
        self.seen[node.key] = CACHED
        self.reporter.changed(node, attempt=0)

    def _start_queued(self, executor: Executor) -> None:
        now = time.time()
        busy = self.bounds.busy(self.plan.nodes.values()) if self.queue else {}
        for node in list(self.queue):
            if executor.free <= 0:
                return
            if self.retry_at.get(node.key, 0.0) > now or not self.bounds.admit(node, busy):
                continue
            self.retry_at.pop(node.key, None)
            self.queue.remove(node)
            self._start(node, executor)

    def _start(self, node: Node, executor: Executor) -> None:
        step = self.pipeline.step(node.task.step)
        attempt = self.attempts.get(node.key, 0) + 1
        self.attempts[node.key] = attempt
        exec_dir = self.store.runs_dir / self.run_id / safe_name(node.key)
        argv, outputs, metadata = task_argv(
            self.task_command,
            step,
            node.inputs,
            root=self.root,
            exec_dir=exec_dir,
            art_dir=self.store.artifacts_dir / self.run_id / safe_name(node.key),
            key=node.key,
            run_id=self.run_id,
        )
        env = dict(os.environ)
        env.pop("PORTAFLOW_STORE_URI", None)  # the runner writes this task's record itself
        env.update(step.config.env)
        env.update(
            pod_env(
                step.config,
                environ=os.environ,
                env_file=self.dotenv,
                exec_dir=exec_dir,
                store_dir=self.store.location,
            )
        )
        if step.ref == ir.MODEL_VERSION_STEP:  # model_version(...) reads the store's registry
            env["PORTAFLOW_REGISTRY_URI"] = self.store.records.uri
        env.update(
            PORTAFLOW_ROOT=str(self.root),
            PORTAFLOW_RUN_ID=self.run_id,
            PORTAFLOW_ATTEMPT=str(attempt),
            PYTHONUNBUFFERED="1",
        )
        log_path = exec_dir / "step.log"
        job = Job(
            key=node.key,
            attempt=attempt,
            argv=argv,
            cwd=self.root,
            env=env,
            log_path=log_path,
            timeout=step.config.timeout_seconds,
        )
        node.state = RUNNING
        started = time.time()
        self.records[node.key].update(
            outputs=outputs, metadata=metadata, log_path=log_path, started=started
        )
        pid = executor.submit(job)
        self.store.save_execution(
            self.run_id,
            node.key,
            task=node.task.id,
            step=step.ref,
            state=RUNNING,
            attempt=attempt,
            started=started,
            finished=None,
            cache_key=self.records[node.key]["cache_key"],
            cache_hit=0,
            log_path=str(log_path),
            pid=pid,
            inputs=inputs_json(node),
            message=self.notes.get(node.key),
        )
        self.store.start_attempt(self.run_id, node.key, attempt, started)
        self.seen[node.key] = RUNNING
        self.reporter.changed(node, attempt=attempt, log_path=log_path)

    # ----------------------------------------------------------------- outcomes

    def _finished(self, outcome: Outcome, *, interrupted: bool = False) -> None:
        node = self.plan.nodes[outcome.job.key]
        rec = self.records[node.key]
        attempt = outcome.job.attempt
        message: str | None = outcome.error
        outputs: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        if outcome.ok:
            try:
                outputs = collect_outputs(
                    rec["outputs"],
                    {n: self.plan.output_kind(node.task.id, n) for n in rec["outputs"]},
                )
                metadata = read_json(rec["metadata"]) or {}
            except MissingOutput as exc:
                message = str(exc)
        elif message is None:
            message = exit_text(outcome.exit_code)
            refused = task_refusal(rec["metadata"], outcome.exit_code)
            if refused:
                message = f"{message}: {refused}"
        ok = outcome.ok and message is None
        rec["finished"] = outcome.finished
        self.store.finish_attempt(
            self.run_id, node.key, attempt, outcome.finished, outcome.exit_code, message
        )
        if ok:
            self.store.save_execution(
                self.run_id,
                node.key,
                state=SUCCEEDED,
                finished=outcome.finished,
                exit_code=outcome.exit_code,
                outputs=outputs,
                metadata=metadata,
                message=self.notes.get(node.key),
            )
            self._record_lineage(node, outputs, metadata)
            self.plan.finish(
                node.key,
                SUCCEEDED,
                outputs=stored_values(outputs),
                message=self.notes.get(node.key, ""),
            )
            self.seen[node.key] = SUCCEEDED
            self.reporter.changed(node, attempt=attempt, log_path=rec["log_path"])
            return
        assert message is not None
        delay = None if interrupted else self._retry_delay(node, outcome)
        if delay is not None:
            self.retry_at[node.key] = time.time() + delay
            self.queue.append(node)
            node.state, node.message = (
                READY,
                f"attempt {attempt} failed ({message}); retry in {delay:g}s",
            )
            self.store.save_execution(
                self.run_id,
                node.key,
                state=RETRYING,
                message=node.message,
                exit_code=outcome.exit_code,
            )
            self.reporter.changed(node, attempt=attempt, log_path=rec["log_path"], state=RETRYING)
            return
        final = CANCELLED if interrupted else FAILED
        self.store.save_execution(
            self.run_id,
            node.key,
            state=final,
            finished=outcome.finished,
            exit_code=outcome.exit_code,
            message=message,
        )
        self.plan.finish(node.key, final, message=message)
        self.seen[node.key] = final
        self.reporter.changed(node, attempt=attempt, log_path=rec["log_path"])

    def _retry_delay(self, node: Node, outcome: Outcome) -> float | None:
        policy = self.pipeline.step(node.task.step).config.retry
        n = self._attempts_this_run(node.key)
        if policy is None or n > policy.max:
            return None
        is_error = outcome.exit_code is None or (outcome.exit_code < 0 and not outcome.timed_out)
        if policy.on in ("on-error", "on-transient-error") and not is_error:
            return None
        if policy.on == "on-failure" and is_error:
            return None
        match policy.backoff:
            case "fixed":
                delay = float(policy.delay_seconds)
            case "linear":
                delay = float(policy.delay_seconds * n)
            case "exponential":
                delay = policy.delay_seconds * policy.factor ** (n - 1)
        if policy.max_delay_seconds is not None:
            delay = min(delay, float(policy.max_delay_seconds))
        return delay

    def _attempts_this_run(self, key: str) -> int:
        return self.attempts.get(key, 0) - self.attempt_base.get(key, 0)

    def _record_lineage(
        self, node: Node, outputs: Mapping[str, Any], metadata: Mapping[str, Any]
    ) -> None:
        ins: list[tuple[str, ArtifactInfo]] = []
        for name, value in node.inputs.items():
            refs = value.items if isinstance(value, ArtifactList) else (value,)
            for ref in refs:
                if isinstance(ref, ArtifactRef):
                    ins.append((name, artifact_info(ref.uri, ref.sha256)))
        outs = [
            (
                name,
                ArtifactInfo(
                    uri=o["uri"],
                    type=o.get("type"),
                    materializer=o.get("materializer"),
                    sha256=o.get("sha256"),
                    size=o.get("size"),
                ),
            )
            for name, o in outputs.items()
            if o.get("kind") == "artifact"
        ]
        self.store.record_results(
            self.run_id, node.key, inputs=ins, outputs=outs, metrics=logged_metrics(metadata)
        )

    # ----------------------------------------------------------------- bookkeeping

    def _sync(self) -> None:
        """Persist and report the states the plan decided by itself (skips, upstream failures)."""
        for node in self.plan.nodes.values():
            if node.state in (PENDING, READY, RUNNING) or self.seen.get(node.key) == node.state:
                continue
            self.seen[node.key] = node.state
            if node.state in (SKIPPED, UPSTREAM_FAILED, FAILED, UNKNOWN) and not self.dry_run:
                self.store.save_execution(
                    self.run_id,
                    node.key,
                    task=node.task.id,
                    step=node.task.step,
                    state=node.state,
                    message=node.message,
                    finished=time.time(),
                )
            self.reporter.changed(node, attempt=self.attempts.get(node.key, 0))

    def _ordered_nodes(self) -> list[Node]:
        """Nodes in the pipeline's task order, iterations by index (placeholders after them)."""
        position = {t.id: i for i, t in enumerate(self.pipeline.tasks)}
        return sorted(
            self.plan.nodes.values(), key=lambda n: (position[n.task.id], n.placeholder, n.index)
        )

    def _result(self, node: Node) -> ExecutionResult:
        rec = self.records.get(node.key, {})
        row = rec.get("row") or {}
        return ExecutionResult(
            key=node.key,
            task=node.task.id,
            state=node.state,
            attempt=self.attempts.get(node.key, 0),
            cache_hit=node.state == CACHED,
            reused=bool(rec.get("reused")),
            started=rec.get("started", row.get("started")),
            finished=rec.get("finished", row.get("finished")),
            log_path=str(rec["log_path"]) if "log_path" in rec else row.get("log_path"),
            message=node.message,
            inputs=inputs_json(node),
            outputs={k: value_to_json(v) for k, v in node.outputs.items()},
        )

    def _summary(self, status: str) -> str:
        counts: dict[str, int] = {}
        for n in self.plan.nodes.values():
            counts[n.state] = counts.get(n.state, 0) + 1
        text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        failed = [n.key for n in self.plan.nodes.values() if n.state == FAILED]
        if failed:
            text += f"; failed: {', '.join(failed)}"
        return f"{status}: {text}"
