"""Nested ParallelFor loops collected into one list (KFP docs, "Parallel looping")."""

from typing import List

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def fit(model: str, lr: float) -> float:
    return round(len(model) * lr, 6)


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def pick_best(scores: List[float]) -> float:
    return max(scores)


@dsl.pipeline(name="grid-search")
def grid_pipeline(models: List[str] = ["linear", "forest"]):
    with dsl.ParallelFor(models) as model:
        with dsl.ParallelFor([0.01, 0.1]) as lr:  # learning rates
            scores = fit(model=model, lr=lr)
    pick_best(scores=dsl.Collected(scores.output))
