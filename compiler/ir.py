"""The intermediate representation: one immutable pipeline DAG every backend consumes.

The IR is the contract between the compiler and the backends (compiler -> IR <-
backends). It is plain frozen dataclasses, JSON-serialisable by
`portaflow.compiler.irjson`, with no I/O. A networkx view for topology is
derived on demand by `portaflow.compiler.graph`; it is never the contract.

Bindings and conditions are tagged unions: backends dispatch on them with
`match` + `assert_never`, so a new node kind breaks every backend at
type-check time instead of at a user's run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as L
from typing import TypeAlias

#: Version of the IR's JSON form; bump on any incompatible change.
IR_VERSION = "1"
#: Field metadata key: irjson leaves the field out while it is empty (fields added to IR
#: version 1 later; a reader fills in the default).
OMIT_EMPTY = "omit_empty"

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
OutputKind: TypeAlias = L["parameter", "artifact"]
#: `run=` of a step call: which upstream outcomes let the task run.
RunMode: TypeAlias = L["succeeded", "done", "failed"]
RUN_MODES: tuple[RunMode, ...] = ("succeeded", "done", "failed")
#: Type of a step input annotated `portaflow.RunStatus`: never bound in `Task.inputs`; the
#: backend passes the final status (of the run for a hook, of the `after=` upstreams for a
#: `run="done"`/`"failed"` task) as a JSON parameter `{"status": ..., "failed_tasks": [...]}`.
RUN_STATUS = "portaflow.RunStatus"


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """Where a node came from in the source."""

    #: Path relative to the project root, with forward slashes.
    path: str
    #: 1-based first line.
    line: int
    #: 1-based first column.
    col: int
    #: 1-based last line.
    end_line: int
    #: 1-based column just past the end.
    end_col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


# --------------------------------------------------------------------------- bindings


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamRef:
    """The value of a pipeline parameter."""

    #: Parameter name in `Pipeline.params`.
    param: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal:
    """A constant written in the pipeline body."""

    #: The JSON value (lists and dicts of JSON values allowed).
    value: JSONValue


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskOutput:
    """One named output of another task (in the same loop iteration when both are in a loop)."""

    #: Producing task id.
    task: str
    #: Output name on the producing step.
    output: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopItem:
    """The current item of an enclosing fan-out loop."""

    #: Loop id in `Pipeline.loops`.
    loop: str
    #: Key path into the item when the item is a dict (`row["lr"]`); empty for the item itself.
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Gathered:
    """Fan-in: the list of one output of a fanned-out task, one entry per iteration, in order.

    Over nested loops (`[f(a, b) for a in A for b in B]`) the list is flat, in
    iteration order across every loop from `loop` inward, as Python builds it.
    """

    #: Producing task id (it runs inside `loop`).
    task: str
    #: Output name on the producing step.
    output: str
    #: The loop whose iterations are gathered (the outermost loop closed by this fan-in).
    loop: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OneOf:
    """A name assigned in every arm of a complete `if/elif/else`: the value of the arm that ran.

    Each option is the output of a task whose condition holds in exactly one arm, so
    exactly one option task runs (when the `if` itself is reached).
    """

    #: One task output per arm (nested merges flattened), in source order.
    options: tuple[TaskOutput, ...]


Binding: TypeAlias = ParamRef | Literal | TaskOutput | LoopItem | Gathered | OneOf


# --------------------------------------------------------------------------- conditions

CompareOp: TypeAlias = L["==", "!=", "<", "<=", ">", ">=", "in", "not in"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Truthy:
    """True when the value is truthy (Python's `if x:`)."""

    #: The value tested.
    value: Binding


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    """A comparison of two values."""

    #: Left operand.
    left: Binding
    #: Operator.
    op: CompareOp
    #: Right operand.
    right: Binding


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    """Negation."""

    #: The negated condition.
    operand: Condition


@dataclass(frozen=True, slots=True, kw_only=True)
class All:
    """Conjunction (`and`; also nesting of `if` blocks)."""

    #: Conditions that must all hold, at least two.
    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Any:
    """Disjunction (`or`)."""

    #: Conditions of which one must hold, at least two.
    operands: tuple[Condition, ...]


Condition: TypeAlias = Truthy | Compare | Not | All | Any


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeInfo:
    """A type as the user wrote it and as the compiler normalised it."""

    #: Annotation source text ("pd.DataFrame"), "" when absent.
    annotation: str
    #: Normalised type: "int", "float", "str", "bool", "null", "list[str]", "dict[str, int]",
    #: "int | null", "any", or a qualified name for other classes ("pandas.DataFrame").
    type: str
    #: How values of this type travel between tasks.
    kind: OutputKind


@dataclass(frozen=True, slots=True, kw_only=True)
class StepInput:
    """One parameter of a step function."""

    #: Parameter name.
    name: str
    #: Declared type.
    type: TypeInfo
    #: Whether a default exists.
    has_default: bool
    #: The default, when it is a JSON literal.
    default: JSONValue = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOutput:
    """One output of a step function."""

    #: Output name ("output" for a plain return annotation).
    name: str
    #: Declared type.
    type: TypeInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Retry settings of a step."""

    #: Retries after the first attempt.
    max: int
    #: "fixed", "linear" or "exponential".
    backoff: L["fixed", "linear", "exponential"]
    #: First wait in seconds.
    delay_seconds: int
    #: Growth factor for exponential backoff.
    factor: float
    #: Cap on one wait in seconds, if any.
    max_delay_seconds: int | None
    #: Which failures are retried.
    on: L["always", "on-failure", "on-error", "on-transient-error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceSpec:
    """Compute requests of a step."""

    #: CPU as a Kubernetes quantity string ("2", "500m").
    cpu: str | None = None
    #: Memory as a Kubernetes quantity string.
    memory: str | None = None
    #: GPU count.
    gpu: int = 0
    #: Extended resource name for GPUs.
    gpu_vendor: str = "nvidia.com/gpu"
    #: Ephemeral storage quantity.
    disk: str | None = None
    #: Node selector labels, sorted by key.
    node_selector: tuple[tuple[str, str], ...] = ()
    #: Tolerations, each a sorted tuple of key/value pairs.
    tolerations: tuple[tuple[tuple[str, str], ...], ...] = ()
    #: CPU limit quantity; None leaves the engine's default (KFP and Airflow: the request).
    cpu_limit: str | None = None
    #: Memory limit quantity; None leaves the engine's default (KFP and Airflow: the request).
    memory_limit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeSpec:
    """A volume mounted into a step's pod (`Volume.empty_dir` / `Volume.pvc`)."""

    #: "empty_dir" (scratch space for the pod's life) or "pvc" (an existing claim).
    kind: L["empty_dir", "pvc"]
    #: Absolute mount path in the container.
    mount_path: str
    #: emptyDir medium: "" (node disk) or "Memory" (tmpfs).
    medium: str = ""
    #: emptyDir size limit quantity, if any.
    size_limit: str | None = None
    #: PersistentVolumeClaim name (kind "pvc").
    claim: str | None = None
    #: Mounted read-only.
    read_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretKeyEnv:
    """One key of a secret exposed as one environment variable (`SecretEnv`); never its value."""

    #: Secret name.
    secret: str
    #: Key inside the secret.
    key: str
    #: Environment variable name.
    env: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StepConfig:
    """Execution settings from the `@step(...)` decorator."""

    #: Retry policy, or None for no retries.
    retry: RetryPolicy | None = None
    #: Timeout in seconds.
    timeout_seconds: int | None = None
    #: Compute requests.
    resources: ResourceSpec | None = None
    #: Container image; None means the pipeline's or the stack's default.
    image: str | None = None
    #: Environment variables, sorted by name.
    env: tuple[tuple[str, str], ...] = ()
    #: Names of secrets whose keys become environment variables (never their values).
    secrets: tuple[str, ...] = ()
    #: Whether results may be reused from an earlier identical execution.
    cache: bool = True
    #: Single secret keys as environment variables, in declaration order.
    secret_env: tuple[SecretKeyEnv, ...] = ()
    #: Volumes mounted into the step's pod, in declaration order.
    volumes: tuple[VolumeSpec, ...] = ()
    #: pip requirement specs the code package's bootstrap installs before the step runs
    #: (`packages=[...]`, like KFP's packages_to_install), in declaration order. Written to
    #: IR JSON only when set (`OMIT_EMPTY`), so IR without it keeps its bytes.
    packages: tuple[str, ...] = field(default=(), metadata={OMIT_EMPTY: True})

    def secret_refs(self) -> tuple[str, ...]:
        """Every secret the step reads, whole ("name") or by key ("name:key=ENV"): cache identity."""
        return self.secrets + tuple(f"{k.secret}:{k.key}={k.env}" for k in self.secret_env)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerSpec:
    """The command a `container_step` runs instead of a Python function."""

    #: Container image.
    image: str
    #: argv template: `{input}` is an input's value, `{outputs.name}` the path of the file
    #: the command writes output `name` to, `{{`/`}}` literal braces (substring substitution).
    command: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepDef:
    """A `@step` function, found statically."""

    #: Reference used by the runtime: "module.path:function".
    ref: str
    #: Display name (the decorator's `name=` or the function name).
    name: str
    #: Inputs in signature order.
    inputs: tuple[StepInput, ...]
    #: Outputs in declaration order.
    outputs: tuple[StepOutput, ...]
    #: Execution settings.
    config: StepConfig
    #: sha256 of the normalised function and the local code it reaches.
    code_hash: str
    #: First docstring line, "" when none.
    doc: str
    #: The function definition (the `container_step(...)` call for a container step).
    span: Span
    #: For a `container_step`: the image and command it runs; None for a Python step.
    container: ContainerSpec | None = None


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True, slots=True, kw_only=True)
class InputBinding:
    """Where one step input of a task gets its value."""

    #: Step input name.
    name: str
    #: The value source.
    binding: Binding
    #: "parameter" or "artifact": how the value travels.
    kind: OutputKind
    #: The argument expression.
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One call of a step in the pipeline body."""

    #: Unique, stable id: the step name, `_2`, `_3`... for repeated calls, dotted for sub-pipelines.
    id: str
    #: `StepDef.ref` of the step called.
    step: str
    #: Bound inputs, in the step's signature order; inputs left to their default are absent.
    inputs: tuple[InputBinding, ...]
    #: Task ids this task must wait for without taking data from (`after=`).
    after: tuple[str, ...] = ()
    #: Run only when this holds; None for always.
    condition: Condition | None = None
    #: Innermost enclosing loop id, None outside loops.
    loop: str | None = None
    #: Sub-pipeline call ids enclosing this task, outermost first.
    scope: tuple[str, ...] = ()
    #: "exit" / "failure" for pipeline hooks, None for ordinary tasks.
    hook: L["exit", "failure"] | None = None
    #: When it runs, given its upstreams: "succeeded" (every one succeeded), "done" (every one
    #: finished, whatever its status) or "failed" (at least one failed) — `run=` on the call.
    run: RunMode = "succeeded"
    #: The call expression.
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Loop:
    """A fan-out: a `for` loop or list comprehension in the pipeline body."""

    #: Unique, stable id ("loop_1"...; dotted inside sub-pipelines).
    id: str
    #: The loop variable name as written.
    var: str
    #: The list iterated: a Literal list, a ParamRef, a TaskOutput (dynamic) or a LoopItem.
    items: Binding
    #: Enclosing loop id, None for a top-level loop.
    parent: str | None = None
    #: Sub-pipeline call ids enclosing this loop, outermost first.
    scope: tuple[str, ...] = ()
    #: At most this many iterations run at once (`parallel(xs, limit=4)`); None for no bound.
    parallelism: int | None = None
    #: The `for` statement or comprehension.
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class SubPipeline:
    """A call of another `@pipeline`, inlined; kept for drawing and nested backends."""

    #: Call id; task ids inside start with it and a dot.
    id: str
    #: Name of the pipeline called.
    pipeline: str
    #: Enclosing sub-pipeline call ids.
    scope: tuple[str, ...] = ()
    #: The call expression.
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """A dependency between two tasks, derived from bindings, conditions, loops and `after=`."""

    #: Upstream task id.
    source: str
    #: Downstream task id.
    target: str
    #: "data" (an output feeds an input), "order" (`after=`), "condition", or "loop" (loop items).
    kind: L["data", "order", "condition", "loop"]
    #: Data names along the edge: "output->input" pairs, sorted; empty for order edges.
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineOutput:
    """A value the top-level pipeline returns (`return model, score`): a run's declared result."""

    #: Output name: the returned variable's name, or `output` / `output_<i>` for other expressions.
    name: str
    #: Where the value comes from: a task output outside any loop, or a merged branch value.
    binding: Binding
    #: Type and kind of the value.
    type: TypeInfo
    #: The returned expression.
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """A pipeline parameter."""

    #: Name.
    name: str
    #: Declared type (always a parameter kind).
    type: TypeInfo
    #: Whether a default exists; parameters without one are required at submit time.
    has_default: bool
    #: The default value.
    default: JSONValue = None
    #: Where it is declared.
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleSpec:
    """When the pipeline runs by itself."""

    #: Five-field cron.
    cron: str
    #: IANA time zone, or None for the engine's default.
    timezone: str | None = None
    #: "Allow", "Forbid" or "Replace".
    concurrency_policy: L["Allow", "Forbid", "Replace"] = "Allow"
    #: Grace period for missed starts.
    starting_deadline_seconds: int | None = None
    #: Run missed intervals.
    catchup: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """The model the pipeline versions on every successful run."""

    #: Registry name.
    name: str
    #: Free text.
    description: str | None = None
    #: Labels.
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    """A compiled pipeline: the root of the IR."""

    #: IR format version.
    version: str = IR_VERSION
    #: Pipeline name (decorator `name=` or function name).
    name: str
    #: First docstring line, "" when none.
    doc: str = ""
    #: Parameters in signature order.
    params: tuple[Param, ...] = ()
    #: Step definitions used, sorted by ref.
    steps: tuple[StepDef, ...] = ()
    #: Tasks in lexicographic topological order (hooks last).
    tasks: tuple[Task, ...] = ()
    #: Loops, in source order.
    loops: tuple[Loop, ...] = ()
    #: Inlined sub-pipeline calls, in source order.
    subpipelines: tuple[SubPipeline, ...] = ()
    #: Dependencies, sorted by (source, target, kind).
    edges: tuple[Edge, ...] = ()
    #: Schedule, if any.
    schedule: ScheduleSpec | None = None
    #: Model registered by successful runs, if any.
    model: ModelSpec | None = None
    #: Default image for steps without one.
    image: str | None = None
    #: What the pipeline returns, in order (`return a, b`); empty when it returns nothing.
    outputs: tuple[PipelineOutput, ...] = ()
    #: Project-relative path of the pipeline file.
    source: str
    #: The pipeline function definition.
    span: Span
    #: Index of steps by ref (derived, not serialised).
    _step_index: dict[str, StepDef] = field(default_factory=dict, compare=False, repr=False)
    _task_index: dict[str, Task] = field(default_factory=dict, compare=False, repr=False)
    _loop_index: dict[str, Loop] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._step_index.update({s.ref: s for s in self.steps})
        self._task_index.update({t.id: t for t in self.tasks})
        self._loop_index.update({lp.id: lp for lp in self.loops})

    def step(self, ref: str) -> StepDef:
        """The step definition a task refers to."""
        return self._step_index[ref]

    def task(self, task_id: str) -> Task:
        """A task by id."""
        return self._task_index[task_id]

    def loop(self, loop_id: str) -> Loop:
        """A loop by id."""
        return self._loop_index[loop_id]

    def loop_chain(self, loop_id: str | None) -> tuple[Loop, ...]:
        """The loops enclosing (and including) `loop_id`, outermost first."""
        chain: list[Loop] = []
        while loop_id is not None:
            lp = self._loop_index[loop_id]
            chain.append(lp)
            loop_id = lp.parent
        return tuple(reversed(chain))

    @property
    def main_tasks(self) -> tuple[Task, ...]:
        """Tasks of the DAG itself, without exit/failure hooks."""
        return tuple(t for t in self.tasks if t.hook is None)

    @property
    def hooks(self) -> tuple[Task, ...]:
        """Exit and failure hook tasks."""
        return tuple(t for t in self.tasks if t.hook is not None)


def binding_tasks(binding: Binding) -> tuple[str, ...]:
    """Task ids a binding reads from."""
    match binding:
        case TaskOutput(task=t) | Gathered(task=t):
            return (t,)
        case OneOf(options=opts):
            return tuple(o.task for o in opts)
        case ParamRef() | Literal() | LoopItem():
            return ()
    raise AssertionError(binding)  # pragma: no cover


def condition_bindings(cond: Condition) -> tuple[Binding, ...]:
    """All values a condition reads, left to right."""
    match cond:
        case Truthy(value=v):
            return (v,)
        case Compare(left=a, right=b):
            return (a, b)
        case Not(operand=c):
            return condition_bindings(c)
        case All(operands=cs) | Any(operands=cs):
            return tuple(b for c in cs for b in condition_bindings(c))
    raise AssertionError(cond)  # pragma: no cover
