"""Hand-written `kfp.dsl` equivalents of portaflow pipelines, compiled by kfp's own compiler.

No `from __future__ import annotations` here: kfp reads the annotations as objects.

Each function mirrors one example (or one construct), written the way a KFP user would
write it; test_parity.py compares the DAG shape kfp's compiler gives it with ours.
"""

from typing import List  # noqa: UP035 - kfp's component signatures read typing.List

from kfp import dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def make_numbers(count: int) -> List[int]:  # noqa: UP006
    return list(range(1, count + 1))


@dsl.component(base_image=IMAGE)
def square(x: int) -> int:
    return x * x


@dsl.component(base_image=IMAGE)
def total(values: List[int]) -> int:  # noqa: UP006
    return sum(values)


@dsl.component(base_image=IMAGE)
def report(result: int, label: str) -> str:
    return f"{label}: {result}"


@dsl.pipeline(name="quickstart")
def quickstart(count: int = 5, label: str = "sum of squares") -> None:
    numbers = make_numbers(count=count)
    with dsl.ParallelFor(numbers.output) as x:
        sq = square(x=x)
    result = total(values=dsl.Collected(sq.output))
    report(result=result.output, label=label)


@dsl.component(base_image=IMAGE)
def partition(n_parts: int) -> List[str]:  # noqa: UP006
    return [f"part-{i}" for i in range(n_parts)]


@dsl.component(base_image=IMAGE)
def process(part: str) -> int:
    return len(part)


@dsl.component(base_image=IMAGE)
def publish(counts: List[int]) -> int:  # noqa: UP006
    return sum(counts)


@dsl.pipeline(name="dynamic-fanout")
def dynamic_fanout(n_parts: int = 3) -> None:
    parts = partition(n_parts=n_parts)
    with dsl.ParallelFor(parts.output) as p:
        counts = process(part=p)
    publish(counts=dsl.Collected(counts.output))


@dsl.component(base_image=IMAGE)
def train_region(region: str, epochs: int = 1) -> float:
    return float(len(region) * epochs)


@dsl.component(base_image=IMAGE)
def best(scores: List[float]) -> float:  # noqa: UP006
    return max(scores)


@dsl.component(base_image=IMAGE)
def shard(index: int) -> int:
    return index * index


@dsl.component(base_image=IMAGE)
def report_fanout(best_score: float, shard_sum: List[int]) -> str:  # noqa: UP006
    return f"{best_score} {sum(shard_sum)}"


@dsl.pipeline(name="static-fanout")
def static_fanout(regions: List[str] = ["eu", "us", "apac"], epochs: int = 2) -> None:  # noqa: B006, UP006
    with dsl.ParallelFor(regions) as r:
        scores = train_region(region=r, epochs=epochs)
    top = best(scores=dsl.Collected(scores.output))
    with dsl.ParallelFor(["small", "large"]) as model:
        train_region(region=model)
    with dsl.ParallelFor([0, 1, 2, 3]) as i:
        shards = shard(index=i)
    report_fanout(best_score=top.output, shard_sum=dsl.Collected(shards.output))


@dsl.component(base_image=IMAGE)
def load(source: str) -> List[int]:  # noqa: UP006
    return [len(source)]


@dsl.component(base_image=IMAGE)
def clean(rows: List[int]) -> List[int]:  # noqa: UP006
    return rows


@dsl.component(base_image=IMAGE)
def merge(a: List[int], b: List[int]) -> int:  # noqa: UP006
    return sum(a) + sum(b)


@dsl.pipeline(name="etl")
def etl(source: str) -> List[int]:  # noqa: UP006
    rows = load(source=source)
    return clean(rows=rows.output).output


@dsl.component(base_image=IMAGE)
def etl_done(source: str, status: dsl.PipelineTaskFinalStatus) -> str:
    return source + status.state


@dsl.pipeline(name="subpipeline")
def subpipeline(left: str = "l", right: str = "r") -> None:
    # A sub-pipeline's on_exit hook: a task after the group's DAG that runs whatever the
    # group did and reads its final status (the shape of a dsl.ExitHandler's exit task).
    a = etl(source=left)
    etl_done(source=left).after(a).ignore_upstream_failure()
    b = etl(source=right).after(a)
    etl_done(source=right).after(b).ignore_upstream_failure()
    merge(a=a.output, b=b.output)


@dsl.component(base_image=IMAGE)
def fit(model: str, lr: float) -> float:
    return len(model) * lr


@dsl.component(base_image=IMAGE)
def summarize(scores: List[float]) -> float:  # noqa: UP006
    return max(scores)


@dsl.component(base_image=IMAGE)
def log_point(config: dict, lr: float) -> str:
    return f"{config['name']}@{lr}"


@dsl.pipeline(name="nested-loops")
def nested_loops(
    models: List[str] = ["linear", "forest"],  # noqa: B006, UP006
    configs: List[dict] = [{"name": "a", "rates": [0.1, 0.2]}],  # noqa: B006, UP006
) -> None:
    with dsl.ParallelFor(models) as m:
        with dsl.ParallelFor([0.01, 0.1]) as lr:
            scores = fit(model=m, lr=lr)
    summarize(scores=dsl.Collected(scores.output))
    with dsl.ParallelFor(configs) as config:
        with dsl.ParallelFor(config.rates) as rate:
            log_point(config=config, lr=rate)


@dsl.component(base_image=IMAGE)
def measure(seed: int) -> float:
    return seed / 10


@dsl.component(base_image=IMAGE)
def celebrate(score: float) -> str:
    return str(score)


@dsl.pipeline(name="single-if")
def single_if(seed: int = 3, threshold: float = 0.8) -> None:
    score = measure(seed=seed)
    with dsl.If(score.output >= threshold):
        celebrate(score=score.output)


@dsl.component(base_image=IMAGE)
def create_table(name: str) -> None:
    print(name)


@dsl.component(base_image=IMAGE)
def load_rows(name: str) -> int:
    return 42


@dsl.component(base_image=IMAGE)
def vacuum(name: str) -> None:
    print(name)


@dsl.component(base_image=IMAGE)
def cleanup() -> None:
    print("cleanup")


@dsl.pipeline(name="exit-and-after")
def exit_and_after(table: str = "events") -> None:
    with dsl.ExitHandler(exit_task=cleanup()):
        created = create_table(name=table)
        rows = load_rows(name=table).after(created)
        vacuum(name=table).after(rows)


@dsl.component(base_image=IMAGE)
def investigate(score: float) -> str:
    return str(score)


@dsl.component(base_image=IMAGE)
def shrug() -> str:
    return "fine"


@dsl.component(base_image=IMAGE)
def is_weekend(day: str) -> bool:
    return day in ("saturday", "sunday")


@dsl.component(base_image=IMAGE)
def rest() -> None:
    print("resting")


@dsl.pipeline(name="conditions")
def conditions(
    seed: int = 3, threshold: float = 0.8, day: str = "monday", mode: str = "full"
) -> None:
    # kfp's dsl.If takes one comparison: `or` / `not in` are written as the nearest
    # single comparison (the shape, not the predicate, is what is compared).
    score = measure(seed=seed)
    with dsl.If(score.output >= threshold):
        celebrate(score=score.output)
    with dsl.Elif(score.output < 0.2):
        investigate(score=score.output)
    with dsl.Else():
        shrug()
    weekend = is_weekend(day=day)
    with dsl.If(weekend.output == True):  # noqa: E712 - a kfp condition, not a Python test
        with dsl.If(mode != "strict"):
            rest()
    with dsl.Else():
        shrug()


@dsl.component(base_image=IMAGE)
def summary(name: str) -> str:
    return name


@dsl.component(base_image=IMAGE)
def on_load_failure(name: str, status: dsl.PipelineTaskFinalStatus) -> str:
    return name + status.state


@dsl.pipeline(name="run-status")
def run_status(table: str = "events") -> None:
    rows = load_rows(name=table)
    summary(name=table).after(rows).ignore_upstream_failure()
    on_load_failure(name=table).after(rows).ignore_upstream_failure()


@dsl.pipeline(name="loop-in-branch")
def loop_in_branch(seed: int = 3, items: List[int] = [1, 2]) -> None:  # noqa: B006, UP006
    score = measure(seed=seed)
    with dsl.If(score.output >= 0.5):
        with dsl.ParallelFor(items) as item:
            first = shard(index=item)
        celebrate(score=score.output).after(first)


@dsl.component(base_image=IMAGE)
def pick_a() -> int:
    return 1


@dsl.component(base_image=IMAGE)
def pick_b() -> int:
    return 2


@dsl.component(base_image=IMAGE)
def use_pick(value: int) -> int:
    return value


@dsl.pipeline(name="merge-in-branch")
def merge_in_branch(seed: int = 3, flag: int = 0) -> None:
    with dsl.If(seed != 0):
        score = measure(seed=seed)
        with dsl.If(flag == 1):
            a = pick_a().after(score)
        with dsl.Else():
            b = pick_b().after(score)
        use_pick(value=dsl.OneOf(a.output, b.output)).after(score)


def importer_pipeline(uri, **kwargs):  # type: ignore[no-untyped-def]
    """`dsl.importer` of `uri` (of the pipeline parameter `notes_uri` when None), read by a task."""

    @dsl.component(base_image="python:3.12")
    def consume(a: dsl.Input[dsl.Artifact]) -> str:
        return a.path

    @dsl.pipeline(name="p")
    def p(notes_uri: str = "data/notes.txt"):  # type: ignore[no-untyped-def]
        imported = dsl.importer(
            artifact_uri=notes_uri if uri is None else uri, artifact_class=dsl.Artifact, **kwargs
        )
        consume(a=imported.output)

    return p
