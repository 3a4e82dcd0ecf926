"""Fan-out over a literal list, a list parameter and range(); fan-in of the results."""

from portaflow import pipeline, step


@step
def train_region(region: str, epochs: int = 1) -> float:
    """Pretend to train a model for one region; return its score."""
    return float(len(region) * epochs)


@step
def best(scores: list[float]) -> float:
    """The best of the regional scores."""
    return max(scores)


@step
def shard(index: int) -> int:
    return index * index


@step
def report(best_score: float, shard_sum: list[int]) -> str:
    return f"best={best_score} shards={sum(shard_sum)}"


@pipeline
def static_fanout(regions: list[str] = ["eu", "us", "apac"], epochs: int = 2):
    """Each region trains in parallel; the best score is picked."""
    scores = [train_region(r, epochs=epochs) for r in regions]
    top = best(scores)
    for model in ["small", "large"]:
        train_region(model)
    shards = [shard(i) for i in range(4)]
    report(top, shards)
