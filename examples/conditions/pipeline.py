"""if / elif / else on step outputs and parameters."""

from portaflow import pipeline, step


@step
def measure(seed: int = 0) -> float:
    """A score in [0, 1)."""
    import random

    return random.Random(seed).random()


@step
def is_weekend(day: str) -> bool:
    """Whether the day is Saturday or Sunday."""
    return day.lower() in ("saturday", "sunday")


@step
def celebrate(score: float) -> str:
    return f"great score {score:.2f}"


@step
def investigate(score: float) -> str:
    return f"look into {score:.2f}"


@step
def shrug() -> str:
    return "fine"


@step
def rest() -> None:
    print("resting")


@pipeline
def conditions(seed: int = 3, threshold: float = 0.8, day: str = "monday", mode: str = "full"):
    """Branch on a score, a parameter, a boolean step output and a combination."""
    score = measure(seed)
    if score >= threshold:
        celebrate(score)
    elif score < 0.2 or mode == "strict":
        investigate(score)
    else:
        shrug()
    weekend = is_weekend(day)
    if weekend and mode not in ["strict", "audit"]:
        rest()
    if not weekend:
        shrug()
