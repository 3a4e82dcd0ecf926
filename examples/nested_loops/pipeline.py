"""Two levels of fan-out: a grid search over models and learning rates."""

from portaflow import pipeline, step


@step
def fit(model: str, lr: float, epochs: int = 1) -> float:
    """Score one grid point."""
    return round(len(model) * lr * epochs, 6)


@step
def summarize(scores: list[float]) -> float:
    return max(scores)


@step
def log_point(config: dict, lr: float) -> str:
    return f"{config['name']}@{lr}"


@pipeline
def nested_loops(
    models: list[str] = ["linear", "forest"],
    configs: list[dict] = [{"name": "a", "rates": [0.1, 0.2]}, {"name": "b", "rates": [0.3]}],
):
    """A comprehension over two lists, and nested for loops over a field of each item."""
    scores = [fit(m, lr) for m in models for lr in [0.01, 0.1]]
    summarize(scores)
    for config in configs:
        for lr in config["rates"]:
            log_point(config, lr)
