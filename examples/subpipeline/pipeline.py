"""A pipeline calling another pipeline: the callee is inlined as a sub-DAG (a group),
ordered with after=, with an exit hook scoped to each call of the group."""

from portaflow import RunStatus, pipeline, step


@step
def load(source: str) -> list[int]:
    return [len(source), 2, 3]


@step
def clean(rows: list[int]) -> list[int]:
    return [r for r in rows if r > 0]


@step
def merge(a: list[int], b: list[int]) -> int:
    return sum(a) + sum(b)


@step
def etl_done(source: str, status: RunStatus) -> str:
    """The ETL group's exit hook: runs when one call of it ends, whatever happened inside."""
    return f"{source}: {status.status}"


@pipeline(on_exit=etl_done)
def etl(source: str):
    """Load and clean one source; return the clean rows."""
    rows = load(source)
    return clean(rows)


@pipeline
def subpipeline(left: str = "s3://bucket/left.csv", right: str = "s3://bucket/right.csv"):
    """Run the ETL sub-pipeline for two sources, the second after the first, and merge."""
    a = etl(left)
    b = etl(source=right, after=[a])
    merge(a, b)
