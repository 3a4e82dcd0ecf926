"""Expanding the IR into concrete executions: loop iterations, skipped branches, failed upstreams.

A `Plan` is pure bookkeeping over one run: it creates a `Node` per task and
loop iteration as soon as the list iterated is known (literal lists and list
parameters at once, a task's list output when that task finishes), decides
which nodes are skipped (condition false, or a branch whose data was skipped)
or upstream-failed, and hands out the nodes that are ready, with their inputs
resolved. It never runs anything; the runner tells it what finished.

Node keys are the task id plus the loop indices, outermost first: `train`,
`score[1]`, `process[0,2]`. A loop whose list is not known yet is stood for by
a placeholder node (`process[*]`) until it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from portaflow.compiler import ir
from portaflow.protocol import iteration_key

# Node states.
PENDING = "pending"
READY = "ready"
RUNNING = "running"
SUCCEEDED = "succeeded"
CACHED = "cached"
FAILED = "failed"
UPSTREAM_FAILED = "upstream_failed"
SKIPPED = "skipped"
#: The run was interrupted while the node ran.
CANCELLED = "cancelled"
#: Dry runs: the node would execute; its outputs are unknown.
WOULD_RUN = "would_run"
#: Dry runs: a fan-out whose list is not known before the run.
UNKNOWN = "unknown"

OK_STATES = frozenset({SUCCEEDED, CACHED})
FAILED_STATES = frozenset({FAILED, UPSTREAM_FAILED})
TERMINAL_STATES = frozenset(
    {SUCCEEDED, CACHED, FAILED, UPSTREAM_FAILED, SKIPPED, CANCELLED, WOULD_RUN, UNKNOWN}
)


@dataclass(frozen=True, slots=True)
class ParamValue:
    """A JSON value passed with `--param`."""

    value: ir.JSONValue


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """An artifact directory passed with `--input`."""

    uri: str
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class ArtifactList:
    """A fan-in of artifact directories passed with `--input-list`."""

    items: tuple[ArtifactRef, ...]


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value known only once the run executes (dry runs)."""

    why: str


Value: TypeAlias = ParamValue | ArtifactRef | ArtifactList | Unknown


@dataclass(frozen=True, slots=True)
class _Wait:
    """The value depends on something not finished yet."""


@dataclass(frozen=True, slots=True)
class _Blocked:
    """The value will never exist: `state` is what the consumer becomes."""

    state: str
    why: str


_WAIT = _Wait()
_Resolved: TypeAlias = Value | _Wait | _Blocked


@dataclass(slots=True, eq=False)
class Node:
    """One concrete execution of a task (one loop iteration), or a placeholder for unknown ones."""

    #: "task", "task[1]", "task[0,2]"; placeholders end in "*".
    key: str
    #: The IR task.
    task: ir.Task
    #: Loop indices, outermost first (the known ones, for a placeholder).
    index: tuple[int, ...]
    #: Whether this stands for iterations not expanded yet.
    placeholder: bool = False
    state: str = PENDING
    #: Why the node is in its state (skip reason, error, "condition unknown"...).
    message: str = ""
    #: Resolved inputs, set when the node becomes ready.
    inputs: dict[str, Value] = field(default_factory=dict)
    #: Outputs once succeeded (or Unknown ones for dry runs).
    outputs: dict[str, Value] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


def node_key(task_id: str, index: Iterable[int | str]) -> str:
    return iteration_key(task_id, list(index))


def value_to_json(value: Value) -> dict[str, Any]:
    """A resolved value as stored in the run database."""
    match value:
        case ParamValue(value=v):
            return {"param": v}
        case ArtifactRef(uri=u, sha256=h):
            return {"artifact": u, "sha256": h}
        case ArtifactList(items=items):
            return {"artifacts": [{"artifact": a.uri, "sha256": a.sha256} for a in items]}
        case Unknown(why=why):
            return {"unknown": why}
    raise AssertionError(value)  # pragma: no cover


class Plan:
    """The concrete executions of one run, discovered as the run proceeds."""

    def __init__(self, pipeline: ir.Pipeline, params: Mapping[str, ir.JSONValue]) -> None:
        self.pipeline = pipeline
        self.params = dict(params)
        #: Every node, in creation order (topological for each wave).
        self.nodes: dict[str, Node] = {}
        self._tasks: list[ir.Task] = list(pipeline.main_tasks)
        self._chain = {
            t.id: tuple(lp.id for lp in pipeline.loop_chain(t.loop)) for t in pipeline.tasks
        }
        self._upstream: dict[str, set[str]] = {t.id: set() for t in pipeline.tasks}
        for e in pipeline.edges:
            self._upstream[e.target].add(e.source)
        self._by_task: dict[str, list[Node]] = {t.id: [] for t in pipeline.tasks}
        self._items: dict[tuple[str, tuple[int, ...]], list[ir.JSONValue]] = {}
        self._hooks_added = False

    # ----------------------------------------------------------------- queries

    @property
    def main_done(self) -> bool:
        return all(n.terminal for n in self.nodes.values() if n.task.hook is None)

    @property
    def done(self) -> bool:
        return self._hooks_added and all(n.terminal for n in self.nodes.values())

    @property
    def hooks_added(self) -> bool:
        return self._hooks_added

    @property
    def failed(self) -> bool:
        return any(n.state in FAILED_STATES for n in self.nodes.values())

    def output_kind(self, task_id: str, output: str) -> ir.OutputKind:
        step = self.pipeline.step(self.pipeline.task(task_id).step)
        for o in step.outputs:
            if o.name == output:
                return o.type.kind
        raise KeyError(f"step {step.ref} has no output {output!r}")

    # ----------------------------------------------------------------- transitions

    def advance(self) -> list[Node]:
        """Expand loops and settle nodes until nothing changes; the nodes now READY."""
        changed = True
        while changed:
            changed = self._expand()
            for node in list(self.nodes.values()):
                if node.state == PENDING and not node.placeholder:
                    changed |= self._settle(node)
        return [n for n in self.nodes.values() if n.state == READY]

    def finish(
        self, key: str, state: str, *, outputs: Mapping[str, Value] | None = None, message: str = ""
    ) -> None:
        """Record what became of a node the runner took."""
        node = self.nodes[key]
        node.state = state
        node.message = message
        if outputs is not None:
            node.outputs = dict(outputs)

    def add_hooks(self) -> None:
        """Create the exit and failure hook nodes, once the main DAG is done."""
        failed = self.failed
        self._hooks_added = True
        for task in self.pipeline.hooks:
            node = self._add(task, ())
            if task.hook == "failure" and not failed:
                node.state, node.message = SKIPPED, "the run did not fail"

    # ----------------------------------------------------------------- expansion

    def _add(self, task: ir.Task, index: tuple[int, ...], *, placeholder: bool = False) -> Node:
        key = node_key(task.id, (*index, "*") if placeholder else index)
        node = Node(key=key, task=task, index=index, placeholder=placeholder)
        self.nodes[key] = node
        self._by_task[task.id].append(node)
        return node

    def _remove(self, node: Node) -> None:
        del self.nodes[node.key]
        self._by_task[node.task.id].remove(node)

    def _expand(self) -> bool:
        changed = False
        tasks = self._tasks + (list(self.pipeline.hooks) if self._hooks_added else [])
        for task in tasks:
            if task.hook is not None:
                continue  # hooks are created by add_hooks and have no loops
            changed |= self._expand_level(task, self._chain[task.id], ())
        return changed

    def _expand_level(self, task: ir.Task, chain: tuple[str, ...], index: tuple[int, ...]) -> bool:
        level = len(index)
        if level == len(chain):
            if node_key(task.id, index) in self.nodes:
                return False
            self._add(task, index)
            return True
        items = self._loop_items(chain[level], chain[:level], index)
        ph_key = node_key(task.id, (*index, "*"))
        placeholder = self.nodes.get(ph_key)
        if isinstance(items, list):
            changed = False
            if placeholder is not None:
                self._remove(placeholder)
                changed = True
            for i in range(len(items)):
                changed |= self._expand_level(task, chain, (*index, i))
            return changed
        if placeholder is None:
            placeholder = self._add(task, index, placeholder=True)
            placeholder.message = _loop_text(self.pipeline.loop(chain[level]))
            changed = True
        else:
            changed = False
        if isinstance(items, _Blocked) and placeholder.state != items.state:
            placeholder.state, placeholder.message = items.state, items.why
            changed = True
        elif isinstance(items, Unknown) and placeholder.state != UNKNOWN:
            placeholder.state = UNKNOWN
            placeholder.message = (
                f"{_loop_text(self.pipeline.loop(chain[level]))}: list known only at run time"
            )
            changed = True
        return changed

    def _loop_items(
        self, loop_id: str, outer: tuple[str, ...], index: tuple[int, ...]
    ) -> list[ir.JSONValue] | _Wait | _Blocked | Unknown:
        cached = self._items.get((loop_id, index))
        if cached is not None:
            return cached
        loop = self.pipeline.loop(loop_id)
        got = self._resolve(loop.items, outer, index)
        match got:
            case ParamValue(value=list() as items):
                self._items[(loop_id, index)] = items
                return items
            case ParamValue(value=other):
                return _Blocked(FAILED, f"{_loop_text(loop)}: expected a list, got {other!r}")
            case ArtifactRef() | ArtifactList():
                return _Blocked(FAILED, f"{_loop_text(loop)}: cannot fan out over an artifact")
            case _Wait() | _Blocked() | Unknown():
                return got
        raise AssertionError(got)  # pragma: no cover

    # ----------------------------------------------------------------- settling

    def _matching(self, task_id: str, prefix: tuple[int, ...]) -> list[Node]:
        """Nodes of `task_id` whose index starts with `prefix` (placeholders when compatible)."""
        out = []
        for n in self._by_task[task_id]:
            n_len = min(len(n.index), len(prefix))
            if n.placeholder:
                hit = n.index[:n_len] == prefix[:n_len]
            else:
                hit = n.index[: len(prefix)] == prefix
            if hit:
                out.append(n)
        return out

    def _common_depth(self, a: str, b: str) -> int:
        depth = 0
        for x, y in zip(self._chain[a], self._chain[b], strict=False):
            if x != y:
                break
            depth += 1
        return depth

    def _settle(self, node: Node) -> bool:
        """Decide a pending node's fate if its upstreams allow; True when its state changed."""
        task = node.task
        failed_ups: list[str] = []
        for up in sorted(self._upstream[task.id]):
            deps = self._matching(up, node.index[: self._common_depth(up, task.id)])
            if any(not d.terminal for d in deps):
                return False
            failed = next((d for d in deps if d.state in FAILED_STATES), None)
            if failed is not None:
                if task.run != "succeeded":  # run="done" / "failed": a failure lets it run
                    failed_ups.append(up)
                    continue
                node.state, node.message = UPSTREAM_FAILED, f"upstream {failed.key} {failed.state}"
                return True
        if task.run == "failed" and not failed_ups:
            node.state, node.message = SKIPPED, "no upstream failed"
            return True
        chain = self._chain[task.id]
        if task.condition is not None:
            verdict = self._evaluate(task.condition, chain, node.index)
            if isinstance(verdict, _Wait):
                return False
            if isinstance(verdict, _Blocked):
                node.state, node.message = verdict.state, verdict.why
                return True
            if verdict is False:
                node.state, node.message = SKIPPED, "condition is false"
                return True
            if isinstance(verdict, Unknown):
                node.message = f"condition unknown until run ({verdict.why})"
        inputs: dict[str, Value] = {}
        for b in task.inputs:
            got = self._resolve(b.binding, chain, node.index)
            if isinstance(got, _Wait):
                return False
            if isinstance(got, _Blocked):
                node.state, node.message = got.state, f"input {b.name}: {got.why}"
                return True
            inputs[b.name] = got
        for inp in self.pipeline.step(task.step).inputs:
            if inp.type.type == ir.RUN_STATUS:
                inputs[inp.name] = ParamValue(self._run_status(task, failed_ups))
        node.inputs = inputs
        node.state = READY
        return True

    def _run_status(self, task: ir.Task, failed_ups: list[str]) -> ir.JSONValue:
        """What a RunStatus input receives: the run's status for a hook, else the upstreams'."""
        if task.hook is not None:
            failed_ups = sorted(
                {
                    n.task.id
                    for n in self.nodes.values()
                    if n.task.hook is None and n.state in FAILED_STATES
                }
            )
            status = "failed" if self.failed else "succeeded"
        else:
            status = "failed" if failed_ups else "succeeded"
        return {"status": status, "failed_tasks": list(failed_ups)}

    def _resolve(
        self, binding: ir.Binding, chain: tuple[str, ...], index: tuple[int, ...]
    ) -> _Resolved:
        match binding:
            case ir.ParamRef(param=name):
                return ParamValue(self.params[name])
            case ir.Literal(value=v):
                return ParamValue(v)
            case ir.LoopItem(loop=loop_id, path=path):
                level = chain.index(loop_id)
                item = self._items[(loop_id, index[:level])][index[level]]
                for part in path:
                    if not isinstance(item, dict) or part not in item:
                        return _Blocked(FAILED, f"loop item {item!r} has no key {part!r}")
                    item = item[part]
                return ParamValue(item)
            case ir.TaskOutput(task=up, output=out):
                deps = self._matching(up, index[: len(self._chain[up])])
                if not deps or any(not d.terminal for d in deps):
                    return _WAIT
                return self._output_of(deps[0], out)
            case ir.Gathered(task=up, output=out, loop=loop_id):
                depth = len(self.pipeline.loop_chain(loop_id)) - 1
                deps = self._matching(up, index[:depth])
                if any(not d.terminal for d in deps):
                    return _WAIT
                return self._gather(up, deps, out)
            case ir.OneOf(options=opts):
                # The arm that ran: every arm decided, exactly one not skipped.
                results = [self._resolve(o, chain, index) for o in opts]
                waiting = [r for r in results if isinstance(r, _Wait)]
                if waiting:
                    return waiting[0]
                ran = [r for r in results if not (isinstance(r, _Blocked) and r.state == SKIPPED)]
                return ran[0] if ran else results[0]
        raise AssertionError(binding)  # pragma: no cover

    def _output_of(self, node: Node, output: str) -> _Resolved:
        if node.state in FAILED_STATES:
            return _Blocked(UPSTREAM_FAILED, f"upstream {node.key} {node.state}")
        if node.state == SKIPPED:
            return _Blocked(SKIPPED, f"upstream {node.key} was skipped")
        if node.state in (WOULD_RUN, UNKNOWN) or node.placeholder:
            return Unknown(f"output of {node.key}")
        return node.outputs[output]

    def _gather(self, task_id: str, deps: list[Node], output: str) -> _Resolved:
        """One flat list in item order, as Python's `[f(x, y) for x in xs for y in ys]` gives."""
        values: list[Value] = []
        for d in sorted(deps, key=lambda n: n.index):
            if d.state == SKIPPED:
                continue  # a skipped iteration contributes nothing, as in Argo's fan-in
            got = self._output_of(d, output)
            if isinstance(got, (_Wait, _Blocked, Unknown)):
                return got
            values.append(got)
        if self.output_kind(task_id, output) == "artifact":
            return ArtifactList(tuple(v for v in values if isinstance(v, ArtifactRef)))
        return ParamValue([v.value for v in values if isinstance(v, ParamValue)])

    def _evaluate(
        self, cond: ir.Condition, chain: tuple[str, ...], index: tuple[int, ...]
    ) -> bool | Unknown | _Wait | _Blocked:
        match cond:
            case ir.Truthy(value=b):
                v = self._operand(b, chain, index)
                return bool(v.value) if isinstance(v, ParamValue) else v
            case ir.Compare(left=a, op=op, right=b):
                x = self._operand(a, chain, index)
                if not isinstance(x, ParamValue):
                    return x
                y = self._operand(b, chain, index)
                if not isinstance(y, ParamValue):
                    return y
                try:
                    return _compare(x.value, op, y.value)
                except TypeError as exc:
                    return _Blocked(FAILED, f"cannot evaluate condition: {exc}")
            case ir.Not(operand=c):
                r = self._evaluate(c, chain, index)
                return (not r) if isinstance(r, bool) else r
            case ir.All(operands=cs) | ir.Any(operands=cs):
                want = isinstance(cond, ir.Any)  # the value that decides: True for Any
                results = [self._evaluate(c, chain, index) for c in cs]
                if want in results:
                    return want
                undecided = [r for r in results if not isinstance(r, bool)]
                return undecided[0] if undecided else not want
        raise AssertionError(cond)  # pragma: no cover

    def _operand(
        self, binding: ir.Binding, chain: tuple[str, ...], index: tuple[int, ...]
    ) -> ParamValue | Unknown | _Wait | _Blocked:
        got = self._resolve(binding, chain, index)
        if isinstance(got, (ArtifactRef, ArtifactList)):
            return _Blocked(FAILED, "a condition cannot test an artifact")
        return got


def _compare(x: ir.JSONValue, op: ir.CompareOp, y: ir.JSONValue) -> bool:
    match op:
        case "==":
            return x == y
        case "!=":
            return x != y
        case "<":
            return x < y  # type: ignore[operator]
        case "<=":
            return x <= y  # type: ignore[operator]
        case ">":
            return x > y  # type: ignore[operator]
        case ">=":
            return x >= y  # type: ignore[operator]
        case "in":
            return x in y  # type: ignore[operator]
        case "not in":
            return x not in y  # type: ignore[operator]
    raise AssertionError(op)  # pragma: no cover


def _loop_text(loop: ir.Loop) -> str:
    match loop.items:
        case ir.TaskOutput(task=t, output=o):
            src = f"{t}.{o}"
        case ir.ParamRef(param=p):
            src = f"param {p}"
        case ir.LoopItem(loop=lp):
            src = f"item of {lp}"
        case ir.Literal():
            src = "a literal list"
        case ir.Gathered(task=t, output=o):
            src = f"gathered {t}.{o}"
        case ir.OneOf(options=opts):
            src = " or ".join(f"{o.task}.{o.output}" for o in opts)
        case _:
            raise AssertionError(loop.items)  # pragma: no cover
    return f"fan-out over {src}"
