"""A pipeline used as a component of another (KFP docs, "Pipelines as components")."""

from portaflow import pipeline, step


@step(image="python:3.11")
def double(num: int) -> int:
    return 2 * num


@step(image="python:3.11")
def add(a: int, b: int) -> int:
    return a + b


@pipeline
def inner_pipeline(num: int) -> int:
    """Doubles twice."""
    first = double(num=num)
    return double(num=first)


@pipeline(name="pipeline-in-pipeline")
def outer_pipeline(x: int = 3, y: int = 5):
    left = inner_pipeline(num=x)
    right = inner_pipeline(num=y)
    add(a=left, b=right)
