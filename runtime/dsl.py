"""The user-facing pipeline language: `@step`, `@pipeline` and their config types.

Everything here is standard library only, because it is imported inside every
task container. The compiler never imports user code; it reads these
decorators statically. At run time the decorators are thin: a step called
outside a pipeline runs the plain function, so steps stay unit-testable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, ParamSpec, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")

Backoff = Literal["fixed", "linear", "exponential"]
ConcurrencyPolicy = Literal["Allow", "Forbid", "Replace"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How often and how patiently a failed step is retried."""

    #: Retries after the first attempt (0 = no retry).
    max: int = 3
    #: How the wait grows between attempts.
    backoff: Backoff = "exponential"
    #: First wait, as seconds or a duration string ("10s", "2m").
    delay: int | str = "10s"
    #: Growth factor for exponential backoff.
    factor: float = 2.0
    #: Upper bound on a single wait, as seconds or a duration string.
    max_delay: int | str | None = None
    #: Which failures are retried: "always", "on-failure" or "on-error" (Argo's retryPolicy).
    on: Literal["always", "on-failure", "on-error", "on-transient-error"] = "always"


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """Compute a step asks for; backends map it onto requests/limits."""

    #: CPU cores, as a number or Kubernetes quantity ("500m").
    cpu: float | int | str | None = None
    #: Memory as a Kubernetes quantity ("4Gi").
    memory: str | None = None
    #: Number of GPUs.
    gpu: int = 0
    #: The extended resource name GPUs are requested under.
    gpu_vendor: str = "nvidia.com/gpu"
    #: Ephemeral disk as a Kubernetes quantity.
    disk: str | None = None
    #: Kubernetes node selector labels.
    node_selector: Mapping[str, str] = field(default_factory=dict)
    #: CPU limit (a number or quantity); None: the request, where the engine sets one.
    cpu_limit: float | int | str | None = None
    #: Memory limit as a Kubernetes quantity; None: the request, where the engine sets one.
    memory_limit: str | None = None
    #: Tolerations, each a mapping with Kubernetes toleration keys.
    tolerations: Sequence[Mapping[str, str]] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Volume:
    """A volume mounted into a step's pod; build one with `Volume.empty_dir` or `Volume.pvc`.

    Locally each volume is a temporary folder: `portaflow.volume_path(mount_path)`
    gives the folder to use, on every target.
    """

    #: "empty_dir" (scratch space that lives as long as the pod) or "pvc" (a claim).
    kind: Literal["empty_dir", "pvc"]
    #: Absolute path the volume is mounted at in the container.
    mount_path: str
    #: emptyDir medium: "" (the node's disk) or "Memory" (tmpfs, e.g. for /dev/shm).
    medium: str = ""
    #: emptyDir size limit as a Kubernetes quantity.
    size_limit: str | None = None
    #: PersistentVolumeClaim name.
    claim: str | None = None
    #: Mount read-only.
    read_only: bool = False

    @staticmethod
    def empty_dir(mount_path: str, *, medium: str = "", size_limit: str | None = None) -> Volume:
        """Scratch space for one pod; medium="Memory" is a tmpfs (shared memory for /dev/shm)."""
        return Volume(kind="empty_dir", mount_path=mount_path, medium=medium, size_limit=size_limit)

    @staticmethod
    def pvc(mount_path: str, *, claim: str, read_only: bool = False) -> Volume:
        """An existing PersistentVolumeClaim named `claim`, mounted at `mount_path`."""
        return Volume(kind="pvc", mount_path=mount_path, claim=claim, read_only=read_only)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretEnv:
    """One key of a Kubernetes secret as one environment variable; the value never enters a manifest."""

    #: Secret name.
    secret: str
    #: Key inside the secret.
    key: str
    #: Environment variable the step reads.
    env: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """When a pipeline runs by itself (CronWorkflow, Airflow schedule, KFP recurring run)."""

    #: Five-field cron expression.
    cron: str
    #: IANA time zone the cron is read in.
    timezone: str | None = None
    #: What to do when the previous run is still going.
    concurrency_policy: ConcurrencyPolicy = "Allow"
    #: Seconds after a missed start time within which the run still starts.
    starting_deadline_seconds: int | None = None
    #: Run the missed intervals between start and now (Airflow's catchup).
    catchup: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    """A model the pipeline produces: each successful run registers a new version."""

    #: Model name in the model registry.
    name: str
    #: Free text.
    description: str | None = None
    #: Labels attached to every version.
    tags: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOptions:
    """What `@step(...)` was given; read statically by the compiler too."""

    name: str | None = None
    retries: Retry | int | None = None
    timeout: int | str | None = None
    resources: Resources | None = None
    image: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: Sequence[str | SecretEnv] = ()
    cache: bool = True
    volumes: Sequence[Volume] = ()
    packages: Sequence[str] = ()


class Step(Generic[P, R]):
    """A decorated step: calling it outside a pipeline runs the plain function."""

    __slots__ = ("__dict__", "func", "options")

    def __init__(self, func: Callable[P, R], options: StepOptions) -> None:
        self.func = func
        self.options = options
        functools.update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<portaflow step {self.func.__module__}:{self.func.__qualname__}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineOptions:
    """What `@pipeline(...)` was given."""

    name: str | None = None
    schedule: Schedule | None = None
    model: Model | None = None
    image: str | None = None
    on_failure: Callable[..., Any] | None = None
    on_exit: Callable[..., Any] | None = None


class Pipeline(Generic[P, R]):
    """A decorated pipeline. Its body is compiled by `portaflow compile`, never executed."""

    __slots__ = ("__dict__", "func", "options")

    def __init__(self, func: Callable[P, R], options: PipelineOptions) -> None:
        self.func = func
        self.options = options
        functools.update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        raise RuntimeError(
            f"pipeline {self.func.__name__!r} is compiled, not called: "
            "run it with `portaflow run FILE` or compile it with `portaflow compile FILE`"
        )


@overload
def step(func: Callable[P, R], /) -> Step[P, R]: ...
@overload
def step(
    *,
    name: str | None = None,
    retries: Retry | int | None = None,
    timeout: int | str | None = None,
    resources: Resources | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str | SecretEnv] = (),
    cache: bool = True,
    volumes: Sequence[Volume] = (),
    packages: Sequence[str] = (),
) -> Callable[[Callable[P, R]], Step[P, R]]: ...
def step(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: Retry | int | None = None,
    timeout: int | str | None = None,
    resources: Resources | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str | SecretEnv] = (),
    cache: bool = True,
    volumes: Sequence[Volume] = (),
    packages: Sequence[str] = (),
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Mark a function as a pipeline step; usable bare (`@step`) or with options."""
    options = StepOptions(
        name=name,
        retries=retries,
        timeout=timeout,
        resources=resources,
        image=image,
        env=dict(env or {}),
        secrets=tuple(secrets),
        cache=cache,
        volumes=tuple(volumes),
        packages=tuple(packages),
    )
    if func is not None:
        return Step(func, options)

    def wrap(f: Callable[P, R]) -> Step[P, R]:
        return Step(f, options)

    return wrap


@overload
def pipeline(func: Callable[P, R], /) -> Pipeline[P, R]: ...
@overload
def pipeline(
    *,
    name: str | None = None,
    schedule: Schedule | None = None,
    model: Model | None = None,
    image: str | None = None,
    on_failure: Callable[..., Any] | None = None,
    on_exit: Callable[..., Any] | None = None,
) -> Callable[[Callable[P, R]], Pipeline[P, R]]: ...
def pipeline(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    schedule: Schedule | None = None,
    model: Model | None = None,
    image: str | None = None,
    on_failure: Callable[..., Any] | None = None,
    on_exit: Callable[..., Any] | None = None,
) -> Pipeline[P, R] | Callable[[Callable[P, R]], Pipeline[P, R]]:
    """Mark a function as a pipeline; its body is compiled statically."""
    options = PipelineOptions(
        name=name,
        schedule=schedule,
        model=model,
        image=image,
        on_failure=on_failure,
        on_exit=on_exit,
    )
    if func is not None:
        return Pipeline(func, options)

    def wrap(f: Callable[P, R]) -> Pipeline[P, R]:
        return Pipeline(f, options)

    return wrap


T = TypeVar("T")


def parallel(items: Iterable[T], /, *, limit: int) -> Iterable[T]:
    """Fan out over `items` with at most `limit` iterations running at once.

    Written as `for x in parallel(xs, limit=4):` (or in a comprehension) in a
    `@pipeline` body, where the compiler reads it; called as plain Python it
    returns `items` unchanged.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"parallel(limit=...) must be an int >= 1, not {limit!r}")
    return items
