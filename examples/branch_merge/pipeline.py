"""A name assigned in every arm of an if/elif/else is the value of the arm that ran."""

from portaflow import pipeline, step


@step
def measure(seed: int) -> float:
    return seed / 10


@step
def careful(x: float) -> str:
    return f"careful {x}"


@step
def middle(x: float) -> str:
    return f"middle {x}"


@step
def quick(x: float) -> str:
    return f"quick {x}"


@step
def publish(summary: str) -> str:
    return summary.upper()


@pipeline
def branch_merge(seed: int = 3):
    """Which arm runs depends on the measurement; `publish` reads whichever ran."""
    x = measure(seed)
    if x > 0.5:
        summary = careful(x)
    elif x > 0.2:
        summary = middle(x)
    else:
        summary = quick(x)
    final = publish(summary)
    return final, summary
