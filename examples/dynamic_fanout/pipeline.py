"""Fan-out over a list known only at run time (a step output), then fan-in."""

from portaflow import pipeline, step


@step
def partition(n_parts: int = 3) -> list[str]:
    """Names of the partitions to process, decided at run time."""
    return [f"part-{i}" for i in range(n_parts)]


@step
def process(part: str) -> int:
    """Process one partition; return how many rows it had."""
    return len(part) * 10


@step
def publish(counts: list[int]) -> int:
    """Publish the total once every partition is done."""
    total = sum(counts)
    print(f"published {total} rows")
    return total


@pipeline
def dynamic_fanout(n_parts: int = 3):
    """partition -> process each part in parallel -> publish."""
    parts = partition(n_parts)
    counts = [process(p) for p in parts]
    publish(counts)
