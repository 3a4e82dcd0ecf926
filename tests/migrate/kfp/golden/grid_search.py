"""Nested ParallelFor loops collected into one list (KFP docs, "Parallel looping")."""

from typing import List

from portaflow import pipeline, step


@step(image="python:3.11")
def fit(model: str, lr: float) -> float:
    return round(len(model) * lr, 6)


@step(image="python:3.11")
def pick_best(scores: List[float]) -> float:
    return max(scores)


@pipeline(name="grid-search")
def grid_pipeline(models: List[str] = ["linear", "forest"]):
    # learning rates
    scores = [fit(model=model, lr=lr) for model in models for lr in [0.01, 0.1]]
    pick_best(scores=scores)
